"""One attempt in flight: the token that decides whether its outcome still counts.

An attempt is RUNNING until exactly one of three things settles it, under the run
lock: it finishes (DONE), or a timeout or the run's cancellation abandons it
(ABANDONED). Whatever arrives later — the return value of an abandoned thread, a
value yielded after a timeout — finds the state changed and is dropped. That is how
a sync action, which Python cannot interrupt, is timed out without losing or
duplicating anything.

Example:
    >>> attempt = ActiveAttempt(None, 0, 1, 0.0)
    >>> attempt.state is RUNNING
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..context import StepContext

if TYPE_CHECKING:
    from ..backends.base import Handle
    from .node import Node

__all__ = ["ABANDONED", "DONE", "RUNNING", "ActiveAttempt"]

RUNNING = "running"
DONE = "done"
ABANDONED = "abandoned"


class ActiveAttempt(StepContext):
    """A running attempt of call ``index`` of a step; also the context its action sees
    through :func:`rxsteps.current` (one object per attempt, not two)."""

    __slots__ = (
        "args",
        "compensated",
        "emitted",
        "handle",
        "node",
        "number",
        "span",
        "start",
        "state",
        "timer",
    )

    def __init__(self, node: Node | None, index: int, number: int, start: float) -> None:
        self.step = node.id if node is not None else ""  # StepContext's fields, inline
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
        self.timer: Handle | None = None
        self.handle: Handle | None = None
        self.span: Any = None

    @property
    def context(self) -> StepContext:
        """The context the action sees (this object)."""
        return self

    def __repr__(self) -> str:
        step = self.node.id if self.node is not None else "?"
        return f"<attempt {step!r}[{self.index}] #{self.number} {self.state}>"
