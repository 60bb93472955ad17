"""Step values as the CLI shows them: marked JSON, the text of a stream, one-line views.

- :func:`json_value` turns a value into JSON without losing what it was: plain JSON
  stays as it is, anything else becomes a marker object ``{"$repr": ..., "$type": ...}``
  (a ``Decimal``, a set, ``NaN``, a dict with non-string keys), so a reader can tell
  the string ``"nan"`` from the float ``nan``;
- :func:`stream_text` is the whole text of a stream of strings;
- :func:`one_line` fits a value on one line of a given width.

Example:
    >>> from decimal import Decimal
    >>> json_value({"price": Decimal("1.10"), "tags": ("a", "b")})
    {'price': {'$repr': "Decimal('1.10')", '$type': 'decimal.Decimal'}, 'tags': ['a', 'b']}
    >>> stream_text(["hello", "big", "world"])
    'hello big world'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = ["MARK", "json_value", "marked", "one_line", "stream_text", "type_name"]

#: The key that marks a value JSON cannot hold; its ``"$type"`` names the Python type.
MARK = "$repr"


def json_value(value: Any) -> Any:
    """``value`` as JSON, with every part JSON cannot hold exactly marked.

    ``None``, ``bool``, ``int``, ``str``, finite ``float``, lists and tuples (as arrays)
    and dicts with string keys are kept (recursively). Anything else — including
    ``NaN`` and the infinities, subclasses such as enums, a dict with a non-string key
    or with a ``"$repr"`` key of its own, and a container that holds itself — becomes
    ``{"$repr": repr(value), "$type": "module.Type"}`` (``"float"``, ``"set"`` for
    built-in types).

    Args:
        value: A step's value.

    Returns:
        Something ``json.dumps(..., allow_nan=False)`` accepts.

    Example:
        >>> json_value([1, "nan", float("nan")])
        [1, 'nan', {'$repr': 'nan', '$type': 'float'}]
        >>> json_value({1: "a"})
        {'$repr': "{1: 'a'}", '$type': 'dict'}
    """
    try:
        return _convert(value, set())
    except RecursionError:  # nested deeper than Python can walk: mark it whole
        return marked(value)


def marked(value: Any) -> dict[str, str]:
    """The marker object of a value JSON cannot hold.

    Args:
        value: Any value.

    Returns:
        ``{"$repr": repr(value), "$type": type_name(value)}``; a ``repr`` that raises
        is described instead of propagated.

    Example:
        >>> marked({1, 2})
        {'$repr': '{1, 2}', '$type': 'set'}
    """
    try:
        text = repr(value)
    except Exception as error:  # a user's __repr__ may fail; the run's output must not
        text = f"<{type_name(value)} object; repr() raised {type(error).__name__}>"
    return {MARK: text, "$type": type_name(value)}


def type_name(value: Any) -> str:
    """The qualified name of ``value``'s type, without ``builtins.``.

    Args:
        value: Any value.

    Returns:
        ``"decimal.Decimal"``, ``"float"``...

    Example:
        >>> from decimal import Decimal
        >>> type_name(Decimal(1)), type_name(1.5)
        ('decimal.Decimal', 'float')
    """
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def _convert(value: Any, active: set[int]) -> Any:
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if math.isfinite(value) else marked(value)
    if kind not in (list, tuple, dict) or id(value) in active:
        return marked(value)
    if kind is dict and (MARK in value or not all(type(key) is str for key in value)):
        return marked(value)
    active.add(id(value))
    try:
        if kind is dict:
            return {key: _convert(item, active) for key, item in value.items()}
        return [_convert(item, active) for item in value]
    finally:
        active.discard(id(value))


def stream_text(values: Sequence[Any]) -> str | None:
    """The text of a stream of strings, or ``None`` if any value is not a string.

    Values that carry their own spacing (any starts or ends with whitespace, as the
    deltas of a language model do) are joined as they are; bare words are joined
    with a space.

    Args:
        values: The values a step emitted, in order.

    Returns:
        The joined text, or ``None`` (no values, or not all ``str``).

    Example:
        >>> stream_text(["Hel", "lo", " world"]), stream_text(["a", 1])
        ('Hello world', None)
    """
    if not values or not all(isinstance(value, str) for value in values):
        return None
    spaced = any(value[:1].isspace() or value[-1:].isspace() for value in values)
    return "".join(values) if spaced else " ".join(values)


def one_line(text: str, width: int, *, keep_end: bool = False) -> str:
    """``text`` on one line of at most ``width`` characters, cut with ``…``.

    Whitespace runs (newlines included) become single spaces.

    Args:
        text: Any text.
        width: The most characters to return (at least 1).
        keep_end: Keep the end of the text (the newest part of a stream) rather than
            its start.

    Returns:
        The line.

    Example:
        >>> one_line("the quick\\nbrown fox", 12), one_line("the quick brown fox", 8, keep_end=True)
        ('the quick b…', '…own fox')
    """
    flat = " ".join(text.split())
    width = max(width, 1)
    if len(flat) <= width:
        return flat
    return "…" + flat[len(flat) - width + 1:] if keep_end else flat[: width - 1] + "…"
