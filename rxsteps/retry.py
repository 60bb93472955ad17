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

import random
from collections.abc import Callable
from dataclasses import dataclass, field

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
        ValueError: ``attempts < 1``, a negative delay, ``multiplier < 1`` or a jitter
            outside ``[0, 1]``.
        TypeError: ``on`` is neither exception types nor a callable.

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
            raise TypeError(f"Retry: attempts must be an int, got {self.attempts!r}")
        if self.attempts < 1:
            raise ValueError(f"Retry: attempts must be at least 1, got {self.attempts}")
        if self.backoff < 0:
            raise ValueError(f"Retry: backoff must not be negative, got {self.backoff}")
        if self.max_backoff < 0:
            raise ValueError(f"Retry: max_backoff must not be negative, got {self.max_backoff}")
        if self.multiplier < 1:
            raise ValueError(f"Retry: multiplier must be at least 1, got {self.multiplier}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"Retry: jitter must be between 0 and 1, got {self.jitter}")
        if not (_is_error_types(self.on) or callable(self.on)):
            raise TypeError(
                f"Retry: on must be exception types or a predicate, got {self.on!r}"
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
        base = min(self.max_backoff, self.backoff * self.multiplier ** (attempt - 1))
        if self.jitter:
            base += random.uniform(0.0, base * self.jitter)
        return base


def _is_error_types(value: object) -> bool:
    if isinstance(value, type):
        return issubclass(value, BaseException)
    return (
        isinstance(value, tuple)
        and bool(value)
        and all(isinstance(t, type) and issubclass(t, BaseException) for t in value)
    )
