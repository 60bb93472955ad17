"""One source for the Args text of the run options every front door shares.

``run``, ``arun``, ``observe``, ``start``, ``astream``, ``pipeline`` and ``apipeline``
take the same ``limits``, ``rates``, ``priority``, ``history``, ``store``, ``run_id``,
``fresh`` and ``serializer``. Their docstrings do not repeat the text: in the Args
section, one line names the options to describe, in one of two flavours::

    {run options: limits, rates, priority}
    {pipeline options: limits, store, run_id}

and :func:`shared_options`, a decorator, replaces that line by each option's entry
(:data:`RUN_OPTIONS`, or :data:`PIPELINE_OPTIONS` where a pipeline means something
else), wrapped and indented as Google style wants, in ``__doc__`` — so ``help()`` and
doctest read the whole text. The API reference (mkdocstrings, which reads the source,
not ``__doc__``) gets the same through :func:`expand`, which the docs' griffe extension
calls. Nothing here keeps state but the two tables.

Example:
    >>> print(expand("Args:\\n    graph: The steps.\\n    {run options: fresh}"))
    Args:
        graph: The steps.
        fresh: Forget what ``store`` keeps under ``run_id`` and start over.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from typing import TypeVar

__all__ = ["PIPELINE_OPTIONS", "RUN_OPTIONS", "expand", "shared_options"]

F = TypeVar("F", bound=Callable[..., object])

_WIDTH = 92  # the longest line an entry is wrapped to, its indent included

#: Each shared option's Args entry, as one run's front doors mean it.
RUN_OPTIONS: dict[str, str] = {
    "limits": "Capacities of named resources, e.g. ``{\"llm\": 4}``, or a shared "
              ":class:`~rxsteps.Limiter`; a step's ``uses=`` waits for its units without "
              "holding a thread or a slot (see ``docs/guides/limits.md``).",
    "rates": "Rate limits per resource, e.g. ``{\"llm\": \"60/min\"}`` (token buckets).",
    "priority": "When capacity is short, start the waiting step with the longest "
                "remaining path first (``\"critical\"``, the default) or first come "
                "(``\"fifo\"``).",
    "history": "An earlier result whose measured durations weigh the priorities.",
    "store": "Keep the run here as it happens — a path (an SQLite file) or a "
             ":class:`~rxsteps.stores.Store` — so that running it again with the same "
             "``run_id`` resumes it (see ``docs/guides/durable-runs.md``).",
    "run_id": "The run's id in ``store`` (required with it).",
    "fresh": "Forget what ``store`` keeps under ``run_id`` and start over.",
    "serializer": "How ``store`` writes values: ``\"pickle\"`` (default; a store is "
                  "trusted input) or ``\"json\"``.",
}

#: The entries that mean something else for a pipeline (one run per event).
PIPELINE_OPTIONS: dict[str, str] = {
    **RUN_OPTIONS,
    "limits": "Capacities of named resources, e.g. ``{\"llm\": 4}``, or a "
              ":class:`~rxsteps.Limiter`; a mapping makes one limiter shared by all the "
              "pipeline's runs. A step's ``uses=`` waits for its units without holding a "
              "thread or a slot (see ``docs/guides/limits.md``).",
    "store": "Keep each event's run in this store (a path or a "
             ":class:`~rxsteps.stores.Store`), as for :func:`rxsteps.run`.",
    "run_id": "With ``store``: a str, each event's run being kept as "
              "``f\"{run_id}/{sequence}\"``, or a function of the event's inputs returning "
              "its run id (stable ids let a restarted pipeline skip finished events).",
    "fresh": "Forget what ``store`` keeps under those ids and start over.",
    "serializer": "``\"pickle\"`` (default) or ``\"json\"``.",
}

_TABLES = {"run": RUN_OPTIONS, "pipeline": PIPELINE_OPTIONS}
_LINE = re.compile(r"^(?P<indent>[ \t]*)\{(?P<kind>run|pipeline) options: (?P<names>[^}]*)\}"
                   r"[ \t]*$", re.MULTILINE)


def expand(doc: str) -> str:
    """``doc`` with every ``{run options: ...}`` / ``{pipeline options: ...}`` line
    replaced by those options' Args entries, at that line's indent.

    Args:
        doc: A docstring, as written or as cleaned by :func:`inspect.cleandoc`.

    Returns:
        The docstring with the entries in place (unchanged without such a line).

    Raises:
        KeyError: A line names an option the table does not have (a typo in a
            docstring: the import of the module fails, so the tests do).

    Example:
        >>> print(expand("    {pipeline options: fresh, serializer}"))
            fresh: Forget what ``store`` keeps under those ids and start over.
            serializer: ``"pickle"`` (default) or ``"json"``.
    """
    return _LINE.sub(_entries, doc)


def _entries(match: re.Match[str]) -> str:
    indent, table = match["indent"], _TABLES[match["kind"]]
    names = [name.strip() for name in match["names"].split(",") if name.strip()]
    return "\n".join(textwrap.fill(f"{name}: {table[name]}", _WIDTH, initial_indent=indent,
                                   subsequent_indent=indent + "    ",
                                   break_on_hyphens=False)
                     for name in names)


def shared_options(fn: F) -> F:
    """Expand the shared-options lines of ``fn``'s docstring in place (see
    :func:`expand`); return ``fn`` itself, unwrapped.

    Args:
        fn: A front door whose docstring names shared options.

    Returns:
        ``fn``, its ``__doc__`` complete.

    Example:
        >>> @shared_options
        ... def go(history=None):
        ...     '''Go.
        ...
        ...     Args:
        ...         {run options: history}
        ...     '''
        >>> "measured durations" in go.__doc__
        True
    """
    if fn.__doc__:
        fn.__doc__ = expand(fn.__doc__)
    return fn
