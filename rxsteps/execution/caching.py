"""Step caching (``Step(..., cache=True)``) on a durable run's store: :class:`StepCache`.

Before a durable run starts, each cached step's action is wrapped
(:meth:`StepCache.wrap`): the wrapper computes the key — the step id, its ``version``
(default: a hash of the action's code, :func:`code_version`) and a hash of the
serialised arguments, or what the step's key function returns — and asks the store.
A hit returns (or, for a generator, yields one by one) the cached values without
calling the action; a miss calls it and caches what it produced when it ends. The
wrapper runs where the action would have — a driver thread or the run's loop, never
under the run's lock.

State: ``calls`` and ``hits`` per step (a lock guards them: calls of different steps
run on different threads). :meth:`StepCache.mark` reads them on the delivery thread to
flag a step whose every call was a hit: its SUCCEEDED event carries
``reason="cached"``, and the run's result lists it in ``result.cached`` with its
attempts' outcome ``"cached"`` (a distinct look in the timeline).

Example:
    >>> code_version(lambda x: x + 1) == code_version(lambda x: x + 1)
    True
    >>> code_version(lambda x: x + 1) == code_version(lambda x: x + 2)
    False
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import threading
import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..errors import StepDefinitionError, StepTypeError, StoreValueError
from ..result import RunResult
from ..step import Step
from ..stores import Serializer, Store
from .node import Node

__all__ = ["StepCache", "code_version"]

log = logging.getLogger("rxsteps")


def code_version(action: Any) -> str:
    """A hash of the code an action runs: its bytecode, constants and names (nested
    functions' too), not where it is defined; ``"0"`` for an action without code."""
    while isinstance(action, functools.partial):
        action = action.func
    code = getattr(action, "__code__", None)
    if code is None:
        code = getattr(vars(type(action)).get("__call__"), "__code__", None)
    if code is None:
        return "0"
    digest = hashlib.sha256()
    _feed(digest, code)
    return digest.hexdigest()[:16]


def _feed(digest: Any, code: types.CodeType) -> None:
    digest.update(code.co_code)
    digest.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _feed(digest, const)
        else:
            digest.update(repr(const).encode())


class StepCache:
    """The cache of one run's steps in its store; see the module docstring.

    Args:
        store: The run's store.
        serializer: How values (and, for the key, arguments) are serialised.
    """

    def __init__(self, store: Store, serializer: Serializer) -> None:
        self.store = store
        self.serializer = serializer
        self.calls: dict[str, int] = {}
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()

    def wrap(self, nodes: Mapping[str, Node]) -> None:
        """Give each cached step's node the caching action (before the run starts).

        Raises:
            StepDefinitionError: A cached step whose action is of a kind the cache
                cannot wrap (async generators, runnables).
        """
        for node in nodes.values():
            if node.step.cache is not False:
                node.step = self._wrapped(node.step)

    def _wrapped(self, step: Step) -> Step:
        make = _WRAPPERS.get(step.kind)
        if make is None:
            raise StepDefinitionError(
                f"step {step.id!r}: cache= works with functions, generators and coroutine "
                f"functions; this action is a {step.kind}; drop cache= or wrap it in a "
                "function", step.id, "cache")
        version = step.version or code_version(step.action)
        return dataclasses.replace(step, action=make(self, step, version))

    def key(self, step: Step, version: str, args: tuple[Any, ...]) -> str:
        """The cache key of one call: step, version and the arguments (or the step's
        key function's answer)."""
        if step.cache is True:
            try:
                raw = hashlib.sha256(self.serializer.dumps(args)).hexdigest()
            except Exception as error:
                raise StoreValueError(
                    f"step {step.id!r}: cannot make its cache key: its arguments cannot be "
                    f"serialised with {self.serializer.name} ({type(error).__name__}: "
                    f"{error}); pass cache=<a function of the arguments returning a str>",
                    self.store.name, step.id) from error
        else:
            raw = step.cache(*args)  # type: ignore[operator]
            if not isinstance(raw, str):
                raise StepTypeError(f"step {step.id!r}: its cache key function returned "
                                    f"{type(raw).__name__} {raw!r}; it must return a str",
                                    step.id, "cache")
        return hashlib.sha256(f"{step.id}\0{version}\0{raw}".encode()).hexdigest()

    def get(self, step: str, key: str, ttl: float | None) -> list[Any] | None:
        """The cached values of a call, counting the call and the hit; ``None``: a miss."""
        try:
            found = self.store.cache_get(key, ttl)
            values = None if found is None else [self.serializer.loads(v) for v in found]
        except Exception as error:  # an unreadable entry is a miss
            log.warning("rxsteps: cache of step %r unreadable in store %r; calling it",
                        step, self.store.name, exc_info=error)
            values = None
        with self._lock:
            self.calls[step] = self.calls.get(step, 0) + 1
            if values is not None:
                self.hits[step] = self.hits.get(step, 0) + 1
        return values

    def put(self, step: str, key: str, values: list[Any]) -> None:
        """Cache a call's values (a value that cannot be serialised fails the step
        through the run's own check, so here it is only logged)."""
        try:
            self.store.cache_put(key, step, [self.serializer.dumps(v) for v in values])
        except Exception as error:
            log.warning("rxsteps: could not cache step %r in store %r", step,
                        self.store.name, exc_info=error)

    def fully_cached(self, step: str) -> bool:
        """Whether every call of ``step`` so far was a hit."""
        with self._lock:
            calls = self.calls.get(step, 0)
            return calls > 0 and self.hits.get(step, 0) == calls

    def mark(self, result: RunResult) -> None:
        """Flag the fully cached steps in the run's result (the delivery thread)."""
        cached = frozenset(s for s in self.calls if self.fully_cached(s))
        result.cached = cached
        for attempt in result.attempts:
            if attempt.step in cached and attempt.outcome == "succeeded":
                attempt.outcome = "cached"


def _function(cache: StepCache, step: Step, version: str) -> Any:
    action, ttl = step.action, step.cache_ttl

    def cached(*args: Any) -> Any:
        key = cache.key(step, version, args)
        hit = cache.get(step.id, key, ttl)
        if hit is not None:
            return hit[-1] if hit else None
        value = action(*args)
        cache.put(step.id, key, [value])
        return value
    return cached


def _generator(cache: StepCache, step: Step, version: str) -> Any:
    action, ttl = step.action, step.cache_ttl

    def cached(*args: Any) -> Iterator[Any]:
        key = cache.key(step, version, args)
        hit = cache.get(step.id, key, ttl)
        if hit is not None:
            yield from hit  # replayed one by one, as they streamed
            return
        values = []
        for value in action(*args):
            values.append(value)
            yield value
        cache.put(step.id, key, values)
    return cached


def _coroutine(cache: StepCache, step: Step, version: str) -> Any:
    action, ttl = step.action, step.cache_ttl

    async def cached(*args: Any) -> Any:
        key = cache.key(step, version, args)
        hit = cache.get(step.id, key, ttl)
        if hit is not None:
            return hit[-1] if hit else None
        value = await action(*args)
        cache.put(step.id, key, [value])
        return value
    return cached


_WRAPPERS: dict[str, Callable[[StepCache, Step, str], Any]] = {
    "function": _function, "generator": _generator, "coroutine": _coroutine,
}
