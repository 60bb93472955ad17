"""A step: one unit of work in a graph — an id, an action, the names it depends on, and
how to run it (timeout, retry, join policy).

The action decides how values come out:

=====================================  =======================================
action                                 values
=====================================  =======================================
plain function, coroutine function     one value (its return value)
generator, async generator function    one value per ``yield`` (streaming)
returns a ``reactivex.Observable``     one value per ``on_next`` (streaming)
object with ``invoke`` / ``ainvoke``   one value (LangChain-style runnable)
=====================================  =======================================

A step is called once per input tuple of its dependencies; ``join`` chooses how the
tuples are formed when dependencies stream (see :data:`JOINS`).

Example:
    >>> from rxsteps import Step, Retry
    >>> step = Step("answer", lambda a, b: a + b, depends=["a", "b"],
    ...             timeout=5, retry=Retry(attempts=2))
    >>> step.id, step.depends, step.kind
    ('answer', ('a', 'b'), 'function')
"""

from __future__ import annotations

import functools
import inspect
import math
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .errors import StepDefinitionError, StepTypeError
from .retry import Retry
from .routing import Route

__all__ = ["JOINS", "ActionKind", "Join", "Step"]

Join = Literal["zip", "latest", "collect"]
ActionKind = Literal["function", "coroutine", "generator", "asyncgen", "runnable"]

#: ``zip``: the n-th call gets the n-th value of every dependency (the default).
#: ``latest``: a call whenever any dependency emits, with the latest value of each.
#: ``collect``: one call after every dependency completed, with lists of all values.
JOINS: tuple[Join, ...] = ("zip", "latest", "collect")
_JOINS = frozenset(JOINS)


class _NoDefaults(Mapping[str, Any]):
    """The empty, immutable ``defaults`` of a step that names none."""

    __slots__ = ()
    __hash__ = object.__hash__  # a dataclass default must be hashable

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"


_NO_NAMES: frozenset[str] = frozenset()
_NO_DEFAULTS: Mapping[str, Any] = _NoDefaults()


@dataclass(frozen=True, eq=False)
class Step:
    """One step of a workflow.

    Args:
        id: Unique name of the step; dependents refer to it by this name.
        action: What to run (see the module docstring for the kinds accepted). It gets
            one positional argument per dependency, in ``depends`` order; a runnable
            gets a single input instead (the value, a dict by name, or ``None``).
        depends: Names of steps or graph inputs whose values this step needs.
        timeout: Seconds one attempt may take, or ``None`` for no limit. It counts
            from the moment the attempt is due (queued; a retry's, when its backoff
            ends): waiting for a ``max_concurrency`` slot, a resource, a rate-limit
            token, a worker thread or an executor's thread counts. An attempt whose
            timeout passes before it began never runs: it fails with a
            :class:`~rxsteps.StepTimeoutError` saying what it waited for (and is
            retried if ``retry`` says so).
        retry: A :class:`~rxsteps.Retry` policy, or ``None`` for a single attempt.
        join: How streaming dependencies are combined: ``"zip"``, ``"latest"`` or
            ``"collect"``.
        description: Free text, shown by drawings and the CLI.
        uses: The named resources each attempt holds while it runs: a name (one
            unit) or a mapping of name to units, e.g. ``{"llm": 1, "web": 2}``; the
            run's ``limits=`` gives their capacities and rates.
        estimate: Expected seconds per attempt, for critical-path priority when
            capacity is short (default: the mean of the other estimates, or 1 unit).
        cache: Reuse an earlier value of this step, from the run's ``store=``, when it
            is called with the same input values (``True``) or the same key
            (a function of the step's arguments returning a str), at the same
            ``version``. Streaming steps replay every cached value. Without a store
            nothing is cached.
        cache_ttl: Seconds a cached value stays usable (``None``: for ever).
        version: Part of the cache key (default: a hash of the action's code, so an
            edited function misses); change it to invalidate what is cached.
        when: A condition: a plain function given the same arguments as the action,
            asked before each call (never under the run's lock, and without taking a
            thread slot of ``max_concurrency``). False skips the call; a step none of
            whose calls ran ends SKIPPED with the reason ``"condition false"``, and the
            dependents that need it are skipped too. If it raises, the step fails
            with that exception, like an action.
        optional: Dependencies this step can do without: when one of them is skipped
            by a condition (its own, or a required dependency's), this step still
            runs and gets the dependency's default in its place. A dependency that
            *failed* still skips this step, as without ``optional``.
        defaults: The value passed for each skipped optional dependency (``None``
            for one not named here).
        map: A dependency to map over: the action is called once per item of its
            value (the item in that dependency's place, the other dependencies as
            usual), the items in parallel within ``max_concurrency``, each with the
            step's ``timeout`` and ``retry``; the step's value is the list of results
            in item order. When that dependency streams (a generator, an async
            generator, an observable), each value it emits is an item, started as
            soon as it is emitted, and the list is in emission order. The action
            must return one value (not stream).

    Raises:
        TypeError: The action or ``when`` is not callable (``when`` must be a plain
            function, not ``async``), ``when`` cannot take one argument per
            dependency, or ``depends``/``retry``/``optional``/``defaults``/``timeout``
            have the wrong type.
        ValueError: An empty id, a timeout that is zero, negative or NaN, an
            unknown ``join``, an ``optional``/``defaults``/``map`` name that is not a
            dependency, or a streaming action with ``map``.

    Example:
        >>> Step("twice", lambda x: 2 * x, depends=["x"]).kind
        'function'
        >>> merge = Step("merge", lambda a, b: [a, b], depends=["a", "b"],
        ...              optional=["a"], defaults={"a": "none"})
        >>> sorted(merge.optional), dict(merge.defaults)
        (['a'], {'a': 'none'})
    """

    # How a step is stored, for speed (building 10,000 steps is part of every run):
    # the five attributes every step has live in slots; the options, which most steps
    # leave at their defaults, are class attributes, written to the instance's
    # ``__dict__`` only when given. Writing all 18 slots cost ~1 µs a step; this way a
    # plain step writes five, and its ``__dict__`` is never made (88 bytes a step).
    __slots__ = ("__dict__", "_fits", "action", "depends", "id", "kind")

    id: str
    action: Any
    depends: tuple[str, ...]
    timeout: float | None = None
    retry: Retry | None = None
    join: Join = "zip"
    description: str = ""
    uses: tuple[tuple[str, int], ...] = ()
    estimate: float | None = None
    cache: bool | Callable[..., str] = False
    cache_ttl: float | None = None
    version: str | None = None
    when: Callable[..., Any] | None = None
    optional: frozenset[str] = _NO_NAMES
    defaults: Mapping[str, Any] = _NO_DEFAULTS
    map: str | None = None
    if TYPE_CHECKING:  # slots set by __init__, not dataclass fields
        kind: ActionKind = field(init=False)
        _fits: bool = field(init=False)  # surely callable with one arg per dependency

    def __init__(
        self,
        id: str,
        action: Any,
        depends: Iterable[str] = (),
        *,
        timeout: float | None = None,
        retry: Retry | None = None,
        join: Join = "zip",
        description: str = "",
        uses: str | Mapping[str, int] | None = None,
        estimate: float | None = None,
        cache: bool | Callable[..., str] = False,
        cache_ttl: float | None = None,
        version: str | None = None,
        when: Callable[..., Any] | None = None,
        optional: Iterable[str] = (),
        defaults: Mapping[str, Any] | None = None,
        map: str | None = None,
    ) -> None:
        if not isinstance(id, str) or not id:
            raise StepDefinitionError(f"a step id must be a non-empty string, got {id!r}",
                                      str(id), "id")
        deps = _check_depends(id, depends)
        options = _options(id, deps, timeout, retry, join, description, uses, estimate,
                           cache, cache_ttl, version, when, optional, defaults)
        if options:
            self.__dict__.update(options)
        _set_id(self, id)
        _set_action(self, action)
        _set_depends(self, deps)
        fits = False
        function, bound = action, 0
        if type(action) is _PARTIAL and not action.keywords:
            function, bound = action.func, len(action.args)
        if type(function) is _FUNCTION and not function.__dict__:
            # the common cases, a function or a partial of one, from the code object
            # alone (inspect's checks cost ~4 µs)
            code = function.__code__
            flags = code.co_flags
            count, most = len(deps), code.co_argcount - bound
            fits = not code.co_kwonlyargcount and (
                most - len(function.__defaults__ or ()) <= count
                and (count <= most or bool(flags & inspect.CO_VARARGS))
            )
            kind: ActionKind = (
                "function" if not flags & _CO_ANY
                else "asyncgen" if flags & _CO_ASYNCGEN
                else "generator" if flags & _CO_GENERATOR
                else "coroutine"
            )
        else:
            kind = _kind_of(id, action)
        _set_kind(self, kind)
        _set_fits(self, fits)
        if map is not None:
            self.__dict__["map"] = _check_map(id, map, deps, kind)

    def __getstate__(self) -> tuple[dict[str, Any], tuple[Any, ...]]:
        return self.__dict__, (self.id, self.action, self.depends, self.kind, self._fits)

    def __setstate__(self, state: tuple[dict[str, Any], tuple[Any, ...]]) -> None:
        options, (id, action, depends, kind, fits) = state
        self.__dict__.update(options)
        for set_slot, value in zip(_SLOT_SETTERS, (id, action, depends, kind, fits),
                                   strict=True):
            set_slot(self, value)

    @property
    def streaming(self) -> bool:
        """Whether the action is known, before running, to emit many values."""
        return self.kind in ("generator", "asyncgen")

    def check_arity(self) -> None:
        """Raise ``TypeError`` if the action cannot take one argument per dependency.

        Only checked where the signature can be read; runnables take one input.
        """
        if self._fits or self.kind == "runnable" or _fits_by_code(self.action,
                                                                   len(self.depends)):
            return
        try:
            signature = inspect.signature(self.action)
        except (TypeError, ValueError):
            return
        try:
            signature.bind(*self.depends)
        except TypeError:
            raise _arity_error(self.id, "action", self.action, signature,
                               self.depends) from None

    def __repr__(self) -> str:
        return f"Step({self.id!r}, {_name(self.action)}, depends={list(self.depends)!r})"


_SLOT_SETTERS = tuple(Step.__dict__[name].__set__
                      for name in ("id", "action", "depends", "kind", "_fits"))
_set_id, _set_action, _set_depends, _set_kind, _set_fits = _SLOT_SETTERS


def _options(step: str, deps: tuple[str, ...], timeout: Any, retry: Any, join: Any,
             description: str, uses: Any, estimate: Any, cache: Any, cache_ttl: Any,
             version: Any, when: Any, optional: Iterable[str], defaults: Any
             ) -> dict[str, Any]:
    """The options given that differ from their defaults, checked (``map`` aside)."""
    options: dict[str, Any] = {}
    if timeout is not None:
        options["timeout"] = _check_timeout(step, timeout)
    if retry is not None:
        if not isinstance(retry, Retry):
            raise StepTypeError(f"step {step!r}: retry must be a Retry, got {retry!r}",
                                step, "retry")
        options["retry"] = retry
    if join != "zip":
        if join not in _JOINS:
            raise StepDefinitionError(
                f"step {step!r}: join must be one of {', '.join(JOINS)}, got {join!r}",
                step, "join")
        options["join"] = join
    if cache is not False or cache_ttl is not None or version is not None:
        _check_cache(step, cache, cache_ttl, version)
        options.update(cache=cache, cache_ttl=cache_ttl, version=version)
    if description != "":
        options["description"] = description
    if uses is not None:
        options["uses"] = _check_uses(step, uses)
    if estimate is not None:
        options["estimate"] = _check_estimate(step, estimate)
    if when is not None:
        options["when"] = _check_when(step, when, deps)
    if optional:
        options["optional"] = _check_optional(step, optional, deps)
    if defaults:
        options["defaults"] = _check_defaults(step, defaults, options.get("optional", _NO_NAMES))
    return options


def _arity_error(step: str, argument: str, function: Any, signature: inspect.Signature,
                 depends: tuple[str, ...]) -> StepTypeError:
    """The error for an action or condition that cannot take one argument per dependency."""
    count = len(depends)
    names = ", ".join(map(repr, depends))
    deps = f"depends on {count} ({names})" if count else "has no dependencies"
    what = "action" if argument == "action" else "condition (when)"
    return StepTypeError(
        f"step {step!r}: {what} {_name(function)}{signature} cannot be called "
        f"with {count} positional argument{'s' if count != 1 else ''}; the step {deps}",
        step, argument,
    )


def _check_when(step: str, when: Callable[..., Any], deps: tuple[str, ...]
                ) -> Callable[..., Any]:
    """A condition: a plain (not async) callable taking one argument per dependency;
    a :func:`~rxsteps.routes` condition is bound to its router's place in ``deps``."""
    if isinstance(when, Route):
        if when.router not in deps:
            raise StepDefinitionError(
                f"step {step!r}: when={when!r} reads step {when.router!r}, which is not in "
                f"depends {list(deps)!r}; add {when.router!r} to depends", step, "when",
            )
        return when.at(deps.index(when.router))
    if not callable(when):
        raise StepTypeError(f"step {step!r}: when must be a function of the step's "
                            f"dependencies, got {type(when).__name__}", step, "when")
    if _kind_of(step, when) != "function":
        raise StepTypeError(
            f"step {step!r}: when must be a plain function returning true or false, got "
            f"{_kind_of(step, when)} {_name(when)} (do the async work in a step of its "
            "own and make the condition read its value)", step, "when",
        )
    if not _fits_by_code(when, len(deps)):
        try:
            signature = inspect.signature(when)
        except (TypeError, ValueError):
            return when  # a builtin without a signature: it will tell at run time
        try:
            signature.bind(*deps)
        except TypeError:
            raise _arity_error(step, "when", when, signature, deps) from None
    return when


def _check_map(step: str, name: Any, deps: tuple[str, ...], kind: ActionKind) -> str:
    if not isinstance(name, str):
        raise StepTypeError(f"step {step!r}: map must be the name of one dependency, got "
                            f"{name!r}", step, "map")
    if name not in deps:
        raise StepDefinitionError(
            f"step {step!r}: map={name!r} is not in depends {list(deps)!r}; add it to "
            "depends", step, "map",
        )
    if kind in ("generator", "asyncgen"):
        raise StepDefinitionError(
            f"step {step!r}: map={name!r} needs an action that returns one value per item; "
            f"this one is a{'n async' if kind == 'asyncgen' else ''} generator (it streams): "
            "return a list instead", step, "map",
        )
    return name


def _check_optional(step: str, optional: Iterable[str], deps: tuple[str, ...]) -> frozenset[str]:
    if isinstance(optional, str):
        raise StepTypeError(f"step {step!r}: optional must be a list of dependency names, "
                            f"not a string (did you mean [{optional!r}]?)", step, "optional")
    try:
        names = frozenset(optional)
    except TypeError:
        raise StepTypeError(f"step {step!r}: optional must be a list of dependency names, "
                            f"got {optional!r}", step, "optional") from None
    for name in sorted(names, key=str):
        if name not in deps:
            raise StepDefinitionError(
                f"step {step!r}: optional dependency {name!r} is not in depends "
                f"{list(deps)!r}; add it to depends or remove it from optional",
                step, "optional",
            )
    return names


def _check_defaults(step: str, defaults: Any, optional: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(defaults, Mapping):
        raise StepTypeError(f"step {step!r}: defaults must be a dict from optional "
                            f"dependency name to value, got {defaults!r}", step, "defaults")
    for name in defaults:
        if name not in optional:
            raise StepDefinitionError(
                f"step {step!r}: defaults names {name!r}, which is not an optional "
                f"dependency (optional: {sorted(optional)!r}); add it to optional",
                step, "defaults",
            )
    return dict(defaults)  # a plain dict: a Step pickles (process pools, stores)


def _check_uses(step: str, uses: Any) -> tuple[tuple[str, int], ...]:
    """``uses`` as sorted ``(name, units)`` pairs (sorted: one key per distinct set)."""
    if isinstance(uses, str):
        uses = {uses: 1}
    elif isinstance(uses, tuple):  # the stored form, from dataclasses.replace()
        uses = dict(uses)
    if not isinstance(uses, Mapping):
        raise StepTypeError(f"step {step!r}: uses must be a resource name or a mapping of "
                            f"name to units, such as {{'llm': 1}}, got {uses!r}", step, "uses")
    for name, units in uses.items():
        if not isinstance(name, str) or not name:
            raise StepTypeError(f"step {step!r}: resource names in uses must be non-empty "
                                f"strings, got {name!r}", step, "uses")
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise StepDefinitionError(f"step {step!r}: uses[{name!r}] must be a positive "
                                      f"int of units, got {units!r}", step, "uses")
    return tuple(sorted(uses.items()))


def _check_estimate(step: str, estimate: Any) -> float:
    if isinstance(estimate, bool) or not isinstance(estimate, int | float) or not (
        0 <= estimate < math.inf
    ):
        raise StepDefinitionError(f"step {step!r}: estimate must be a finite number of "
                                  f"seconds >= 0, got {estimate!r}", step, "estimate")
    return float(estimate)


def _check_depends(step: str, depends: Iterable[str]) -> tuple[str, ...]:
    kind = type(depends)
    if kind is list or kind is tuple:  # the common case, checked in one pass
        deps = tuple(depends)
        for name in deps:
            if type(name) is not str:
                break
        else:
            return deps
    if isinstance(depends, str):
        raise StepTypeError(f"step {step!r}: depends must be a list of names, not a string "
                            f"(did you mean [{depends!r}]?)", step, "depends")
    if isinstance(depends, set | frozenset):
        raise StepTypeError(
            f"step {step!r}: depends must be a list or tuple of names in the order the "
            "action takes them, got a set (which has no order)", step, "depends",
        )
    try:
        deps = tuple(depends)
    except TypeError:
        raise StepTypeError(f"step {step!r}: depends must be a list of names, got "
                            f"{depends!r}", step, "depends") from None
    for name in deps:
        if not isinstance(name, str):
            raise StepTypeError(f"step {step!r}: dependency names must be strings, got "
                                f"{name!r}", step, "depends")
    return deps


def _check_cache(step: str, cache: Any, ttl: Any, version: Any) -> None:
    if not (isinstance(cache, bool) or callable(cache)):
        raise StepTypeError(f"step {step!r}: cache must be True, False or a function of the "
                            f"step's arguments returning a key, got {cache!r}", step, "cache")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, (int, float))
                            or not ttl > 0):
        raise StepDefinitionError(f"step {step!r}: cache_ttl must be a positive number of "
                                  f"seconds or None, got {ttl!r}", step, "cache_ttl")
    if version is not None and not isinstance(version, str):
        raise StepTypeError(f"step {step!r}: version must be a str, got {version!r}", step,
                            "version")
    if (ttl is not None or version is not None) and cache is False:
        which = "cache_ttl" if ttl is not None else "version"
        raise StepDefinitionError(f"step {step!r}: {which}= has no effect without cache=; "
                                  "pass cache=True", step, which)


def _check_timeout(step: str, timeout: Any) -> float | None:
    """A timeout in seconds: ``None`` or ``math.inf`` mean no limit; NaN, zero,
    negatives and non-numbers are refused (they would break timers)."""
    if timeout is None:
        return None
    message = (f"step {step!r}: timeout must be a positive number of seconds (math.inf for "
               f"no limit), got {timeout!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise StepTypeError(message, step, "timeout")
    if not timeout > 0:
        raise StepDefinitionError(message, step, "timeout")
    return None if timeout == math.inf else float(timeout)


def _fits_by_code(action: Any, count: int) -> bool:
    """Whether a plain function or bound method surely accepts ``count`` positional
    arguments, read from its code object (``inspect.signature`` costs 20 µs; this
    costs 1). False means "ask inspect", not "does not fit"."""
    function, bound = action, 0
    if isinstance(action, functools.partial) and not action.keywords:
        function, bound = action.func, len(action.args)
    if isinstance(function, types.MethodType):
        function, bound = function.__func__, bound + 1
    if not isinstance(function, types.FunctionType):
        return False
    code = function.__code__
    required_keywords = code.co_kwonlyargcount - len(function.__kwdefaults__ or ())
    if required_keywords:
        return False
    most = code.co_argcount - bound
    least = most - len(function.__defaults__ or ())
    return least <= count and (count <= most or bool(code.co_flags & inspect.CO_VARARGS))


def _name(action: Any) -> str:
    if isinstance(action, functools.partial):
        return f"functools.partial({_name(action.func)}, ...)"
    return getattr(action, "__qualname__", None) or type(action).__name__


_CO_ASYNCGEN, _CO_GENERATOR, _CO_COROUTINE = (
    inspect.CO_ASYNC_GENERATOR, inspect.CO_GENERATOR, inspect.CO_COROUTINE
)
_CO_ANY = _CO_ASYNCGEN | _CO_GENERATOR | _CO_COROUTINE
_FUNCTION = types.FunctionType
_PARTIAL = functools.partial


def _kind_of(step: str, action: Any) -> ActionKind:
    if type(action) is types.FunctionType and not action.__dict__:
        # the common case, from the code flags alone (inspect's four checks cost ~4 µs)
        flags = action.__code__.co_flags
        if flags & _CO_ASYNCGEN:
            return "asyncgen"
        if flags & _CO_GENERATOR:
            return "generator"
        return "coroutine" if flags & _CO_COROUTINE else "function"
    target = action.func if hasattr(action, "func") and hasattr(action, "args") else action
    if inspect.isasyncgenfunction(target):
        return "asyncgen"
    if inspect.isgeneratorfunction(target):
        return "generator"
    if inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(
        getattr(target, "__call__", None)  # noqa: B004 - an async __call__ method
    ):
        return "coroutine"
    if not inspect.isroutine(action) and (
        callable(getattr(action, "invoke", None)) or callable(getattr(action, "ainvoke", None))
    ):
        return "runnable"
    if callable(action):
        return "function"
    raise StepTypeError(
        f"step {step!r}: action must be callable or have invoke/ainvoke, "
        f"got {type(action).__name__}", step, "action",
    )


def step_decorator_depends(function: Callable[..., Any]) -> tuple[str, ...]:
    """The dependency names of a decorated function: its positional parameter names."""
    parameters = inspect.signature(function).parameters.values()
    return tuple(
        p.name
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    )
