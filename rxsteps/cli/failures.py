"""Where a step failed: its own traceback, without the frames of rxsteps and reactivex.

A step's exception keeps its ``__traceback__``, but most of the frames in it are the
engine's (the worker thread, rxsteps' invoke code, reactivex's operators) and say
nothing about the step. :func:`user_frames` keeps the frames of the step's own code
(and what it called), :func:`location` names the line it failed on as
``file:line in function``, and :func:`format_traceback` is the traceback a user wants
to read — the same text Python prints, chained exceptions included, with the engine's
frames left out.

Example:
    >>> def parse(text):
    ...     return int(text)
    >>> try:
    ...     parse("x")
    ... except ValueError as caught:
    ...     error = caught
    >>> location(error).endswith(" in parse")
    True
    >>> print(format_traceback(error).splitlines()[-1])
    ValueError: invalid literal for int() with base 10: 'x'
"""

from __future__ import annotations

import os
import sysconfig
import traceback
from pathlib import Path

import reactivex

__all__ = ["describe_error", "format_traceback", "location", "user_frames"]

#: Folders whose frames are the engine's, never a step's.
_ENGINE = (
    str(Path(reactivex.__file__ or ".").resolve().parent) + os.sep,
    str(Path(__file__).resolve().parents[1]) + os.sep,
)
#: The bundled demo's steps live in rxsteps, but they are the "user code" of the demo.
_DEMO = str(Path(__file__).resolve().with_name("demo.py"))
#: Folders of Python's own library (the worker threads and event loops start there).
_STDLIB = tuple(
    {str(Path(sysconfig.get_paths()[key]).resolve()) + os.sep for key in ("stdlib", "platstdlib")}
)
_PACKAGES = tuple(
    {str(Path(sysconfig.get_paths()[key]).resolve()) + os.sep for key in ("purelib", "platlib")}
)


def describe_error(error: BaseException | None) -> str:
    """An exception as ``"ValueError: boom"``, on one line.

    Args:
        error: The exception, or ``None``.

    Returns:
        Its type and message with whitespace collapsed (``""`` for ``None``).

    Example:
        >>> describe_error(ValueError("bad\\ninput"))
        'ValueError: bad input'
    """
    if error is None:
        return ""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def user_frames(stack: traceback.StackSummary) -> traceback.StackSummary:
    """The frames of ``stack`` that belong to the step, not to the engine.

    Every frame in rxsteps or reactivex goes, and so do the frames of Python's own
    library that come before the first frame of user code (the worker thread, the
    event loop); library frames the step's code called into stay, as Python shows them.

    Args:
        stack: The frames of a traceback, outermost first.

    Returns:
        The frames to show, outermost first (empty when the engine raised the error
        itself, as for a timeout).

    Example:
        >>> import threading, traceback
        >>> import rxsteps.execution.run as engine
        >>> stack = traceback.StackSummary.from_list([
        ...     (threading.__file__, 1, "run", None), (engine.__file__, 2, "invoke", None),
        ...     ("flows.py", 12, "boom", None), (threading.__file__, 3, "wait", None)])
        >>> [frame.name for frame in user_frames(stack)]
        ['boom', 'wait']
    """
    frames = [frame for frame in stack if not _is_in(frame.filename, _ENGINE)]
    while frames and _is_in(frames[0].filename, _STDLIB):
        frames.pop(0)
    return traceback.StackSummary.from_list(frames)


def location(error: BaseException) -> str | None:
    """Where the step's own code raised ``error``: ``"flows.py:12 in parse"``.

    The innermost frame of the user's code (not rxsteps, reactivex, Python's library or
    an installed package), else the innermost frame :func:`user_frames` keeps. The
    file is relative to the current folder when it is inside it.

    Args:
        error: The step's exception, with its ``__traceback__``.

    Returns:
        ``"file:line in function"``, or ``None`` when no frame is the step's (a timeout,
        or an exception that was never raised).

    Example:
        >>> location(ValueError("never raised")) is None
        True
    """
    frames = user_frames(traceback.extract_tb(error.__traceback__))
    if not frames:
        return None
    own = [f for f in frames if not _is_in(f.filename, _STDLIB + _PACKAGES)]
    frame = (own or frames)[-1]
    return f"{_shown_path(frame.filename)}:{frame.lineno} in {frame.name}"


def format_traceback(error: BaseException) -> str:
    """The traceback of ``error`` as Python prints it, with only :func:`user_frames`.

    Chained exceptions (``raise ... from``, or raised while handling another) are kept,
    each with its own frames pruned the same way.

    Args:
        error: The step's exception.

    Returns:
        The text, ending with a newline.

    Example:
        >>> format_traceback(KeyError("k"))
        "KeyError: 'k'\\n"
    """
    summary = traceback.TracebackException.from_exception(error)
    _prune(summary, set())
    return "".join(summary.format())


def _prune(summary: traceback.TracebackException, seen: set[int]) -> None:
    if id(summary) in seen:
        return
    seen.add(id(summary))
    summary.stack = user_frames(summary.stack)
    chained = [summary.__cause__, summary.__context__, *(summary.exceptions or ())]
    for other in chained:
        if other is not None:
            _prune(other, seen)


def _is_in(filename: str, folders: tuple[str, ...]) -> bool:
    if filename.startswith("<"):
        return False
    try:
        resolved = str(Path(filename).resolve())
    except OSError:
        return False
    return resolved.startswith(folders) and resolved != _DEMO


def _shown_path(filename: str) -> str:
    try:
        relative = Path(filename).resolve().relative_to(Path.cwd().resolve())
    except (OSError, ValueError):
        return filename
    return str(relative)
