"""The run: the one owner of a run's state, and every transition of it.

State, all guarded by one lock (``Run._lock``):

- ``nodes`` — per step a :class:`~.node.Node`: its values so far (a hot, replaying
  observable), the join cursor over its dependencies, status, the attempt in flight;
- ``_ready_sync`` / ``_ready_other`` — steps with a call available and not yet
  started, FIFO: sync ones wait for a *driver* (see :mod:`.drivers`, whose state is
  kept here too), the others (coroutines, remote calls) only for a slot;
- ``_running`` — attempts holding a slot (``max_concurrency`` bounds it);
- ``_remaining`` — steps not yet finished; the run completes when it reaches zero;
- ``_state`` — ``new`` → ``running`` → ``stopping`` → ``done`` (``cancelled early``
  when :meth:`Run.cancel` came before :meth:`Run.start`: the start then only ends it).

Transitions happen in short critical sections that never call user code: a value
arrives (:meth:`Run.emit_value`), an attempt ends (:meth:`Run.finish`), a timer fires
(:meth:`Run.timed_out`, :meth:`Run._retry_due`), the run is cancelled
(:meth:`Run.cancel`). Each may make dependents ready; the new attempts are created
under the lock (so STARTED is ordered after the values it consumes) and launched
outside it. A driver that finishes a sync action takes the next ready sync step itself
— no thread hop, no wave barrier, and no recursion: chains of any length run in a
loop (:mod:`.drivers` says when another driver is woken).

Events are queued under the lock and delivered outside it by :mod:`.sink`, serially.

Example:
    >>> from rxsteps import Step, StepGraph
    >>> from rxsteps.backends.resolve import resolve_backend
    >>> import threading
    >>> done = threading.Event()
    >>> graph = StepGraph([Step("a", lambda: 20), Step("b", lambda a: a + 1, ["a"])])
    >>> run = Run(graph, {}, resolve_backend("threads"), on_done=lambda r: done.set())
    >>> run.start(); done.wait(5)
    True
    >>> run.result["b"]
    21
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from ..backends.base import Backend, Handle
from ..errors import StepFailedError, StepTimeoutError
from ..events import EventKind, StepEvent
from ..graph import StepGraph
from ..result import Attempt, RunResult, StepStatus
from . import invoke
from .attempt import ABANDONED, DONE, RUNNING, ActiveAttempt
from .drivers import Drivers
from .inputs import check_resume, preflight
from .node import InputNode, Node
from .sink import EventSink
from .tracing import RunTracer

__all__ = ["Run", "preflight"]

_NOTHING: Any = object()
_INF = float("inf")
_SUCCEEDED, _RUNNING = StepStatus.SUCCEEDED, StepStatus.RUNNING  # enum lookups cost


class Run(Drivers):
    """One execution of a graph. Create, :meth:`start`, then wait for ``on_done``."""

    def __init__(
        self,
        graph: StepGraph,
        inputs: Mapping[str, Any] | None,
        backend: Backend,
        *,
        fail_fast: bool = True,
        max_concurrency: int | None = None,
        observer: Any = None,
        on_done: Callable[[Run], None] | None = None,
        tracer_provider: Any = None,
        resume: RunResult | None = None,
        sequence: int | None = None,
    ) -> None:
        self.graph = graph
        self.inputs = preflight(graph, inputs, max_concurrency)
        self.backend = backend
        self.fail_fast = fail_fast
        self.sequence = sequence
        self._limit: float = max_concurrency or _INF
        self._on_done = on_done
        self._observer = observer
        self._events = observer is not None
        self._sink = EventSink(
            observer.on_next if observer is not None else _ignore,
            self._deliver_error,
            self._deliver_completed,
        )
        self._lock = threading.Lock()
        self._ready_sync: deque[Node] = deque()
        self._ready_other: deque[Node] = deque()
        self._running = 0
        self._drivers = 0
        self._blocked = 0  # drivers stuck in an action the monitor compensated, or abandoned
        self._waking = 0
        self._in_sync: set[ActiveAttempt] = set()  # sync attempts running on drivers
        self._ended = 0  # attempts ended so far, and as the monitor last saw it
        self._ended_seen = 0
        self._typical = 0.0  # moving average of how long sync attempts take
        self._watched = False
        self._state = "new"
        self._attempts: list[Attempt] = []
        self._tracer_provider = tracer_provider
        self.tracer: RunTracer | None = None
        self._pending_cancels: list[Handle] = []
        self._early_reason = ""
        self.failure: StepFailedError | None = None
        self.result: RunResult | None = None
        self.nodes: dict[str, Node] = {}
        self._build(resume)
        invoke.prepare(self)

    def _build(self, resume: RunResult | None) -> None:
        if resume is not None:
            check_resume(self.graph, self.inputs, resume)
        sources: dict[str, Node] = {n: InputNode(n, v) for n, v in self.inputs.items()}
        for step_id in self.graph.order():
            step = self.graph[step_id]
            node = Node(step, [self.nodes.get(d) or sources[d] for d in step.depends])
            if resume is not None and resume.status.get(step_id) is StepStatus.SUCCEEDED:
                node.values.extend(resume.emitted(step_id))
                node.status = StepStatus.SUCCEEDED
                node.finished = True
                node.reason = "resumed"  # its times are this run's start, set in start()
                for dependent in node.dependents:  # none yet: built in order
                    dependent.dep_completed(node)
            self.nodes[step_id] = node
        self._remaining = sum(1 for n in self.nodes.values() if not n.finished)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start every step whose inputs exist. Returns at once."""
        self.tracer = RunTracer(
            self._tracer_provider,
            step_count=len(self.nodes),
            scheduler=self.backend.name,
            attributes={"rxsteps.sequence": self.sequence} if self.sequence is not None else None,
        )
        with self._lock:
            early = self._state == "cancelled early"
            self._state = "running"
            self.start_time = self.backend.now()
            if early:  # cancel() came first: end as cancelled, start nothing
                self._stop(self._early_reason, None)
                self._after([])
                return
            for node in self.nodes.values():
                if node.status is StepStatus.SUCCEEDED:  # resumed: no time of its own here
                    node.started = node.ended = self.start_time
                    self._emit(EventKind.SUCCEEDED, node, value=_last(node), reason="resumed")
                else:
                    self._settle(node)
            if self._remaining == 0 and self._state == "running":
                self._complete()  # nothing to run: no steps, or all resumed
            launches = self._take_ready()
            wake = self._should_wake()
        self._after(launches, wake)

    def cancel(self, reason: str = "run cancelled", *, silent: bool = True) -> None:
        """Stop the run: nothing new starts, running attempts are abandoned (coroutines
        cancelled, thread actions told through their context) and every unfinished
        step ends CANCELLED. With ``silent`` (disposal) no further event is delivered."""
        if silent:
            self._sink.detach()
        with self._lock:
            if self._state == "new":  # start() will end it at once
                self._state, self._early_reason = "cancelled early", reason
                return
            handles = self._stop(reason, None)
        _cancel_all(handles)
        self._sink.drain()

    def _complete(self) -> None:
        # under lock
        self._state = "done"
        self.end_time = self.backend.now()
        emitted, status, errors, reasons, started, ended = {}, {}, {}, {}, {}, {}
        for name, n in self.nodes.items():
            emitted[name] = n.values
            status[name] = n.status
            if n.error is not None:
                errors[name] = n.error
            if n.reason and n.finished:
                reasons[name] = n.reason
            if n.started is not None:
                started[name] = n.started
            if n.ended is not None:
                ended[name] = n.ended
        self.result = RunResult(
            graph=self.graph, inputs=self.inputs, emitted=emitted, status=status,
            errors=errors, reasons=reasons, started=started, ended=ended,
            attempts=self._attempts, start=self.start_time, end=self.end_time,
            sequence=self.sequence, failure=self.failure,
        )
        if self.failure is not None:
            self.failure.result = self.result
        self._sink.close(self.failure)

    def _deliver_completed(self) -> None:
        self._finalize()
        if self._observer is not None and not self._sink.detached:
            self._observer.on_completed()

    def _deliver_error(self, error: BaseException) -> None:
        self._finalize()
        if self._observer is not None and not self._sink.detached:
            self._observer.on_error(error)

    def _finalize(self) -> None:
        # A backend that left values remote (Dask futures) fetches them now, outside the
        # lock and before anyone is told the run is over; not after a disposal.
        gather = getattr(self.backend, "gather_result", None)
        if gather is not None and self.result is not None and not self._sink.detached:
            self.result = gather(self.result)
            if self.failure is not None:
                self.failure.result = self.result
        counts: dict[str, int] = {}
        for node in self.nodes.values():
            counts[node.status.value] = counts.get(node.status.value, 0) + 1
        if self.tracer is not None:
            self.tracer.end_run(self.failure, counts)
        if self._on_done is not None:
            self._on_done(self)

    # -- transitions (each called from some thread; takes the lock) ------------------

    def emit_value(self, attempt: ActiveAttempt, value: Any) -> bool:
        """A streaming attempt produced ``value``. False if the attempt no longer counts."""
        with self._lock:
            if attempt.state is not RUNNING:
                return False
            attempt.emitted = True
            self._append(attempt.node, value, attempt)  # type: ignore[arg-type]
            launches = self._take_ready()
            wake = self._should_wake()
        self._after(launches, wake)
        return True

    def finish(
        self,
        attempt: ActiveAttempt,
        value: Any = _NOTHING,
        error: BaseException | None = None,
        *,
        inline: bool = False,
    ) -> ActiveAttempt | None:
        """An attempt ended with ``value`` (or none) or ``error``.

        Returns the next attempt for this worker to run inline, if ``inline``.
        """
        with self._lock:
            if attempt.state is not RUNNING:
                if attempt.compensated:  # its driver is back from an abandoned action
                    attempt.compensated = False
                    self._blocked -= 1
                return None
            attempt.state = DONE
            self._running -= 1
            self._ended += 1
            now = self.backend.now()
            if attempt in self._in_sync:
                self._in_sync.discard(attempt)
                self._typical += 0.2 * (now - attempt.start - self._typical)
            if attempt.compensated:
                attempt.compensated = False
                self._blocked -= 1
            node: Node = attempt.node  # type: ignore[assignment]
            if error is None:
                if value is not _NOTHING:
                    self._append(node, value, attempt)
                self._attempts.append(
                    Attempt(node.id, attempt.index, attempt.number, attempt.start, now, "succeeded")
                )
                if attempt.span is not None:
                    node.span_context = attempt.span.get_span_context()
                node.active = None
                node.last_attempt = attempt.number
                node.call_done()
                node.busy = False
                self._settle(node)
            else:
                self._attempt_failed(attempt, error, now)
            launches = self._take_ready()
            nxt = self._next_sync() if inline else None
            wake = self._should_wake()
        timer = attempt.timer
        if timer is not None:
            timer.cancel()
        if attempt.span is not None:
            invoke.end_span(self, attempt, error)
        self._after(launches, wake)
        return nxt

    def timed_out(self, attempt: ActiveAttempt) -> None:
        """The attempt's timeout passed: abandon it and fail (or retry) the step."""
        with self._lock:
            if attempt.state is not RUNNING:
                return
            attempt.state = ABANDONED
            self._running -= 1
            if attempt in self._in_sync:  # its driver stays stuck until the action returns
                self._in_sync.discard(attempt)
                if not attempt.compensated:
                    attempt.compensated = True
                    self._blocked += 1
            node: Node = attempt.node  # type: ignore[assignment]
            timeout = node.step.timeout or 0.0  # type: ignore[union-attr]
            error = StepTimeoutError(node.id, timeout, attempt.number)
            self._attempt_failed(attempt, error, self.backend.now())
            launches = self._take_ready()
            wake = self._should_wake()
        attempt.cancel()
        if attempt.handle is not None:
            attempt.handle.cancel()
        invoke.end_span(self, attempt, error, outcome="timeout")
        self._after(launches, wake)

    def _retry_due(self, node: Node, number: int) -> None:
        with self._lock:
            if self._state != "running" or node.finished or node.next_attempt != number:
                return
            node.retry_timer = None
            self._queue(node)
            launches = self._take_ready()
            wake = self._should_wake()
        self._after(launches, wake)

    # -- under the lock -------------------------------------------------------------------

    def _emit(self, kind: EventKind, node: Node, **fields: Any) -> None:
        if self._events:
            self._sink.put(StepEvent(kind, node.id, time=self.backend.now(), **fields))

    def _append(self, node: Node, value: Any, attempt: ActiveAttempt) -> None:
        node.values.append(value)
        if self._events:
            self._emit(EventKind.EMITTED, node, value=value, attempt=attempt.number,
                       index=attempt.index)
        for dependent in node.dependents:
            if dependent.reason is None and not dependent.finished:
                dependent.dep_emitted(node)
                if not dependent.busy and dependent.pending():
                    dependent.busy = True
                    self._queue(dependent)

    def _queue(self, node: Node) -> None:
        if node.mode == "sync":
            self._ready_sync.append(node)
        else:
            self._ready_other.append(node)

    def _take_ready(self) -> list[ActiveAttempt]:
        """Attempts for the ready async and remote steps that have a slot."""
        launches: list[ActiveAttempt] = []
        ready = self._ready_other
        while ready and self._running < self._limit and self._state == "running":
            attempt = self._begin(ready.popleft())
            if attempt is not None:
                launches.append(attempt)
        return launches

    def _begin(self, node: Node) -> ActiveAttempt | None:
        if node.reason is not None or node.finished:  # doomed while it waited
            node.busy = False
            self._settle(node)
            return None
        self._running += 1
        index = node.invoked
        attempt = ActiveAttempt(node, index, node.next_attempt, self.backend.now())
        attempt.args = node.args(index)
        node.active = attempt
        if node.started is None:
            node.started = attempt.start
            node.status = _RUNNING
        if self._events:
            self._emit(EventKind.STARTED, node, attempt=attempt.number, index=index)
        return attempt

    def _settle(self, node: Node) -> None:
        """Finish ``node`` and its descendants as far as their joins allow."""
        work = [node]
        while work:
            n = work.pop()
            if n.finished or n.busy:
                continue
            if n.reason is not None:
                self._end(n, StepStatus.SKIPPED)
            elif n.pending():
                n.busy = True
                self._queue(n)
                continue
            elif not n.exhausted():
                continue
            elif n.invoked == 0 and n.deps:
                empty = n.empty_dependency()
                n.reason = (
                    f"dependency {empty.id!r} completed without a value"
                    if empty is not None
                    else "its dependencies produced nothing to join"
                )
                self._end(n, StepStatus.SKIPPED)
            else:
                self._end(n, _SUCCEEDED)
            for dependent in n.dependents:
                if dependent.finished:
                    continue
                if n.status is _SUCCEEDED:
                    dependent.dep_completed(n)
                elif dependent.reason is None:
                    dependent.reason = f"dependency {n.id!r} {n.status.value}"
                work.append(dependent)

    def _end(self, node: Node, status: StepStatus, **fields: Any) -> None:
        node.status = status
        node.finished = True
        node.ended = self.backend.now()
        self._remaining -= 1
        if not self._events:
            pass
        elif status is _SUCCEEDED:
            self._emit(EventKind.SUCCEEDED, node, value=_last(node), attempt=node.last_attempt,
                       index=max(0, node.invoked - 1))
        else:
            self._emit(EventKind(status.value), node, reason=node.reason, error=node.error,
                       **fields)
        if self._remaining == 0 and self._state == "running":
            self._complete()

    def _attempt_failed(self, attempt: ActiveAttempt, error: BaseException, now: float) -> None:
        node: Node = attempt.node  # type: ignore[assignment]
        outcome = "timeout" if isinstance(error, StepTimeoutError) else "failed"
        self._attempts.append(
            Attempt(node.id, attempt.index, attempt.number, attempt.start, now, outcome, error)
        )
        node.active = None
        retry = node.step.retry  # type: ignore[union-attr]
        if retry is not None and self._state == "running" and not attempt.emitted:
            try:
                again = retry.should_retry(error, attempt.number)
            except Exception as predicate_error:
                predicate_error.__context__ = error
                error, again = predicate_error, False
            if again:
                delay = retry.delay(attempt.number)
                self._emit(EventKind.RETRYING, node, error=error, attempt=attempt.number,
                           index=attempt.index, delay=delay)
                node.next_attempt = attempt.number + 1
                node.retry_timer = self.backend.call_later(
                    delay, lambda: self._retry_due(node, attempt.number + 1)
                )
                return
        node.error = error
        node.busy = False
        failure = None
        if self.fail_fast and self._state == "running":
            failure = StepFailedError(node.id, error)
            failure.__cause__ = error
            self.failure = failure  # before _end, which completes the run if it was last
        self._end(node, StepStatus.FAILED, attempt=attempt.number, index=attempt.index)
        if self._state != "running":
            return
        if failure is not None:
            self._cancel_later(self._stop(f"step {node.id!r} failed", failure))
        else:
            for dependent in node.dependents:
                if not dependent.finished and dependent.reason is None:
                    dependent.reason = f"dependency {node.id!r} failed"
                self._settle(dependent)

    def _stop(self, reason: str, failure: StepFailedError | None) -> list[Handle]:
        if self._state != "running":
            return []
        self._state = "stopping"
        self.failure = failure
        handles: list[Handle] = []
        now = self.backend.now()
        self._ready_sync.clear()
        self._ready_other.clear()
        self._in_sync.clear()
        for node in self.nodes.values():
            if node.finished:
                continue
            attempt = node.active
            if attempt is not None and attempt.state is RUNNING:
                attempt.state = ABANDONED
                self._running -= 1
                self._attempts.append(Attempt(node.id, attempt.index, attempt.number,
                                              attempt.start, now, "cancelled"))
                handles.append(attempt)
                handles.extend(h for h in (attempt.handle, attempt.timer) if h is not None)
                if attempt.span is not None:
                    handles.append(_SpanEnd(attempt))
            if node.retry_timer is not None:
                handles.append(node.retry_timer)
            node.reason = reason
            node.status = StepStatus.CANCELLED
            node.finished = True
            node.ended = now
            self._remaining -= 1
            self._emit(EventKind.CANCELLED, node, reason=reason)
        self._complete()
        return handles

    def _cancel_later(self, handles: list[Handle]) -> None:
        self._pending_cancels = handles

    # -- outside the lock -----------------------------------------------------------------

    def _after(self, launches: list[ActiveAttempt], wake: int = 0) -> None:
        if self._pending_cancels:
            handles, self._pending_cancels = self._pending_cancels, []
            _cancel_all(handles)
        if wake:
            self._wake(wake)
        for attempt in launches:
            invoke.launch(self, attempt)
        if self._sink._queue:
            self._sink.drain()


class _SpanEnd:
    """Ends an abandoned attempt's span when the run's cancellations are carried out."""

    __slots__ = ("_attempt",)

    def __init__(self, attempt: ActiveAttempt) -> None:
        self._attempt = attempt

    def cancel(self) -> None:
        RunTracer.end_step(self._attempt.span, None, "cancelled")


def _last(node: Node) -> Any:
    return node.values[-1] if node.values else None


def _ignore(_event: Any) -> None:
    pass


def _cancel_all(handles: list[Any]) -> None:
    for handle in handles:
        with contextlib.suppress(Exception):  # best effort, like reactivex disposal
            handle.cancel()
