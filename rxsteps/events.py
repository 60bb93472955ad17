"""Step events: what a run reports, one event at a time, as it happens.

Per step the events follow a small state machine::

    STARTED ──> EMITTED* ──> SUCCEEDED
       │  └──> RETRYING ──> STARTED (next attempt)
       └──────> FAILED
    (never started) ──> SKIPPED | CANCELLED
    (running) ──> CANCELLED
    (ready) ──> WAITING ──> STARTED   (limits, rates or max_concurrency hold it back)

A step called several times (its dependencies stream) has one STARTED per call and
attempt, with ``index`` telling the call. Every step ends with exactly one of
SUCCEEDED, FAILED, SKIPPED or CANCELLED. Events are delivered serially — never two
``on_next`` at once — and in ``time`` order; a dependent's STARTED comes after the
values it consumes, and a single-value step's SUCCEEDED before any dependent starts.

Example:
    >>> from rxsteps import Step, StepGraph, observe, EventKind
    >>> graph = StepGraph([Step("a", lambda: 1), Step("b", lambda a: a + 1, ["a"])])
    >>> kinds = []
    >>> _ = observe(graph).subscribe(lambda e: kinds.append((e.step, e.kind.name)))
    >>> import time; time.sleep(0.2)
    >>> kinds  # doctest: +NORMALIZE_WHITESPACE
    [('a', 'STARTED'), ('a', 'EMITTED'), ('a', 'SUCCEEDED'),
     ('b', 'STARTED'), ('b', 'EMITTED'), ('b', 'SUCCEEDED')]
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

__all__ = ["EventKind", "StepEvent"]


class EventKind(enum.Enum):
    """The kinds of :class:`StepEvent`.

    Example:
        >>> from rxsteps import EventKind
        >>> EventKind.SUCCEEDED.terminal, EventKind.EMITTED.terminal
        (True, False)
    """

    STARTED = "started"
    """An attempt of the step's action began."""
    EMITTED = "emitted"
    """The step produced a value (one event per value)."""
    SUCCEEDED = "succeeded"
    """The step finished; ``value`` is its last value."""
    FAILED = "failed"
    """The step failed for good; ``error`` is the exception."""
    RETRYING = "retrying"
    """An attempt failed and another will follow; ``attempt`` is the failed one."""
    SKIPPED = "skipped"
    """The step will never run; ``reason`` says why (a dependency failed or was empty)."""
    CANCELLED = "cancelled"
    """The run stopped before the step finished; ``reason`` says why."""
    WAITING = "waiting"
    """A ready step waits for capacity before it starts; ``reason`` names what it
    waits for (``"resource 'llm'"``, ``"rate 'llm'"`` or a free slot)."""

    # Members are singletons: hash by identity, in C (Enum's own hashes the name in
    # Python, a call measured on every event a run queues).
    __hash__ = object.__hash__

    @property
    def terminal(self) -> bool:
        """Whether this kind ends a step."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {EventKind.SUCCEEDED, EventKind.FAILED, EventKind.SKIPPED, EventKind.CANCELLED}
)


@dataclass(frozen=True, slots=True, init=False)
class StepEvent:
    """One thing that happened to one step.

    Attributes:
        kind: What happened.
        step: The step id.
        value: The emitted value (EMITTED) or the last value (SUCCEEDED), else ``None``.
        error: The exception (FAILED, RETRYING), else ``None``.
        attempt: The attempt number, from 1; RETRYING carries the attempt that failed.
        time: ``time.monotonic()`` when it happened (the scheduler's clock on
            virtual-time schedulers).
        index: Which call of the step, from 0 (steps fed by streams are called many
            times).
        reason: Why a step was SKIPPED or CANCELLED, or what a WAITING one waits for.
        delay: For RETRYING, the seconds until the next attempt.

    Example:
        >>> from rxsteps import EventKind, Step, StepGraph, run
        >>> events = []
        >>> _ = run(StepGraph([Step("a", lambda: 41)]), on_event=events.append)
        >>> [(e.kind.name, e.value) for e in events]
        [('STARTED', None), ('EMITTED', 41), ('SUCCEEDED', 41)]
    """

    kind: EventKind
    step: str
    value: Any = None
    error: BaseException | None = None
    attempt: int = 1
    time: float = 0.0
    index: int = 0
    reason: str | None = None
    delay: float | None = None

    def __init__(self, kind: EventKind, step: str, value: Any = None,
                 error: BaseException | None = None, attempt: int = 1, time: float = 0.0,
                 index: int = 0, reason: str | None = None,
                 delay: float | None = None) -> None:
        # A run makes three events per step. The frozen dataclass's own __init__ sets
        # each field through object.__setattr__ (2.2 µs an event, measured); setting
        # the slots through their descriptors keeps them frozen for 0.8 µs.
        _SET_KIND(self, kind)
        _SET_STEP(self, step)
        _SET_VALUE(self, value)
        _SET_ERROR(self, error)
        _SET_ATTEMPT(self, attempt)
        _SET_TIME(self, time)
        _SET_INDEX(self, index)
        _SET_REASON(self, reason)
        _SET_DELAY(self, delay)

    def __repr__(self) -> str:
        extra = ""
        if self.kind is EventKind.EMITTED or self.kind is EventKind.SUCCEEDED:
            extra = f", value={self.value!r}"
        elif self.error is not None:
            extra = f", error={self.error!r}"
        elif self.reason:
            extra = f", reason={self.reason!r}"
        return f"StepEvent({self.kind.name}, {self.step!r}{extra}, attempt={self.attempt})"


# The slots' own setters (what the frozen dataclass's __setattr__ refuses to users).
(_SET_KIND, _SET_STEP, _SET_VALUE, _SET_ERROR, _SET_ATTEMPT, _SET_TIME, _SET_INDEX,
 _SET_REASON, _SET_DELAY) = (getattr(StepEvent, name).__set__ for name in (
    "kind", "step", "value", "error", "attempt", "time", "index", "reason", "delay"))
