"""``--limit NAME=N`` and ``--rate NAME=SPEC``: a run's resources, from the command line.

``rxsteps run`` (and ``demo``, ``runs resume``) take both options, repeated once per
resource, and pass them to the run as ``limits=`` and ``rates=`` (see
``docs/guides/limits.md``): ``--limit llm=4`` lets at most four steps that use ``"llm"``
run at once, ``--rate llm=60/min`` lets them start at most 60 times a minute (a token
bucket, so a burst of 60 may start at once after a quiet minute). Nothing here keeps
state: each function reads its strings and returns a new dict.

Example:
    >>> parse_limits(["llm=4", "web=20"])
    {'llm': 4, 'web': 20}
    >>> parse_rates(["llm=60/min"])
    {'llm': '60/min'}
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

from ..errors import OptionError, ResourceError, ResourceUsageError
from ..execution.limits import Rate
from ..graph import StepGraph

__all__ = ["ResourceUsageError", "cli_resource_error", "parse_limits", "parse_rates"]


def parse_limits(texts: Sequence[str]) -> dict[str, int]:
    """The ``limits=`` of ``--limit NAME=N`` options: each resource's capacity.

    Args:
        texts: ``NAME=N`` strings, ``N`` a positive whole number.

    Returns:
        The capacities by resource name, in the order given.

    Raises:
        ResourceUsageError: A text without ``=`` or a name, a capacity that is not a
            positive whole number, or a resource given twice.

    Example:
        >>> parse_limits(["llm=4", " web = 20 "])
        {'llm': 4, 'web': 20}
        >>> parse_limits(["llm=4", "llm=2"])
        Traceback (most recent call last):
        ...
        rxsteps.errors.ResourceUsageError: --limit 'llm' is given twice; give \
each resource once
    """
    limits: dict[str, int] = {}
    for text in texts:
        name, raw = _pair(text, "--limit", "N")
        units = raw.strip()
        if not units.isdigit() or int(units) < 1:
            raise ResourceUsageError(
                f"--limit {text}: the capacity must be a positive whole number, such as "
                f"--limit {name}=4", "--limit", name)
        _once(limits, name, "--limit")
        limits[name] = int(units)
    return limits


def parse_rates(texts: Sequence[str]) -> dict[str, str]:
    """The ``rates=`` of ``--rate NAME=SPEC`` options, each spec checked now.

    A spec is what ``rates=`` takes: ``N/s``, ``N/min`` or ``N/h`` (also ``sec``,
    ``second``, ``minute``, ``hour``), ``N`` a positive whole number.

    Args:
        texts: ``NAME=SPEC`` strings.

    Returns:
        The specs by resource name, as given (without surrounding spaces).

    Raises:
        ResourceUsageError: A text without ``=`` or a name, a malformed spec (the
            cause is the :class:`~rxsteps.OptionError` of ``rates=``), or a resource
            given twice.

    Example:
        >>> parse_rates(["llm=60/min", "web=5/s"])
        {'llm': '60/min', 'web': '5/s'}
        >>> parse_rates(["llm=fast"])
        Traceback (most recent call last):
        ...
        rxsteps.errors.ResourceUsageError: --rate llm=fast: a rate looks like \
60/min, 5/s or 1000/h, such as --rate llm=60/min
    """
    rates: dict[str, str] = {}
    for text in texts:
        name, raw = _pair(text, "--rate", "SPEC")
        spec = raw.strip()
        try:
            Rate.parse(spec)
        except OptionError as error:
            raise ResourceUsageError(
                f"--rate {text}: a rate looks like 60/min, 5/s or 1000/h, such as "
                f"--rate {name}=60/min", "--rate", name) from error
        _once(rates, name, "--rate")
        rates[name] = spec
    return rates


def cli_resource_error(error: ResourceError, graph: StepGraph, limits: Mapping[str, int],
                       rates: Mapping[str, str]) -> ResourceUsageError:
    """``error`` (a step's ``uses`` the run's limits cannot serve), told in the
    command line's words: which option to add or raise.

    Args:
        error: The :class:`~rxsteps.ResourceError` the run refused with.
        graph: The graph that was to run.
        limits: What :func:`parse_limits` returned.
        rates: What :func:`parse_rates` returned.

    Returns:
        The error to raise instead (from ``error``).

    Example:
        >>> from rxsteps import ResourceError, Step, StepGraph
        >>> graph = StepGraph([Step("ask", lambda: 1, uses={"llm": 3})])
        >>> print(cli_resource_error(ResourceError("...", "ask", "llm"), graph,
        ...                          {"llm": 2}, {}))
        step 'ask' needs 3 units of 'llm' but --limit llm=2, so it could never start; \
raise it to --limit llm=3 or lower the step's uses
        >>> print(cli_resource_error(ResourceError("...", "ask", "lm"), graph, {}, {}))
        step 'ask' uses resource 'lm', which no --limit or --rate names (known: none); \
add --limit lm=N or --rate lm=SPEC
    """
    step, name = error.step, error.resource
    known = sorted(limits.keys() | rates.keys())
    if name in limits:
        units = dict(graph[step].uses).get(name, 0) if step in graph else 0
        message = (f"step {step!r} needs {units} units of {name!r} but --limit "
                   f"{name}={limits[name]}, so it could never start; raise it to --limit "
                   f"{name}={units} or lower the step's uses")
    else:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        listed = ", ".join(map(repr, known)) or "none"
        message = (f"step {step!r} uses resource {name!r}, which no --limit or --rate names "
                   f"({hint}known: {listed}); add --limit {name}=N or --rate {name}=SPEC")
    return ResourceUsageError(message, "--limit", name)


def _pair(text: str, option: str, what: str) -> tuple[str, str]:
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ResourceUsageError(f"{option} expects NAME={what}, got {text!r}", option, None)
    return name, raw


def _once(seen: Mapping[str, object], name: str, option: str) -> None:
    if name in seen:
        raise ResourceUsageError(f"{option} {name!r} is given twice; give each resource once",
                                 option, name)
