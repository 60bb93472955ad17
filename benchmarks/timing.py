"""The timers every benchmark (and the soak test) shares.

Example:
    >>> samples = time_each(lambda: sum(range(100)), reps=5)
    >>> len(samples), min(samples) >= 0
    (5, True)
    >>> median_of(lambda: None, reps=3) >= 0
    True
    >>> percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50)
    3.0
"""

from __future__ import annotations

import gc
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["best_of", "median_of", "peak_rss_bytes", "percentile", "time_each"]


def time_each(fn: Callable[[], Any], *, reps: int, warmup: int = 0,
              check: Callable[[Any], None] | None = None) -> list[float]:
    """Seconds of each of ``reps`` calls of ``fn`` after ``warmup`` untimed calls.

    ``gc.collect()`` runs, untimed, before every call; the collector stays enabled.

    Args:
        fn: What one sample runs.
        reps: Timed calls.
        warmup: Calls before them, not timed (still checked).
        check: Called with every return value, outside the timing (raise to fail).

    Returns:
        The ``reps`` wall-clock durations, in seconds, in the order they ran.
    """
    samples: list[float] = []
    for i in range(warmup + reps):
        gc.collect()
        start = time.perf_counter()
        value = fn()
        elapsed = time.perf_counter() - start
        if check is not None:
            check(value)
        del value
        if i >= warmup:
            samples.append(elapsed)
    return samples


def median_of(fn: Callable[[], Any], *, reps: int, warmup: int = 0) -> float:
    """The median of :func:`time_each`'s samples, in seconds."""
    return statistics.median(time_each(fn, reps=reps, warmup=warmup))


def best_of(fn: Callable[[], Any], *, reps: int, warmup: int = 0) -> float:
    """The fastest of :func:`time_each`'s samples, in seconds."""
    return min(time_each(fn, reps=reps, warmup=warmup))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, interpolated between samples."""
    if len(values) == 1:
        return values[0]
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def peak_rss_bytes() -> int:
    """This process's peak resident set size so far, in bytes.

    On Linux, the kernel's high-water mark of this process's memory (``VmHWM`` in
    ``/proc/self/status``): ``getrusage``'s ``ru_maxrss`` survives ``execve``, so in a
    child started by a bigger parent it reports the parent's size at the fork. Elsewhere,
    ``ru_maxrss`` (KiB on Linux and the BSDs, bytes on macOS).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024
