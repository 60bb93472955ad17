"""One attempt in flight: the token that decides whether its outcome still counts.

An attempt is RUNNING until exactly one of three things settles it, under the run
lock: it finishes (DONE), or a timeout or the run's cancellation abandons it
(ABANDONED). Whatever arrives later — the return value of an abandoned thread, a
value yielded after a timeout — finds the state changed and is dropped. That is how
a sync action, which Python cannot interrupt, is timed out without losing or
duplicating anything.

Example:
    >>> from rxsteps import Step
    >>> from rxsteps.execution.node import Node
    >>> attempt = ActiveAttempt(Node(Step("a", lambda: 1), []), 0, 1, 0.0)
    >>> attempt.state is AttemptState.RUNNING
    True
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from ..context import StepContext
from .node import Node

if TYPE_CHECKING:
    from ..backends.base import Handle

__all__ = ["ABANDONED", "DONE", "DOOMED", "RUNNING", "ActiveAttempt", "AttemptState"]


class AttemptState(enum.Enum):
    """Where an attempt stands; only the run changes it, under its lock."""

    RUNNING = "running"
    DONE = "done"
    ABANDONED = "abandoned"


RUNNING, DONE, ABANDONED = AttemptState.RUNNING, AttemptState.DONE, AttemptState.ABANDONED


class ActiveAttempt(StepContext):
    """A running attempt of call ``index`` of a step; also the context its action sees
    through :func:`rxsteps.current` (one object per attempt, not two).

    ``holds_slot`` is true while the attempt counts against ``max_concurrency``: from
    its start until its call returns — a timed-out sync call keeps its slot while its
    thread is still inside it, so ``max_concurrency`` bounds the calls really running.
    ``stuck`` marks such an abandoned call whose thread has not come back.
    """

    __slots__ = (
        "_unended",
        "args",
        "compensated",
        "emitted",
        "handle",
        "held",
        "holds_slot",
        "node",
        "number",
        "span",
        "start",
        "state",
        "stuck",
        "timer",
    )

    def __init__(self, node: Node, index: int, number: int, start: float) -> None:
        self.step = node.id  # StepContext's fields, inline
        self.attempt = number
        self.index = index
        self._event = None
        self.node = node
        self.number = number
        self.start = start
        self.state = RUNNING
        self.args: tuple[Any, ...] = ()
        self.emitted = False
        self.compensated = False  # the monitor woke a driver to stand in for this one
        self.holds_slot = True
        self.held: tuple[tuple[str, int], ...] = ()  # resource units (see .limits)
        self.stuck = False
        self.timer: Handle | None = None
        self.handle: Handle | None = None
        self.span: Any = None
        self._unended: list[Any] = []  # the span, until one caller claims its end

    def open_span(self, span: Any) -> None:
        """Keep the attempt's span (tracing made one)."""
        self.span = span
        self._unended = [span]

    def claim_span(self) -> Any:
        """The span to end, to the first caller only — a finish, a timeout and a cancel
        may race to end it (``list.pop`` is atomic) — else ``None``."""
        try:
            return self._unended.pop()
        except IndexError:
            return None

    @property
    def context(self) -> StepContext:
        """The context the action sees (this object)."""
        return self

    def __repr__(self) -> str:
        return f"<attempt {self.node.id!r}[{self.index}] #{self.number} {self.state.value}>"


class _Doomed(ActiveAttempt):
    """What ``Run.begin`` returns for a step doomed while it waited: no attempt."""

    def __init__(self) -> None:  # not a real attempt: nothing to set up
        pass

    def __repr__(self) -> str:
        return "DOOMED"


DOOMED: ActiveAttempt = _Doomed()
