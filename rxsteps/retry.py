"""Retry policies: how many attempts a step gets, how long to wait between them, and
which errors deserve another try.

A :class:`Retry` is a frozen value object; the engine asks it two questions after a
failed attempt — :meth:`Retry.should_retry` and :meth:`Retry.delay` — and schedules the
next attempt on the run's clock (virtual time included), never with ``time.sleep``.

A streaming step (generator, async generator, observable) is retried only while it has
not emitted a value: once a value went downstream, retrying would duplicate it.

Example:
    >>> from rxsteps import Retry
    >>> policy = Retry(attempts=4, backoff=0.5, multiplier=2, max_backoff=1.5)
    >>> [policy.delay(n) for n in (1, 2, 3)]
    [0.5, 1.0, 1.5]
    >>> policy.should_retry(ValueError("flaky"), attempt=1)
    True
    >>> policy.should_retry(ValueError("flaky"), attempt=4)
    False
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import OptionError, OptionTypeError

__all__ = ["Retry"]

_ErrorTypes = type[BaseException] | tuple[type[BaseException], ...]


@dataclass(frozen=True, slots=True)
class Retry:
    """Exponential-backoff retry policy for one step.

    Args:
        attempts: Total attempts, the first included; at least 1.
        backoff: Delay in seconds before the second attempt.
        multiplier: Factor applied to the delay after each further failure.
        max_backoff: Upper bound of a delay, before jitter.
        jitter: Extra random delay, as a fraction of the delay (``0.1`` adds up to 10 %).
        on: Exception types worth retrying, or a predicate ``error -> bool``.
            :class:`~rxsteps.StepTimeoutError` is an ``Exception``, so timeouts are
            retried by default.

    Raises:
        OptionError: ``attempts < 1``, a negative, NaN or infinite ``backoff`` (an
            infinite ``max_backoff`` means no cap), ``multiplier < 1`` or a jitter
            outside ``[0, 1]``.
        OptionTypeError: A value of the wrong type; ``on`` that is neither exception
            types (a tuple, not a list) nor a predicate.

    Example:
        >>> Retry(attempts=3, on=(TimeoutError,)).should_retry(KeyError("x"), 1)
        False
    """

    attempts: int = 3
    backoff: float = 0.5
    multiplier: float = 2.0
    max_backoff: float = 30.0
    jitter: float = 0.0
    on: _ErrorTypes | Callable[[BaseException], bool] = field(default=(Exception,))

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int):
            raise OptionTypeError(f"Retry: attempts must be an int, got {self.attempts!r}",
                                  "attempts")
        if self.attempts < 1:
            raise OptionError(f"Retry: attempts must be at least 1, got {self.attempts}",
                              "attempts")
        _check_seconds("backoff", self.backoff, infinite=False)
        _check_seconds("max_backoff", self.max_backoff, infinite=True)
        _check_number("multiplier", self.multiplier)
        if self.multiplier < 1 or self.multiplier == math.inf:
            raise OptionError(f"Retry: multiplier must be at least 1 and finite, got "
                              f"{self.multiplier}", "multiplier")
        _check_number("jitter", self.jitter)
        if not 0 <= self.jitter <= 1:
            raise OptionError(f"Retry: jitter must be between 0 and 1, got {self.jitter}",
                              "jitter")
        if isinstance(self.on, list | set | frozenset):
            raise OptionTypeError(
                f"Retry: on must be an exception type, a tuple of them or a predicate; got a "
                f"{type(self.on).__name__}: use a tuple, on=({', '.join(_names(self.on))},)",
                "on",
            )
        if not (_is_error_types(self.on) or callable(self.on)):
            raise OptionTypeError(
                f"Retry: on must be an exception type, a tuple of them or a predicate "
                f"(error -> bool), got {self.on!r}", "on",
            )

    def should_retry(self, error: BaseException, attempt: int) -> bool:
        """Whether a failure of ``attempt`` (from 1) deserves another attempt."""
        if attempt >= self.attempts:
            return False
        if _is_error_types(self.on):
            return isinstance(error, self.on)  # type: ignore[arg-type]
        predicate: Callable[[BaseException], bool] = self.on  # type: ignore[assignment]
        return bool(predicate(error))

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the failure of ``attempt`` (from 1) before the next one."""
        if not self.backoff:
            return 0.0
        try:
            grown = self.backoff * self.multiplier ** (attempt - 1)
        except OverflowError:  # many attempts with a large multiplier
            grown = math.inf
        base = min(self.max_backoff, grown)
        if self.jitter:
            base += random.uniform(0.0, base * self.jitter)
        return base


def _check_number(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OptionTypeError(f"Retry: {name} must be a number, got {value!r}", name)
    if math.isnan(value):
        raise OptionError(f"Retry: {name} must be a number, got nan", name)


def _check_seconds(name: str, value: object, *, infinite: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OptionTypeError(f"Retry: {name} must be a number of seconds, got {value!r}",
                              name)
    if math.isnan(value) or value < 0 or (value == math.inf and not infinite):
        limit = " (math.inf: no cap)" if infinite else " and finite"
        raise OptionError(
            f"Retry: {name} must be a non-negative number of seconds{limit}, got {value!r}",
            name,
        )


def _names(types_: list[Any] | set[Any] | frozenset[Any]) -> list[str]:
    return [getattr(t, "__name__", repr(t)) for t in types_]


def _is_error_types(value: object) -> bool:
    if isinstance(value, type):
        return issubclass(value, BaseException)
    return (
        isinstance(value, tuple)
        and bool(value)
        and all(isinstance(t, type) and issubclass(t, BaseException) for t in value)
    )
