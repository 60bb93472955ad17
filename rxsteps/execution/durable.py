"""Durable runs: what ``store=`` and ``run_id=`` add to a run (:class:`DurableRun`).

Before the run: :meth:`DurableRun.open` claims the run's lease in the store, refuses a
stored run whose graph shape or inputs differ (:class:`~rxsteps.RunChangedError`,
unless ``fresh=True``), and turns its succeeded steps into a
:class:`~rxsteps.RunResult` for the engine's ``resume=`` path — their values, every
streamed one in order, feed their dependents as before and they are not called again.

During the run: :meth:`DurableRun.record` sees every batch of the run's queued events
just before the run's event sink (:mod:`.sink`) delivers it — serially, outside the
run's lock, on the run's delivery thread, so recording never holds the lock and never
blocks another run. The run queues each step's end as a :class:`~.sink.StepEnd` — its
status, values, attempts, times and error, taken under the lock — rather than events
the store would have to piece together, so a run with a store and no observer makes
no events at all. :meth:`DurableRun.record` writes the steps that ended in the batch
in one transaction (a group commit: one per step end at most, fewer when ends queue
up), *before* any of the batch goes on to the user's observers, a handle's
subscribers, or the caller of ``run()`` — whatever reports a step's success comes
after its commit. A step whose end was not committed (the process died first) runs
again on resume: at least once. Dependents may start before their dependency's end is
committed; a crash then re-runs the dependency, never a committed step.

Values are checked as they are produced (:meth:`DurableRun.check`, called by the
engine outside the lock): one the serializer cannot write fails its step with a
:class:`~rxsteps.StoreValueError` naming it; nothing else is lost.

State: ``store``, ``run_id``, ``owner`` (this run's lease token), ``serializer``,
``_offset`` (wall clock minus the run's clock), and ``_checked``: per step, the
values :meth:`DurableRun.check` serialised, in order, with their bytes (appended by
the producing thread, taken by the delivery thread once the step has ended; deques,
so both sides are atomic), so a value is serialised once, not twice.

Example:
    >>> import os, tempfile
    >>> from rxsteps import Step, StepGraph, run
    >>> path = os.path.join(tempfile.mkdtemp(), "runs.db")
    >>> graph = StepGraph([Step("a", lambda: 1)])
    >>> run(graph, store=path, run_id="r1")["a"]
    1
    >>> run(graph, store=path, run_id="r1").reasons["a"]  # not called again
    'resumed'
"""

from __future__ import annotations

import dataclasses
import logging
import time
import warnings
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import OptionError, RunChangedError, RxStepsWarning, StoreError, StoreValueError
from ..events import StepEvent
from ..graph import StepGraph
from ..result import RunResult, StepStatus
from ..stores import SERIALIZERS, Serializer, Store, open_store
from ..stores.base import RunRecord, StepRecord, forget_owner, new_owner
from .caching import StepCache
from .node import Node
from .options import RunOptions
from .sink import Call, StepEnd

__all__ = ["DurableRun", "open_durable", "refused_result", "run_status"]

log = logging.getLogger("rxsteps")

#: How many times the end of a run is written before the store is given up on.
RELEASE_TRIES = 3
_RELEASE_PAUSE = 0.05  # seconds before the second try; twice that before the third


def open_durable(graph: StepGraph, inputs: Mapping[str, Any], options: RunOptions,
                 clock: Callable[[], float],
                 sequence: int | None) -> tuple[DurableRun, RunResult | None]:
    """Open the store of a run about to start; return it and what to resume from.

    A pipeline's runs (``sequence`` set) are kept as ``f"{run_id}/{sequence}"``, or
    under what ``run_id(inputs)`` returns when ``run_id`` is a function.
    """
    run_id = options.run_id
    if callable(run_id):
        run_id = run_id(inputs)
        if not isinstance(run_id, str) or not run_id:
            raise OptionError(f"run_id= must return a non-empty str for each event, got "
                              f"{run_id!r}", "run_id")
    elif sequence is not None:
        run_id = f"{run_id}/{sequence}"
    assert isinstance(run_id, str)
    durable = DurableRun(options.store, run_id, options.serializer)
    return durable, durable.open(graph, inputs, fresh=options.fresh, clock=clock)


class DurableRun:
    """One run's link to its store; see the module docstring.

    Args:
        store: A path or a :class:`~rxsteps.stores.Store`.
        run_id: The run's id in the store.
        serializer: ``"pickle"`` or ``"json"``.
    """

    def __init__(self, store: Any, run_id: str, serializer: str = "pickle") -> None:
        self.store: Store = open_store(store)
        self.run_id = run_id
        self.serializer: Serializer = SERIALIZERS[serializer]
        self.owner = new_owner()
        self._offset = 0.0
        self._checked: dict[str, deque[tuple[Any, bytes]]] = {}
        self.cache: StepCache | None = None

    def prepare(self, nodes: Mapping[str, Node]) -> None:
        """Wrap the cached steps' actions (before the run starts); see :mod:`.caching`."""
        if any(node.step.cache is not False for node in nodes.values()):
            self.cache = StepCache(self.store, self.serializer)
            self.cache.wrap(nodes)

    def open(self, graph: StepGraph, inputs: Mapping[str, Any], *, fresh: bool,
             clock: Callable[[], float]) -> RunResult | None:
        """Claim the run; return the stored steps to resume from (``None``: new run).

        ``clock`` is the run's clock; the store keeps wall-clock times.

        Raises:
            RunLockedError: Another live process runs it.
            RunChangedError: The stored run had another graph shape or other inputs.
            StoreValueError: An input cannot be serialised.
        """
        self._offset = time.time() - clock()
        shape = dict(graph.shape())
        encoded = self._encode_inputs(inputs)
        stored = self.store.claim(
            RunRecord(self.run_id, shape, encoded, self.serializer.name, "running",
                      0.0, 0.0, self.owner), fresh=fresh)
        if stored is None:
            return None
        try:
            self._compare(stored, shape, inputs)
        except BaseException:
            self.release(stored.status)  # refused: the run stays as it was (interrupted…)
            raise
        return self._resume(graph, inputs, stored)

    def _encode_inputs(self, inputs: Mapping[str, Any]) -> bytes:
        try:
            return self.serializer.dumps(dict(inputs))
        except Exception as error:
            raise StoreValueError(
                f"run {self.run_id!r}: the inputs cannot be serialised with "
                f"{self.serializer.name} ({type(error).__name__}: {error}); pass "
                "serializer='pickle' or plain data", self.store.name) from error

    def _compare(self, stored: RunRecord, shape: dict[str, list[str]],
                 inputs: Mapping[str, Any]) -> None:
        changed = [f"step {s!r} added" for s in shape if s not in stored.shape]
        changed += [f"step {s!r} removed" for s in stored.shape if s not in shape]
        changed += [f"step {s!r} depends on {shape[s]} (was {stored.shape[s]})"
                    for s in shape if s in stored.shape and shape[s] != stored.shape[s]]
        try:
            before = SERIALIZERS[stored.serializer].loads(stored.inputs)
        except Exception as error:
            raise StoreError(f"run {self.run_id!r}: its stored inputs cannot be read "
                             f"({type(error).__name__}: {error}); pass fresh=True to start "
                             "over", self.store.name) from error
        for name in sorted(set(inputs) | set(before)):
            if name not in inputs or name not in before or not _same(inputs[name],
                                                                      before[name]):
                changed.append(f"input {name!r}")
        if changed:
            raise RunChangedError(
                f"cannot resume run {self.run_id!r} from store {self.store.name!r}: "
                f"changed since it was stored: {', '.join(changed)}; pass fresh=True to "
                "start over, or another run_id", self.store.name, self.run_id, changed)

    def _resume(self, graph: StepGraph, inputs: Mapping[str, Any],
                stored: RunRecord) -> RunResult | None:
        loads = SERIALIZERS[stored.serializer].loads
        emitted: dict[str, list[Any]] = {}
        status: dict[str, StepStatus] = {}
        for step_id, record in stored.steps.items():
            if record.status != "succeeded" or step_id not in graph:
                continue
            try:
                emitted[step_id] = [loads(v) for v in record.values]
            except Exception as error:
                raise StoreError(
                    f"run {self.run_id!r}: the stored values of step {step_id!r} cannot be "
                    f"read ({type(error).__name__}: {error}); pass fresh=True to start over",
                    self.store.name) from error
            status[step_id] = StepStatus.SUCCEEDED
        if not status:
            return None
        return RunResult(graph=graph, inputs=inputs, emitted=emitted, status=status,
                         errors={}, reasons={}, started={}, ended={}, attempts=[],
                         start=0.0, end=0.0)

    def check(self, step: str, value: Any) -> None:
        """Raise :class:`~rxsteps.StoreValueError` if ``value`` cannot be written
        (called by the engine, outside the lock, as a step produces it)."""
        try:
            blob = self.serializer.dumps(value)
        except Exception as error:
            raise StoreValueError(
                f"step {step!r}: its value {_short(value)} cannot be serialised with "
                f"{self.serializer.name} for store {self.store.name!r} "
                f"({type(error).__name__}: {error}); {_FIX[self.serializer.name]}",
                self.store.name, step) from error
        self._checked.setdefault(step, deque()).append((value, blob))

    # -- recording (the delivery thread, serially) --------------------------------------

    def record(self, batch: list[Any]) -> None:
        """Take a batch of queued items before they are delivered, and write the steps
        that ended in it (its :class:`~.sink.StepEnd`\\ s) in one transaction."""
        ended = [self._ended(batch, at, item) for at, item in enumerate(batch)
                 if type(item) is StepEnd and item.reason != "resumed"]
        if ended:
            try:
                self.store.record_steps(self.run_id, self.owner, ended)
            except Exception as error:  # those steps run again on resume: at least once
                log.error("rxsteps: could not record %d step(s) of run %r in store %r",
                          len(ended), self.run_id, self.store.name, exc_info=error)
                self._warn(f"{_steps(ended)} not recorded in store {self.store.name!r} "
                           f"({type(error).__name__}: {error}); "
                           f"{'they run' if len(ended) > 1 else 'it runs'} again on resume")

    def _blobs(self, step: str, values: list[Any]) -> list[bytes]:
        """The bytes of a finished step's values: those :meth:`check` made, matched by
        identity and in order (values checked but never emitted — their attempt was
        cancelled — are dropped on the way), serialised here where it made none."""
        checked = self._checked.pop(step, None)
        blobs = []
        for value in values:
            blob = None
            while checked:
                seen, made = checked.popleft()
                if seen is value:
                    blob = made
                    break
            blobs.append(self.serializer.dumps(value) if blob is None else blob)
        return blobs

    def _ended(self, batch: list[Any], at: int, end: StepEnd) -> StepRecord:
        step, offset, reason = end.step, self._offset, end.reason
        if end.status == "succeeded" and self.cache is not None and \
                self.cache.fully_cached(step):
            reason = "cached"  # kept as the step's reason: `runs show`, the timeline
            if end.event is not None:
                end.event = _flag_cached(batch, at, end.event)
        error = repr(end.error) if end.error is not None else reason
        return StepRecord(step, end.status, self._blobs(step, end.values), end.attempts,
                          None if end.started is None else end.started + offset,
                          None if end.ended is None else end.ended + offset, error)

    def on_done(self, then: Callable[[Any], None] | None) -> Callable[[Any], None]:
        """An ``on_done`` for the run that first ends it in the store, then calls ``then``
        — so a caller told the run is over can run the same ``run_id`` again at once."""
        def done(execution: Any) -> None:
            if self.cache is not None and execution.result is not None:
                self.cache.mark(execution.result)
            self.release(run_status(execution.result))
            if then is not None:
                then(execution)
        return done

    def release(self, status: str) -> None:
        """End the run in the store with ``status`` and give the lease back, trying up
        to :data:`RELEASE_TRIES` times. If the store still refuses, this process counts
        the lease as dead (a later claim of the run, here, takes it over) and warns."""
        for attempt in range(1, RELEASE_TRIES + 1):
            try:
                self.store.release(self.run_id, self.owner, status)
                return
            except Exception as error:
                last = error
                log.warning("rxsteps: could not end run %r in store %r (try %d of %d)",
                            self.run_id, self.store.name, attempt, RELEASE_TRIES,
                            exc_info=error)
                if attempt < RELEASE_TRIES:
                    time.sleep(_RELEASE_PAUSE * attempt)
        forget_owner(self.owner)
        self._warn(f"could not be ended as {status} in store {self.store.name!r} after "
                   f"{RELEASE_TRIES} tries ({type(last).__name__}: {last}); the store "
                   "shows it running until it is run again with this run_id (this process "
                   "takes its lease over; another waits for this one to end)")

    def _warn(self, what: str) -> None:
        """Tell the caller that the store did not keep something of this run (on the
        delivery thread: warnings turned into errors are logged, never raised there)."""
        message = f"run {self.run_id!r}: {what}"
        try:
            warnings.warn(RxStepsWarning(message), stacklevel=2)
        except Exception:
            log.error("rxsteps: %s", message)


def _steps(records: list[StepRecord]) -> str:
    """``step 'a' was`` or ``steps 'a', 'b' were``, for messages."""
    names = ", ".join(repr(r.step) for r in records)
    return f"step {names} was" if len(records) == 1 else f"steps {names} were"


def _flag_cached(batch: list[Any], at: int, event: StepEvent) -> StepEvent:
    """A SUCCEEDED event saying the step's value came from the cache, to deliver in
    place of ``event`` (the :class:`~.sink.StepEnd` at ``batch[at]`` carries it); the
    calls to handle subscribers carrying ``event`` later in the batch are changed too."""
    flagged = dataclasses.replace(event, reason="cached")
    for item in batch[at + 1:]:
        if type(item) is Call and item.args and item.args[0] is event:
            item.args = (flagged, *item.args[1:])
    return flagged


def refused_result(graph: StepGraph, inputs: Mapping[str, Any], sequence: int | None,
                   error: StoreError, now: float) -> RunResult:
    """The result of a pipeline event whose run the store refused to start
    (:class:`~rxsteps.RunLockedError`, :class:`~rxsteps.RunChangedError`, another
    :class:`~rxsteps.StoreError`): no step ran — each is CANCELLED with the reason —
    and ``failure`` is the store's error, so the event fails as a value and the
    pipeline's other events go on."""
    reason = f"the store refused the run: {type(error).__name__}"
    return RunResult(graph=graph, inputs=inputs, emitted={},
                     status=dict.fromkeys(graph, StepStatus.CANCELLED), errors={},
                     reasons=dict.fromkeys(graph, reason), started={}, ended={},
                     attempts=[], start=now, end=now, sequence=sequence, failure=error)


def run_status(result: RunResult | None) -> str:
    """The status a finished run is stored with."""
    if result is None:
        return "cancelled"
    statuses = set(result.status.values())
    if StepStatus.FAILED in statuses:
        return "failed"
    if StepStatus.CANCELLED in statuses:
        return "cancelled"
    return "succeeded"


_FIX = {"pickle": "return a picklable value (plain data, no lambdas, locks or sockets)",
        "json": "return JSON data (dicts, lists, str, numbers), or pass serializer='pickle'"}


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # values that do not compare (arrays…): trust the caller
        return True


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
