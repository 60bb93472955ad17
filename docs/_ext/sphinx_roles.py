"""A griffe extension for the API reference: Sphinx roles in docstrings become links.

rxsteps docstrings cross-reference with Sphinx roles (``:class:`~rxsteps.RunResult```,
``:func:`run```), which Markdown would print literally. This extension rewrites each
role, once griffe has loaded the package, into an *optional* mkdocs-autorefs reference: a link
when the target is documented on some page, plain code otherwise. Optional references
never fail ``mkdocs build --strict``; an unresolved one is logged at debug level.
It also turns ``Example:`` headings into ``Examples:`` (the Google-style section that
renders doctests as code) and drops RST ``::`` literal-block markers. First of all, it
expands the ``{run options: ...}`` lines of the front doors' docstrings into the
shared Args entries (:func:`rxsteps._options_doc.expand`, what ``@shared_options`` does
to ``__doc__`` at import), so the reference shows every argument.

Loaded by mkdocstrings (``extensions:`` in ``mkdocs.yml``); not part of the package.
"""

from __future__ import annotations

import html
import importlib
import re
from typing import Any

import griffe

from rxsteps._options_doc import expand

# :role:`target`, :role:`~target`, :role:`title <target>` (also :py:role:)
_ROLE = re.compile(r":(?:py:)?(?P<role>[a-z]+):`(?P<body>[^`]+)`")
# An RST literal-block marker at the end of a line ("...::" then an indented block).
_LITERAL = re.compile(r"(?<=\S)::$", re.MULTILINE)
# Google style knows "Examples:"; griffe renders "Example:" as an admonition whose
# doctest lines would read as Markdown text.
_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)
try:  # the names exported by the package, to resolve short targets like `StepGraph.step`
    _PUBLIC = set(importlib.import_module("rxsteps").__all__)
except ImportError:  # pragma: no cover - the docs are built with rxsteps installed
    _PUBLIC = set()


def _identifier(target: str, obj: griffe.Object) -> str:
    """The full path a role's target most likely means, seen from ``obj``."""
    target = target.lstrip(".")
    head = target.split(".")[0]
    if head == "rxsteps":
        return target
    if head in _PUBLIC:
        return f"rxsteps.{target}"
    if "." in target:  # graphlib.CycleError, matplotlib.figure.Figure...
        return target
    for scope in (obj, obj.parent):  # a member of this class, or of the method's class
        if scope is not None and scope.is_class and head in scope.members:
            return f"{scope.path}.{target}"
    return f"{obj.module.path}.{target}"


def _replace(match: re.Match[str], obj: griffe.Object) -> str:
    body = match["body"].strip()
    explicit = re.fullmatch(r"(?P<title>.+?)\s*<(?P<target>[^>]+)>", body)
    if explicit:
        title, target = explicit["title"], explicit["target"]
    else:
        target = body.lstrip("~")
        title = target.rsplit(".", 1)[-1] if body.startswith("~") else target
    if match["role"] in ("func", "meth"):
        title += "()"
    identifier = html.escape(_identifier(target.lstrip("~"), obj), quote=True)
    return (
        f'<autoref identifier="{identifier}" optional><code>{html.escape(title)}</code></autoref>'
    )


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles, ``::`` markers and ``Example:`` headings in every
    docstring griffe loads."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        docstring = obj.docstring
        if docstring is None:
            return
        text = _ROLE.sub(lambda m: _replace(m, obj), expand(docstring.value))
        text = _EXAMPLE.sub(r"\1Examples:", text)
        docstring.value = _LITERAL.sub(":", text)
