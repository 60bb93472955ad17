"""What a durable store keeps, and the protocol a store implements: :class:`Store`.

A store holds *runs*, each under a ``run_id`` the user picks. A run row keeps the
graph's shape (step id to its dependencies), the serialised inputs, which serializer
wrote the values, the run's status and, while a process runs it, its *owner* — the
lease that keeps two processes from running one ``run_id`` at once. Beside it, one
:class:`StepRecord` per finished step: status, attempts, wall-clock times, the error's
text and every value the step emitted, in order, serialised.

The engine (:mod:`rxsteps.execution.durable`) is the store's only writer during a run:
it calls :meth:`Store.claim` once before anything runs, :meth:`Store.record_steps`
with the steps that ended since its last call (one transaction each), and
:meth:`Store.release` when the run is over. This module imports only the model, so
the engine and the CLI can both use it.

The lease's owner names a process as ``host:pid:start:token`` (:func:`new_owner`):
``start`` is when the process started (field 22 of ``/proc/<pid>/stat`` on Linux,
empty where that cannot be read), so a process that reuses a dead one's pid — a
container restarted after an OOM kill keeps its hostname and, often, pid 1 — is not
taken for it. :func:`owner_alive` is the one liveness check every store uses; it
reads owners written before the start time was kept (``host:pid:token``) by their pid
alone, and counts the owners of runs this process ended (:func:`forget_owner`) as dead.

Example:
    >>> record = StepRecord("a", "succeeded", [b"1"], attempts=1, started=0.0, ended=0.5)
    >>> record.duration
    0.5
"""

from __future__ import annotations

import functools
import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["RunRecord", "StepRecord", "Store", "forget_owner", "new_owner", "on_this_host",
           "owner_alive", "process_start"]

#: The schema version this rxsteps writes; a store written by a newer one is refused.
SCHEMA_VERSION = 1


_ended_owners: set[str] = set()  # leases of runs ended here that the store still shows held
_ended_lock = threading.Lock()


def process_start(pid: int) -> str:
    """When process ``pid`` started, as text to compare (clock ticks since boot, field
    22 of ``/proc/<pid>/stat``); ``""`` where that cannot be read (not Linux, no pid).

    Example:
        >>> process_start(os.getpid()) == process_start(os.getpid())
        True
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read()
    except OSError:
        return ""
    fields = text[text.rfind(b")") + 2:].split()  # after the command, which may hold spaces
    return fields[19].decode() if len(fields) > 19 else ""


def new_owner() -> str:
    """A lease owner naming this process and one run: ``host:pid:start:token``.

    Example:
        >>> owner_alive(new_owner())
        True
    """
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_own_start(pid)}:{uuid.uuid4().hex[:12]}"


@functools.lru_cache(maxsize=1)
def _own_start(pid: int) -> str:
    """This process's start time, read once (per pid: a forked child has its own), not
    from ``/proc`` at every durable run's start."""
    return process_start(pid)


def on_this_host(owner: str) -> bool:
    """Whether a lease's owner is a process of this machine."""
    return owner.partition(":")[0] == socket.gethostname()


def owner_alive(owner: str) -> bool:
    """Whether the process named by a lease may still be running its run.

    An owner of another host counts (it cannot be seen from here) until it releases.
    One of this host is dead when its pid is gone, when the process now under that
    pid started at another time than the owner's, or when this process ended the run
    (:func:`forget_owner`). An old owner (``host:pid:token``) is judged by its pid.

    Example:
        >>> owner_alive(f"{socket.gethostname()}:{os.getpid()}:x")  # old format
        True
        >>> owner_alive(f"{socket.gethostname()}:{os.getpid()}:0:x")  # another start
        False
    """
    if not on_this_host(owner):
        return True
    with _ended_lock:
        if owner in _ended_owners:
            return False
    parts = owner.split(":")
    if len(parts) < 3 or not parts[1].isdigit():
        return True  # not ours to judge
    pid = int(parts[1])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive, unless it started at another time
    started = parts[2] if len(parts) >= 4 else ""
    now = process_start(pid) if started else ""
    return not (started and now and started != now)


def forget_owner(owner: str) -> None:
    """Count ``owner``, a lease of this process, as dead from now on: its run is over,
    even if the store could not be told (a claim of the run takes it over)."""
    with _ended_lock:
        _ended_owners.add(owner)


@dataclass(slots=True)
class StepRecord:
    """One finished step of a stored run.

    Attributes:
        step: The step id.
        status: ``"succeeded"``, ``"failed"``, ``"skipped"`` or ``"cancelled"``.
        values: Every value it emitted, in order, serialised.
        attempts: How many attempts it took.
        started: Wall-clock time (``time.time()``) its first attempt began, or ``None``.
        ended: Wall-clock time it finished.
        error: ``repr`` of the error of a failed step, or the reason it was skipped.
    """

    step: str
    status: str
    values: list[bytes]
    attempts: int = 0
    started: float | None = None
    ended: float | None = None
    error: str | None = None

    @property
    def duration(self) -> float:
        """Seconds from its first start to its end (0 if it never started)."""
        if self.started is None or self.ended is None:
            return 0.0
        return self.ended - self.started


@dataclass(slots=True)
class RunRecord:
    """A stored run, as :meth:`Store.load` returns it.

    Attributes:
        run_id: The run's id.
        shape: Step id to its dependencies, as the graph had them.
        inputs: The run's inputs, serialised with ``serializer``.
        serializer: ``"pickle"`` or ``"json"``: how values and inputs were written.
        status: ``"running"``, ``"succeeded"``, ``"failed"`` or ``"cancelled"``.
        created: Wall-clock time the run was first started.
        updated: Wall-clock time of its last write.
        owner: Who runs it now (``host:pid:start:token``, :func:`new_owner`), or
            ``None``.
        steps: The finished steps, by id.
    """

    run_id: str
    shape: dict[str, list[str]]
    inputs: bytes
    serializer: str
    status: str
    created: float
    updated: float
    owner: str | None = None
    steps: dict[str, StepRecord] = field(default_factory=dict)


@runtime_checkable
class Store(Protocol):
    """What ``store=`` accepts besides a path: any object with these methods.

    Every method may be called from any thread; an implementation serialises its own
    writes. Errors are :class:`~rxsteps.StoreError`\\ s naming the store.
    """

    name: str
    """How messages name the store (a path, or a DSN without its password)."""

    def claim(self, run: RunRecord, *, fresh: bool) -> RunRecord | None:
        """Take the lease of ``run.run_id`` for ``run.owner``, in one transaction.

        Creates the run if it is new; with ``fresh`` first deletes what was stored.

        Args:
            run: The run as it starts now (shape, inputs, serializer, owner).
            fresh: Forget what was stored under this id and start over.

        Returns:
            The run as it was stored (its steps included), or ``None`` if it is new.

        Raises:
            RunLockedError: A live owner holds the run (:func:`owner_alive` tells a
                dead one: take its lease over, with ``fresh`` or without).
        """
        ...

    def record_steps(self, run_id: str, owner: str, records: list[StepRecord]) -> None:
        """Store finished steps, values and all, in one transaction: all or none."""
        ...

    def release(self, run_id: str, owner: str, status: str) -> None:
        """End the run with ``status`` and give its lease back."""
        ...

    def load(self, run_id: str) -> RunRecord | None:
        """The stored run with its steps, or ``None``."""
        ...

    def runs(self) -> list[RunRecord]:
        """Every stored run, newest first, without their steps."""
        ...

    def delete(self, run_id: str) -> bool:
        """Forget a run; ``False`` if there was none."""
        ...

    def cache_get(self, key: str, ttl: float | None) -> list[bytes] | None:
        """The serialised values cached under ``key`` (``Step(cache=...)``), or
        ``None`` when there are none or they are older than ``ttl`` seconds."""
        ...

    def cache_put(self, key: str, step: str, values: list[bytes]) -> None:
        """Cache a step's serialised values under ``key`` (replacing older ones)."""
        ...
