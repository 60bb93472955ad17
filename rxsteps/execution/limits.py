"""Named resources, rate limits and critical-path priority: :class:`Limiter` and
the run's :class:`Gate`.

A :class:`Limiter` holds, for each named resource, a capacity (how many units may be
in use at once) and/or a token bucket (how many starts per second, with bursts). It
has a lock of its own and may be shared by any number of runs — that is how a service
whose requests each run a graph stays under one API quota. State, under
``Limiter._lock``:

- ``_capacity`` / ``_used`` — units per resource, and units held now;
- ``_buckets`` — per rated resource, its tokens and when they were last refilled;
- ``_waiting`` — the gates (runs) that found something busy, to be poked on release.

A :class:`Gate` is one run's waiting room. When limits are given (or priority matters
because ``max_concurrency`` is set), every ready step passes through it on its way to
a driver or a loop: it waits here, holding neither a thread nor a slot, until a slot
and *all* of its resources are free, and is then admitted with them held
(all-or-nothing under the limiter's lock, so two steps needing overlapping sets never
hold half each). Among the waiting steps the one with the longest remaining path
(:meth:`~rxsteps.StepGraph.remaining_paths`) goes first; among equal paths, the one
with more direct dependents (it unlocks more work: the CP/MISF rule of Kasahara and
Narita), then the one that came first. Without hints every step weighs one unit, so
ties are common and the tie-break matters: on two slots, roots ``a``, ``b``, ``hub``
where ``hub`` feeds three steps finish in 3 units hub-first, 4 in arrival order. The
ranks are computed once per graph; the dependents are counted when a step is queued
(O(1)). The gate's state is guarded by its run's lock:

- ``_queues`` — per distinct ``uses`` set, a heap of waiting calls by priority, each a
  ``_Waiter`` (its node, and for a mapped step the item reserved for it, so a waiting
  item's WAITING event and :class:`~rxsteps.Wait` carry its own index); calls with the
  same set are interchangeable for admission, so a pass costs one try per set, not per
  call;
- ``_announced`` — the calls that said WAITING: since when, and why;
- ``_held`` — what each admitted step holds until its attempt claims it: a list per
  step, because a mapped step is admitted once per item and several of its items may
  be admitted before the first one begins;
- ``_timer`` — the engine timer that pokes the gate when the next token is due.

Lock order: a run's lock, then a limiter's; a limiter never calls a run while it
holds its lock. Pokes of other runs happen after the releasing run let go of its lock.

Example:
    >>> limiter = Limiter(limits={"llm": 2}, rates={"llm": "60/min"})
    >>> limiter.capacity("llm"), limiter.rate("llm")
    (2, Rate(count=60, per=60.0, burst=60))
"""

from __future__ import annotations

import difflib
import heapq
import itertools
import math
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import OptionError, ResourceError
from ..events import EventKind
from ..result import Wait

if TYPE_CHECKING:
    from ..backends.base import Handle
    from ..graph import StepGraph
    from ..result import RunResult
    from .node import Node

__all__ = ["PRIORITIES", "Gate", "Limiter", "Rate", "check_uses", "make_gate", "make_limiter",
           "step_priorities"]

#: ``"critical"``: longest remaining path first; ``"fifo"``: first come, first served.
PRIORITIES = ("critical", "fifo")

_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "min": 60.0, "minute": 60.0,
          "h": 3600.0, "hour": 3600.0}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*([a-z]+)\s*$")


@dataclass(frozen=True, slots=True)
class Rate:
    """A rate limit: a token bucket of ``count`` starts per ``per`` seconds.

    Bursts of up to ``burst`` (default ``count``) starts may happen at once after a
    quiet spell; then starts are spaced ``per / count`` seconds apart.

    Args:
        count: Tokens per period (a positive int).
        per: The period in seconds.
        burst: The bucket's size: how many starts may happen at once after a quiet
            spell (default: ``count``).

    Raises:
        OptionError: A count, period or burst that is not positive.

    Example:
        >>> Rate.parse("60/min"), Rate.parse("5/s").per_second
        (Rate(count=60, per=60.0, burst=60), 5.0)
    """

    count: int
    per: float = 1.0
    burst: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise OptionError(f"a rate's count must be a positive int, got {self.count!r}",
                              "rates")
        if not isinstance(self.per, int | float) or not self.per > 0:
            raise OptionError(f"a rate's period must be a positive number of seconds, got "
                              f"{self.per!r}", "rates")
        burst = self.count if self.burst is None else self.burst
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise OptionError(f"a rate's burst must be a positive int, got {burst!r}", "rates")
        object.__setattr__(self, "per", float(self.per))
        object.__setattr__(self, "burst", burst)

    @property
    def per_second(self) -> float:
        """Tokens added per second."""
        return self.count / self.per

    @classmethod
    def parse(cls, text: str | Rate, burst: int | None = None) -> Rate:
        """A :class:`Rate` from ``"N/s"``, ``"N/min"`` or ``"N/h"`` (or a Rate as is).

        Raises:
            OptionError: Text of another shape.
        """
        if isinstance(text, Rate):
            return text
        match = _RATE.match(text) if isinstance(text, str) else None
        if match is None or match.group(2) not in _UNITS:
            raise OptionError(
                f"a rate must look like '60/min', '5/s' or '1000/h', got {text!r}", "rates"
            )
        return cls(int(match.group(1)), _UNITS[match.group(2)], burst)


class _Poked(Protocol):
    def poke(self) -> None: ...


class _Bucket:
    __slots__ = ("last", "rate", "tokens")

    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self.tokens = float(rate.burst or rate.count)
        self.last: float | None = None

    def refill(self, now: float) -> None:
        if self.last is not None and now > self.last:
            burst = float(self.rate.burst or self.rate.count)
            self.tokens = min(burst, self.tokens + (now - self.last) * self.rate.per_second)
        if self.last is None or now > self.last:
            self.last = now

    def due(self) -> float:
        """Seconds until one token is there (0: now)."""
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate.per_second


class Limiter:
    """Capacities and rate limits of named resources, shared by every run given it.

    Pass it as ``limits=`` to any front door; all runs given the same limiter share its
    units and tokens, across threads and event loops of one process. A resource may
    have a capacity, a rate, or both; a rate costs one token per attempt started.

    Args:
        limits: Units per resource that may be in use at once, e.g. ``{"llm": 4}``.
        rates: Starts per period per resource: ``"60/min"``, ``"5/s"``, ``"1000/h"`` or
            a :class:`Rate`.
        burst: Bucket size for every rate given as text (default: its count), or a
            mapping of resource to size.

    Raises:
        OptionError: A capacity that is not a positive int, a malformed rate.

    Example:
        >>> from rxsteps import Limiter, Step, StepGraph, run
        >>> shared = Limiter(limits={"llm": 1})
        >>> graph = StepGraph([Step("ask", lambda: "yes", uses="llm")])
        >>> run(graph, limits=shared)["ask"], run(graph, limits=shared)["ask"]
        ('yes', 'yes')
    """

    def __init__(
        self,
        limits: Mapping[str, int] | None = None,
        rates: Mapping[str, str | Rate] | None = None,
        *,
        burst: int | Mapping[str, int] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._capacity: dict[str, int] = {}
        self._used: dict[str, int] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._waiting: set[_Poked] = set()
        for name, units in _mapping(limits, "limits").items():
            if isinstance(units, bool) or not isinstance(units, int) or units < 1:
                raise OptionError(f"limits: the capacity of {name!r} must be a positive int, "
                                  f"got {units!r}", "limits")
            self._capacity[name] = units
            self._used[name] = 0
        for name, rate in _mapping(rates, "rates").items():
            size = burst.get(name) if isinstance(burst, Mapping) else burst
            self._buckets[name] = _Bucket(Rate.parse(rate, size))

    def capacity(self, resource: str) -> int | None:
        """Units of ``resource`` that may be in use at once (None: no capacity)."""
        return self._capacity.get(resource)

    def rate(self, resource: str) -> Rate | None:
        """The rate limit of ``resource``, if any."""
        bucket = self._buckets.get(resource)
        return None if bucket is None else bucket.rate

    def names(self) -> list[str]:
        """Every resource this limiter knows, sorted."""
        return sorted(self._capacity.keys() | self._buckets.keys())

    def in_use(self, resource: str) -> int:
        """Units of ``resource`` held now."""
        with self._lock:
            return self._used.get(resource, 0)

    def try_acquire(self, needs: tuple[tuple[str, int], ...], now: float,
                    waiter: _Poked) -> tuple[float, str]:
        """Take all of ``needs`` and a token of each rated one, or nothing.

        Returns ``(0.0, "")`` when taken; else the seconds until a token is due
        (``math.inf`` when a capacity is full) and what blocked (``"resource 'llm'"``
        or ``"rate 'llm'"``); ``waiter`` is then poked at the next release.
        """
        with self._lock:
            for name, units in needs:
                cap = self._capacity.get(name)
                if cap is not None and self._used[name] + units > cap:
                    self._waiting.add(waiter)
                    return math.inf, f"resource {name!r}"
            wait, blocker = 0.0, ""
            for name, _units in needs:
                bucket = self._buckets.get(name)
                if bucket is not None:
                    bucket.refill(now)
                    due = bucket.due()
                    if due > wait:
                        wait, blocker = due, f"rate {name!r}"
            if wait > 0.0:
                return wait, blocker
            for name, units in needs:
                if name in self._capacity:
                    self._used[name] += units
                bucket = self._buckets.get(name)
                if bucket is not None:
                    bucket.tokens -= 1.0
            return 0.0, ""

    def release(self, needs: tuple[tuple[str, int], ...], releaser: _Poked) -> list[_Poked]:
        """Give ``needs`` back; returns the other waiters to poke (outside any lock)."""
        with self._lock:
            for name, units in needs:
                if name in self._capacity:
                    self._used[name] -= units
            if not self._waiting:
                return []
            waiting = [w for w in self._waiting if w is not releaser]
            self._waiting.clear()
            return waiting

    def forget(self, waiter: _Poked) -> None:
        """``waiter`` (a finished run) no longer waits."""
        with self._lock:
            self._waiting.discard(waiter)


def _mapping(value: Any, option: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise OptionError(f"{option} must map resource names to values, such as "
                          f"{{'llm': 4}}, got {value!r}", option)
    return dict(value)


def make_limiter(limits: Any, rates: Any) -> Limiter | None:
    """The limiter of a run's ``limits=`` and ``rates=`` options (None: neither)."""
    if isinstance(limits, Limiter):
        if rates is not None:
            raise OptionError("rates= cannot be combined with a Limiter object; give the "
                              "rates to Limiter(..., rates=...)", "rates")
        return limits
    if limits is None and rates is None:
        return None
    return Limiter(limits, rates)


def check_uses(graph: StepGraph, limiter: Limiter | None) -> None:
    """Refuse, before anything runs, a step using a resource the limiter does not
    name, or more units than its capacity (it could never start)."""
    known = limiter.names() if limiter is not None else []
    for step in graph.values():
        for name, units in step.uses:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                listed = ", ".join(map(repr, known)) or "none"
                raise ResourceError(
                    f"step {step.id!r} uses resource {name!r}, which limits= does not name "
                    f"({hint}known: {listed}); add it, e.g. limits={{{name!r}: 4}}",
                    step.id, name,
                )
            cap = limiter.capacity(name) if limiter is not None else None
            if cap is not None and units > cap:
                raise ResourceError(
                    f"step {step.id!r} needs {units} units of {name!r} but its capacity is "
                    f"{cap}, so it could never start; raise limits[{name!r}] to {units} "
                    "or lower the step's uses", step.id, name,
                )


def step_priorities(graph: StepGraph, history: RunResult | None) -> Mapping[str, float]:
    """Each step's remaining path (:meth:`rxsteps.StepGraph.remaining_paths`), weighed
    by ``history``'s measured durations where it has them.

    The gate starts the waiting step with the longest one first; among equals, the one
    with more direct dependents, then the one queued first.

    Example:
        >>> from rxsteps import Step, StepGraph
        >>> graph = StepGraph([Step("a", lambda: 1), Step("b", lambda a: a, ["a"])])
        >>> sorted(step_priorities(graph, None).items())
        [('a', 2.0), ('b', 1.0)]
    """
    if history is None:
        return graph.remaining_paths()
    measured: dict[str, float] = {}
    for name in graph:
        start, end = history.started.get(name), history.ended.get(name)
        if start is not None and end is not None:
            measured[name] = max(0.0, end - start)
    return graph.remaining_paths(measured)


class GateOwner(Protocol):
    """What a gate needs of its run (all under the run's lock)."""

    backend: Any

    def waiting_room_free(self) -> float: ...
    def admitted(self, node: Node) -> None: ...
    def doomed(self, node: Node) -> None: ...
    def announce(self, kind: EventKind, node: Node, reason: str, index: int,
                 attempt: int) -> None: ...
    def poke_later(self, gates: list[_Poked]) -> None: ...
    def poke(self) -> None: ...


class _Waiter:
    """One queued call in a gate: its node and, for a mapped step, the item reserved
    for it (``(index, attempt)``; None for an unmapped step, whose call is the node's
    next one)."""

    __slots__ = ("call", "node")

    def __init__(self, node: Node, call: tuple[int, int] | None) -> None:
        self.node = node
        self.call = call

    def call_of(self) -> tuple[int, int]:
        """The call's index and attempt number, as its events name them."""
        if self.call is not None:
            return self.call
        return self.node.invoked, self.node.next_attempt

    def let_through(self) -> None:
        """Admitted or doomed: a reserved item goes on to the node's ``begin``."""
        mapping = self.node.mapping
        if self.call is not None and mapping is not None:
            mapping.let_through(self.call)


class Gate:
    """One run's waiting room in front of its slots. See the module docstring."""

    __slots__ = (
        "_announced",
        "_fresh",
        "_held",
        "_limiter",
        "_order",
        "_priorities",
        "_queues",
        "_run",
        "_timer",
        "_timer_due",
        "waits",
    )

    def __init__(self, run: GateOwner, limiter: Limiter | None,
                 priorities: Mapping[str, float] | None) -> None:
        self._run = run
        self._limiter = limiter
        self._priorities = priorities
        self._order = itertools.count()
        self._queues: dict[tuple[tuple[str, int], ...], list[tuple[float, int, int, _Waiter]]] = {}
        self._held: dict[Node, list[tuple[tuple[str, int], ...]]] = {}
        self._timer: Handle | None = None
        self._timer_due = math.inf
        self._announced: dict[_Waiter, tuple[float, str]] = {}  # said WAITING: since, why
        self.waits: list[Wait] = []  # the waits that ended, for the result
        self._fresh: list[_Waiter] = []  # put since the last pass

    def put(self, node: Node) -> None:
        """Under the lock: ``node`` has a call ready; it waits here until admitted.

        A mapped step's call is reserved now (the item it is), so its WAITING event
        and its wait name that item; a retried item goes first among its equals."""
        rank, fan = 0.0, 0
        if self._priorities is not None:  # ties: more direct dependents first (CP/MISF)
            rank, fan = -self._priorities.get(node.id, 0.0), -len(node.dependents)
        mapping = node.mapping
        call = mapping.reserve() if mapping is not None else None
        seq = next(self._order)
        if call is not None and call[1] > 1:
            seq = -seq
        queue = self._queues.setdefault(node.step.uses, [])
        waiter = _Waiter(node, call)
        heapq.heappush(queue, (rank, fan, seq, waiter))
        self._fresh.append(waiter)

    def admit(self, now: float) -> None:
        """Under the lock: admit, best first, every waiting step whose slot and
        resources are free; say WAITING for those that must wait."""
        queues, run = self._queues, self._run
        if not queues:
            self._fresh.clear()
            return
        blocked: dict[_Waiter, str] = {}
        why_by_set: dict[tuple[tuple[str, int], ...], str] = {}
        let_in: set[_Waiter] = set()
        while queues:
            heads = sorted((queue[0], needs) for needs, queue in queues.items())
            progressed = False
            for (_rank, _fan, _seq, waiter), needs in heads:
                node = waiter.node
                if node.reason is not None or node.finished:
                    self._pop(needs)
                    self._waited(waiter, now)
                    waiter.let_through()
                    run.doomed(node)
                    progressed = True
                    break
                if run.waiting_room_free() < 1:
                    continue
                wait, why = (0.0, "") if self._limiter is None else \
                    self._limiter.try_acquire(needs, now, self)
                if wait == 0.0:
                    self._pop(needs)
                    if needs:
                        self._held.setdefault(node, []).append(needs)
                    blocked.pop(waiter, None)
                    let_in.add(waiter)
                    self._waited(waiter, now)
                    waiter.let_through()
                    run.admitted(node)
                    progressed = True
                    break
                blocked.setdefault(waiter, why)
                why_by_set.setdefault(needs, why)
                if wait < math.inf:
                    self._wake_in(wait, now)
            if not progressed:
                break
        self._behind(blocked, why_by_set, let_in)
        for waiter, why in blocked.items():
            if waiter not in self._announced:
                self._announced[waiter] = (now, why)
                index, number = waiter.call_of()
                run.announce(EventKind.WAITING, waiter.node, why, index, number)

    def _behind(self, blocked: dict[_Waiter, str],
                why_by_set: dict[tuple[tuple[str, int], ...], str],
                let_in: set[_Waiter]) -> None:
        """Calls put since the last pass behind a blocked call with the same needs
        wait too (for the same reason)."""
        fresh, self._fresh = self._fresh, []
        for waiter in fresh:
            behind = why_by_set.get(waiter.node.step.uses)
            if behind is not None and waiter not in let_in and not waiter.node.finished:
                blocked.setdefault(waiter, behind)

    def _waited(self, waiter: _Waiter, now: float) -> None:
        since = self._announced.pop(waiter, None)
        if since is not None:
            index, number = waiter.call_of()
            self.waits.append(Wait(waiter.node.id, index, number, since[0], now, since[1]))

    def _pop(self, needs: tuple[tuple[str, int], ...]) -> None:
        queue = self._queues[needs]
        heapq.heappop(queue)
        if not queue:
            del self._queues[needs]

    def _wake_in(self, delay: float, now: float) -> None:
        due = now + delay
        if self._timer is not None and self._timer_due <= due:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_due = due
        self._timer = self._run.backend.call_later(delay, self._due)

    def _due(self) -> None:
        """On the timer thread: only hands over; the run's poke takes its lock and
        admits (no user code runs in it)."""
        self._timer = None
        self._timer_due = math.inf
        self._run.poke()

    def claim(self, node: Node) -> tuple[tuple[str, int], ...]:
        """Under the lock: the units one admission of ``node`` holds, handed to its
        attempt (the oldest admission first; a mapped step has one per item)."""
        held = self._held.get(node)
        if not held:
            return ()
        needs = held.pop(0)
        if not held:
            del self._held[node]
        return needs

    def release(self, needs: tuple[tuple[str, int], ...]) -> None:
        """Under the lock: an attempt (or a doomed admitted step) gives ``needs`` back;
        other runs waiting on the limiter are poked once this run's lock is let go."""
        if needs and self._limiter is not None:
            others = self._limiter.release(needs, self)
            if others:
                self._run.poke_later(others)

    def stop(self) -> None:
        """Under the lock: the run stopped; give back everything, wait no more."""
        for admissions in self._held.values():
            for needs in admissions:
                self.release(needs)
        self._held.clear()
        self._queues.clear()
        now = self._run.backend.now()
        for waiter in list(self._announced):
            self._waited(waiter, now)
        self._fresh.clear()
        if self._limiter is not None:
            self._limiter.forget(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def poke(self) -> None:
        """Outside any lock: something this run waited for was released."""
        self._run.poke()

    def waiting(self) -> list[Node]:
        """Under the lock: the nodes of the calls waiting here."""
        return [entry[3].node for queue in self._queues.values() for entry in queue]

    def withdraw(self, node: Node) -> tuple[bool, tuple[int, int] | None]:
        """Under the lock: take one waiting call of ``node`` out (its timeout passed
        while it waited); whether one was here, and its reserved item, if mapped."""
        queue = self._queues.get(node.step.uses)
        for entry in queue or ():
            waiter = entry[3]
            if waiter.node is node:
                queue.remove(entry)  # type: ignore[union-attr]
                heapq.heapify(queue)  # type: ignore[arg-type]
                if not queue:
                    del self._queues[node.step.uses]
                if waiter in self._fresh:
                    self._fresh.remove(waiter)
                self._waited(waiter, self._run.backend.now())
                return True, waiter.call
        return False, None



def make_gate(run: GateOwner, graph: StepGraph, limiter: Limiter | None, priority: str,
              history: RunResult | None, max_concurrency: int | None) -> Gate | None:
    """The run's gate, or None when nothing can make a step wait but a thread (the
    hot path: no limits, and no ``max_concurrency`` to order steps for)."""
    if limiter is None and not (max_concurrency and priority == "critical"):
        return None
    priorities = step_priorities(graph, history) if priority == "critical" else None
    return Gate(run, limiter, priorities)
