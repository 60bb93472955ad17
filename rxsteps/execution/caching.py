"""Step caching (``Step(..., cache=True)``) on a durable run's store: :class:`StepCache`.

Before a durable run starts, each cached step's action is wrapped
(:meth:`StepCache.wrap`): the wrapper computes the key — the step id, its ``version``
(default: a hash of the action's code and of the values bound to it,
:func:`code_version`, which refuses values that may change, such as a list or a
client, asking for ``version=``) and a hash of the
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
import enum
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
    """A hash of what an action runs: its code — bytecode, constants and names, nested
    functions' too, not where it is defined — and the values bound to it: a
    ``functools.partial``'s arguments and keywords, defaults (``__defaults__``,
    ``__kwdefaults__``), the contents of its closure's cells, and the object of a bound
    method (or of a callable object); ``"0"`` for an action with none of them (a
    builtin such as ``len``).

    Bound values are hashed by value when they are immutable data (``None``, numbers,
    ``str``, ``bytes``, tuples and frozensets of them, frozen dataclasses, enums),
    functions (hashed the same way), classes or modules (by name).

    Raises:
        UnstableVersion: A bound value is of another kind — a list, a dict, a client,
            any object whose state may change between runs — so its version cannot be
            told from it; the step needs ``version=``.
    """
    digest = hashlib.sha256()
    if not _callable(digest, action, set(), "its action"):
        return "0"
    return digest.hexdigest()[:16]


class UnstableVersion(Exception):
    """A value bound to a cached action that its version cannot be computed from.

    Attributes:
        where: Which value (``"its closure variable 'client'"``).
        value: The value.
    """

    def __init__(self, where: str, value: Any) -> None:
        super().__init__(where)
        self.where = where
        self.value = value


def _callable(digest: Any, action: Any, seen: set[int], where: str) -> bool:
    """Feed an action's code and bound values; whether it had any code."""
    if id(action) in seen:  # a function in its own closure (recursion)
        digest.update(b"<again>")
        return True
    seen.add(id(action))
    if isinstance(action, functools.partial):
        digest.update(b"<partial>")
        _value(digest, action.args, seen, f"{where}'s partial arguments")
        _keywords(digest, action.keywords, seen, f"{where}'s partial keyword")
        _callable(digest, action.func, seen, where)
        return True
    if isinstance(action, types.MethodType):
        _value(digest, action.__self__, seen, f"{where}'s object")
        action = action.__func__
    if isinstance(action, types.BuiltinFunctionType) and _owner(action) is not None:
        _value(digest, action, seen, where)  # ``calls.append``: the list counts
        return True
    code = getattr(action, "__code__", None)
    if code is None and callable(getattr(action, "__wrapped__", None)):
        return _callable(digest, action.__wrapped__, seen, where)  # functools.lru_cache…
    if code is None:
        return _callable_object(digest, action, seen, where)
    _feed(digest, code)
    _value(digest, getattr(action, "__defaults__", None), seen, f"{where}'s defaults")
    _keywords(digest, getattr(action, "__kwdefaults__", None), seen, f"{where}'s default")
    for name, cell in zip(code.co_freevars, getattr(action, "__closure__", None) or (),
                          strict=False):
        try:
            contents = cell.cell_contents
        except ValueError:  # not bound yet
            contents = None
        _value(digest, contents, seen, f"{where}'s closure variable {name!r}")
    return True


def _callable_object(digest: Any, action: Any, seen: set[int], where: str) -> bool:
    """Feed an object with a ``__call__`` written in Python: its method's code and the
    object's own state (a frozen dataclass's fields); whether it had any code."""
    code = getattr(vars(type(action)).get("__call__"), "__code__", None)
    if code is None:
        return False
    _feed(digest, code)
    if not _frozen_dataclass(action):
        raise UnstableVersion(where, action)
    _fields(digest, action, seen, where)
    return True


def _keywords(digest: Any, keywords: Mapping[str, Any] | None, seen: set[int],
              where: str) -> None:
    """Feed the keyword values of a partial or a function's keyword-only defaults."""
    for key in sorted(keywords or {}):
        digest.update(f"{key}=".encode())
        _value(digest, keywords[key], seen, f"{where} {key!r}")  # type: ignore[index]


_PLAIN = (type(None), bool, int, float, complex, str, bytes)
_FUNCTIONS = (types.FunctionType, types.MethodType, functools.partial)
_BUILTINS = (types.BuiltinFunctionType, types.MethodDescriptorType,
             types.WrapperDescriptorType, types.ModuleType, type)


def _value(digest: Any, value: Any, seen: set[int], where: str) -> None:
    """Feed a value bound to an action, or raise :class:`UnstableVersion`."""
    kind = type(value)
    if kind in _PLAIN:
        digest.update(f"{kind.__name__}:{value!r};".encode())
    elif kind in (tuple, frozenset) or (isinstance(value, tuple) and hasattr(kind, "_fields")):
        parts = [_member(item, seen, where) for item in value]
        digest.update(f"{_name(kind)}(".encode())
        for part in sorted(parts) if kind is frozenset else parts:
            digest.update(part)
        digest.update(b")")
    elif isinstance(value, enum.Enum):
        digest.update(f"{_name(kind)}.{value.name};".encode())
    elif isinstance(value, _BUILTINS):
        owner = _owner(value)
        if owner is not None:  # ``calls.append``: the list counts
            _value(digest, owner, seen, f"{where}'s object")
        digest.update(f"<{_name(value)}>".encode())
    elif isinstance(value, _FUNCTIONS):
        _callable(digest, value, seen, where)
    elif _frozen_dataclass(value):
        _fields(digest, value, seen, where)
    else:
        raise UnstableVersion(where, value)


def _owner(builtin: Any) -> Any:
    """The object a builtin is bound to (``calls.append``: the list), or ``None`` for
    one of a module or a class (``len``, ``dict.fromkeys``)."""
    owner = getattr(builtin, "__self__", None)
    return None if isinstance(owner, (type, types.ModuleType)) else owner


def _member(value: Any, seen: set[int], where: str) -> bytes:
    """The digest of one member of a tuple or frozenset."""
    digest = hashlib.sha256()
    _value(digest, value, seen, where)
    return digest.digest()


def _fields(digest: Any, value: Any, seen: set[int], where: str) -> None:
    """Feed a frozen dataclass: its class and each field."""
    digest.update(f"{_name(type(value))}(".encode())
    for field in dataclasses.fields(value):
        _value(digest, getattr(value, field.name), seen, f"{where} (.{field.name})")
    digest.update(b")")


def _frozen_dataclass(value: Any) -> bool:
    params = getattr(type(value), "__dataclass_params__", None)
    return params is not None and bool(params.frozen)


def _name(thing: Any) -> str:
    """``module.qualname`` of a class, function or module."""
    qualname = getattr(thing, "__qualname__", None) or getattr(thing, "__name__", "")
    return f"{getattr(thing, '__module__', None) or ''}.{qualname}"


def _feed(digest: Any, code: types.CodeType) -> None:
    digest.update(code.co_code)
    digest.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _feed(digest, const)
        else:
            digest.update(repr(const).encode())


def _default_version(step: Step) -> str:
    """The version of a cached step without ``version=``: :func:`code_version`.

    Raises:
        StepDefinitionError: A value bound to the action cannot be hashed stably.
    """
    try:
        return code_version(step.action)
    except UnstableVersion as unstable:
        raise StepDefinitionError(
            f"step {step.id!r}: cache= cannot tell when its action changes: "
            f"{unstable.where} is {_short(unstable.value)}, whose value may change "
            "between runs; pass version='...' (and change it when that value changes), "
            "or bind only plain data (numbers, str, tuples, frozen dataclasses)",
            step.id, "version") from None


def _short(value: Any) -> str:
    """``a list ([1, 2])`` — a value's type and the start of its repr, for messages."""
    text = repr(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name} ({text})"


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
        version = step.version or _default_version(step)
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
