"""Routers: a step that returns the name(s) of the branch(es) to take, and the
conditions that read it.

A router is an ordinary step whose value is a branch name, or a list (or set) of
names. Each branch depends on the router and says, with :func:`routes`, which names
select it; the condition finds the router's value among the branch's arguments by the
router's place in ``depends``, bound when the :class:`~rxsteps.Step` is made.

Example:
    >>> from rxsteps import Step, StepGraph, routes, run
    >>> graph = StepGraph([
    ...     Step("router", lambda question: "maths" if "+" in question else "chat",
    ...          ["question"]),
    ...     Step("maths", lambda question, route: "4", ["question", "router"],
    ...          when=routes("router", "maths")),
    ...     Step("chat", lambda question, route: "hello", ["question", "router"],
    ...          when=routes("router", "chat")),
    ... ], inputs=["question"])
    >>> result = run(graph, {"question": "2+2"})
    >>> result["maths"], result.reasons["chat"]
    ('4', 'condition false')
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .errors import OptionTypeError

__all__ = ["Route", "routes"]


class Route:
    """The condition :func:`routes` makes: true when the router chose one of ``names``.

    Attributes:
        router: The router step's id (a dependency of the branch).
        names: The route names that select the branch.
        position: Where the router's value is among the branch's arguments (set when
            the branch's :class:`~rxsteps.Step` is made).

    Example:
        >>> route = routes("router", "a", "b").at(0)
        >>> route("a"), route(["c", "b"]), route("c"), route(None)
        (True, True, False, False)
    """

    __slots__ = ("names", "position", "router")

    def __init__(self, router: str, names: frozenset[str], position: int = 0) -> None:
        self.router, self.names, self.position = router, names, position

    def at(self, position: int) -> Route:
        """The same route reading the router's value from argument ``position``."""
        return Route(self.router, self.names, position)

    def __call__(self, *args: Any) -> bool:
        chosen = args[self.position]
        if chosen is None:
            return False
        if isinstance(chosen, str):
            return chosen in self.names
        if isinstance(chosen, Iterable):
            return any(name in self.names for name in chosen)
        return False

    def __repr__(self) -> str:
        return f"routes({self.router!r}, {', '.join(map(repr, sorted(self.names)))})"


def routes(router: str, *names: str) -> Route:
    """A condition for a branch: true when step ``router`` returned one of ``names``.

    The router returns a name, a list or set of names (several branches), or ``None``
    (none). The branch must depend on ``router``; its other dependencies are free.

    Args:
        router: The id of the router step.
        *names: The names that select this branch (at least one).

    Returns:
        A condition for ``Step(..., when=...)``.

    Raises:
        OptionTypeError: No name, or a name that is not a string (also a ``TypeError``).

    Example:
        >>> from rxsteps import Step
        >>> Step("web", lambda route: "searched", ["router"], when=routes("router", "web")).when
        routes('router', 'web')
    """
    if not isinstance(router, str) or not names or not all(isinstance(n, str) for n in names):
        raise OptionTypeError(f"routes({router!r}, ...) needs the router's step id and at "
                              f"least one route name, all strings; got names {names!r}",
                              "names")
    return Route(router, frozenset(names))
