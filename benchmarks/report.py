"""Markdown for the tables every section prints.

Example:
    >>> print(markdown(["a", "b"], [["1", "2"]]))
    | a | b |
    |---|---|
    | 1 | 2 |
    >>> cell({"status": "timeout", "timeout_s": 30}, lambda r: "x")
    'timed out after 30 s'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["cell", "markdown", "ratio"]


def markdown(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def cell(record: dict[str, Any] | None, show: Callable[[dict[str, Any]], str]) -> str:
    """``show(record)`` when the record is a result, else why there is none."""
    if record is None:
        return "—"
    status = record.get("status")
    if status == "ok":
        return show(record)
    if status == "timeout":
        return f"timed out after {record['timeout_s']:g} s"
    if status == "skipped":
        return f"skipped: {record['why']}"
    return "error (see JSON)"


def ratio(numerator: float | None, denominator: float | None) -> str:
    """``a ÷ b`` to two decimals, or a dash when either is missing."""
    if numerator is None or not denominator:
        return "—"
    return f"{numerator / denominator:.2f}"
