"""The run: the one owner of a run's state, and every transition of it.

State, all guarded by one lock (``Run.lock``):

- ``nodes`` — per step a :class:`~.node.Node`: its values so far, the join cursor over
  its dependencies, status;
- ``drivers`` — the :class:`~.drivers.Drivers` of the run's sync steps (ready queue,
  driver counts), and ``_ready_other`` — ready coroutine and remote steps, which wait
  only for a slot;
- ``_active`` — the attempts in flight; ``_running`` — those holding a slot
  (``max_concurrency`` bounds it; a timed-out sync call keeps its slot until its thread
  comes back, so the bound is on calls really running);
- ``_remaining`` — steps not yet finished; the run completes when it reaches zero;
- ``state`` — :class:`RunState`: NEW → RUNNING → STOPPING → DONE (a :meth:`Run.cancel`
  before :meth:`Run.start` makes the start end it at once);
- ``_subscribers`` — who watches a step's values (:meth:`Run.subscribe_step`) or the
  whole event stream (:meth:`Run.subscribe_events`), and ``_log``, the events so far
  when a handle replays them.

Transitions happen in short critical sections that never call user code: a value
arrives (:meth:`Run.emit_value`), an attempt ends (:meth:`Run.finish`), a timer fires
(:meth:`Run.timed_out`, :meth:`Run.retry_due`), the run is cancelled
(:meth:`Run.cancel`) or loses its threads (:meth:`Run.lost_capacity`). Each may make
dependents ready; the new attempts are created under the lock (so STARTED is ordered
after the values it consumes) and launched outside it (:meth:`Run.after`). A retry
policy's predicate is user code too: it is asked before the lock is taken.

Events are queued under the lock and delivered outside it by :mod:`.sink`, serially,
on a thread of their own, so a slow callback delays only its own run's events.

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

import asyncio
import contextlib
import contextvars
import enum
import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from ..backends.base import Backend, Handle
from ..backends.loops import LoopLease, lend, on_loop_thread
from ..backends.pool import on_worker_thread
from ..context import _CURRENT
from ..errors import (
    CapacityError,
    MapItemsFailedError,
    StepFailedError,
    StepTimeoutError,
)
from ..events import EventKind, StepEvent
from ..graph import StepGraph
from ..result import CONDITION_FALSE, Attempt, RunResult, StepStatus
from ..retry import Retry
from . import conditions, invoke, mapping
from .ahead import Ahead
from .attempt import ABANDONED, DONE, DOOMED, RUNNING, ActiveAttempt
from .checks import check_run
from .drivers import Drivers, Wake, driving
from .durable import open_durable
from .inputs import check_resume
from .limits import Gate, Limiter, make_gate
from .node import InputNode, Mode, Node, Source, end_of_step, owned_by
from .options import RunOptions
from .sink import Call, EventSink, StepEnd
from .tracing import RunTracer

__all__ = ["Run", "RunState", "should_help", "start_run"]

_NOTHING: Any = object()
_INF = float("inf")
_SUCCEEDED, _RUNNING = StepStatus.SUCCEEDED, StepStatus.RUNNING  # enum lookups cost


class RunState(enum.Enum):
    """Where a run stands. Only the run changes it, under its lock."""

    NEW = "new"
    RUNNING = "running"
    STOPPING = "stopping"  # cancelled or failed: nothing new starts
    DONE = "done"


_NEW, _LIVE, _STOPPING, _DONE = RunState.NEW, RunState.RUNNING, RunState.STOPPING, RunState.DONE
_SYNC = Mode.SYNC
_NO_WAKE = Wake.NOTHING


class Run:
    """One execution of a graph. Create, :meth:`start`, then wait for ``on_done``.

    Args:
        graph: The steps.
        inputs: A value per declared input, checked already (:func:`~.checks.check_run`).
        backend: Where actions run; the steps were checked against it.
        fail_fast: Stop at the first failure.
        max_concurrency: Most attempts holding a slot at once.
        observer: Receives every event, then ``on_completed``/``on_error``.
        on_done: Called once with the run when it is over and its events delivered.
        tracer_provider: OpenTelemetry provider (default: the global one).
        resume: An earlier result whose succeeded steps are reused.
        sequence: A pipeline's event number, for traces.
        inline_events: Deliver events on the thread that queued them (only for
            rxsteps' own observers, which never block).
        record: Keep every event for late subscribers (a run handle).
        limiter: Named resources' capacities and rates (see :mod:`.limits`).
        priority: ``"critical"`` or ``"fifo"``: who goes first when capacity is short.
        history: An earlier result whose durations weigh the priorities.
        check: Called outside the lock with ``(step, value)`` for every value a step
            produces; what it raises fails the step (a store's serializer check).
        recorder: Called with each batch of events before it is delivered, outside
            the lock, serially (a durable run's store).
        context: The caller's ``contextvars`` (default: this thread's, copied now): a
            pipeline's runs get its subscriber's, not the emitting thread's.
    """

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
        inline_events: bool = False,
        record: bool = False,
        limiter: Limiter | None = None,
        priority: str = "critical",
        history: RunResult | None = None,
        check: Callable[[str, Any], None] | None = None,
        recorder: Callable[[list[Any]], None] | None = None,
        context: contextvars.Context | None = None,
    ) -> None:
        self.graph = graph
        self._check = check
        self.inputs = dict(inputs or {})
        self.backend = backend
        self._now = backend.now
        self.fail_fast = fail_fast
        self.sequence = sequence
        # the caller's, for every action
        self.context = contextvars.copy_context() if context is None else context.copy()
        self.lock = threading.Lock()
        self.state = _NEW
        self.drivers = Drivers(steps=len(graph))
        self.tracer: RunTracer | None = None
        self.failure: StepFailedError | CapacityError | None = None
        self.fatal: BaseException | None = None  # a BaseException from an event callback
        self.result: RunResult | None = None
        self.nodes: dict[str, Node] = {}
        self._limit: float = max_concurrency or _INF
        self._gate: Gate | None = make_gate(self, graph, limiter, priority, history,
                                            max_concurrency)
        self._pokes: list[Any] = []  # other runs' gates to poke once the lock is let go
        self._on_done = on_done
        self._observer = observer
        self._disposed = False
        self._events = observer is not None or record
        self._notes = recorder is not None  # each step's end as a StepEnd (see .sink)
        self._log: list[StepEvent] | None = [] if record else None
        self._subscribers: dict[str, list[Any]] = {}
        self._event_subscribers: list[Any] = []
        self._sink = EventSink(
            None if observer is None else observer.on_next, self._deliver_error,
            self._deliver_completed,
            on_fatal=self._fatal,
            context=None if inline_events or backend.virtual else self.context.run(
                delivery_context),
            before=recorder,
        )
        self._ready_other: deque[Node] = deque()
        self._checks: list[conditions.Check] = []  # calls waiting for their condition
        self._active: set[ActiveAttempt] = set()
        self._running = 0
        self._stuck_slots = 0  # slots held by timed-out calls whose threads are inside
        self._losing_slots = False  # a CapacityError for them is on its way
        self._attempts: list[Attempt] = []
        self._tracer_provider = tracer_provider
        self._pending_cancels: list[Handle] = []
        self._early_reason = ""
        self._lease: LoopLease | None = None
        self._lease_lock = threading.Lock()
        self._build(resume)
        invoke.prepare(list(self.nodes.values()), backend)
        self.ahead: Ahead | None = None
        if backend.remote and self._gate is None and max_concurrency is None and \
                resume is None and check is None:
            self.ahead = Ahead()

    def _build(self, resume: RunResult | None) -> None:
        if resume is not None:
            check_resume(self.graph, self.inputs, resume)
        sources: dict[str, Source] = {n: InputNode(n, v) for n, v in self.inputs.items()}
        nodes = self.nodes
        owner = owned_by(self)  # one weak reference, shared by the nodes
        for step in self.graph.steps_in_order():  # compiled once per graph
            nodes[step.id] = Node(step, [nodes.get(d) or sources[d] for d in step.depends],
                                  owner)
        if resume is not None:
            self._replay(resume)
        self._remaining = sum(1 for n in nodes.values() if not n.finished)

    def _replay(self, resume: RunResult) -> None:
        """Feed the resumed steps' values, one at a time and in order, to their
        dependents, as if they streamed again (a ``latest`` join sees every value)."""
        for node in self.nodes.values():
            if resume.status.get(node.id) is not StepStatus.SUCCEEDED:
                continue
            values = resume.emitted(node.id)
            node.streamed = node.step.streaming or len(values) > 1  # a mapped stream's items
            for value in values:
                node.values.append(value)
                for dependent in node.dependents:
                    if node.streamed:
                        mapping.streams_items(dependent, node)
                    dependent.dep_emitted(node)
            node.status = _SUCCEEDED
            node.finished = True
            node.reason = "resumed"  # its times are this run's start, set in start()
            for dependent in node.dependents:
                dependent.dep_completed(node)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start every step whose inputs exist. Returns at once."""
        self.tracer = RunTracer(
            self._tracer_provider,
            step_count=len(self.nodes),
            scheduler=self.backend.name,
            attributes={"rxsteps.sequence": self.sequence} if self.sequence is not None else None,
        )
        if self.ahead is not None:  # before any launch, which may adopt these tasks
            self.ahead.submit(self.backend, self.nodes.values(), invoke.remote_call)
        with self.lock:
            early = self.state is not _NEW
            self.state = _LIVE
            self.start_time = self._now()
            if early:  # cancel() came first: end as cancelled, start nothing
                self._stop(self._early_reason, None)
                launches: list[ActiveAttempt] = []
                wake = Wake.NOTHING
            else:
                launches, wake = self._start_nodes()
        self.after(launches, wake)

    def _start_nodes(self) -> tuple[list[ActiveAttempt], Wake]:
        # under lock
        for node in self.nodes.values():
            if node.status is _SUCCEEDED:  # resumed: no time of its own here
                node.started = node.ended = self.start_time
                self._emit(EventKind.SUCCEEDED, node, value=_last(node), reason="resumed")
            else:
                self._settle(node)
        if self._remaining == 0 and self.state is _LIVE:
            self._complete()  # nothing to run: no steps, or all resumed
        return self._take_ready(), self.drivers.should_wake(self)

    def cancel(self, reason: str = "run cancelled", *, silent: bool = True) -> None:
        """Stop the run: nothing new starts, running attempts are abandoned (coroutines
        cancelled, thread actions told through their context) and every unfinished
        step ends CANCELLED. With ``silent`` (disposal) no further event is delivered."""
        if silent:
            self._disposed = True
            self._sink.detach()
        with self.lock:
            if self.state is _NEW:  # start() will end it at once
                self.state, self._early_reason = _STOPPING, reason
                return
            handles = self._stop(reason, None)
        _cancel_all(handles)
        self._sink.flush()

    def lost_capacity(self, error: BaseException) -> None:
        """No worker thread could be had for this run: fail it with ``error``."""
        if isinstance(error, CapacityError):
            failure = error
        else:  # the OS refused a thread, or an executor was shut down
            failure = CapacityError(0, 0, 0)
            failure.__cause__ = error
        with self.lock:
            handles = self._stop(str(failure), failure)
        _cancel_all(handles)
        self._sink.flush()

    def _fatal(self, error: BaseException, source: str = "an event callback") -> None:
        """User code outside an action (an event callback, a retry predicate) raised a
        BaseException: end the run; the caller re-raises."""
        if self.fatal is None:
            self.fatal = error
        with self.lock:
            handles = self._stop(f"{source} raised {type(error).__name__}", None)
        _cancel_all(handles)

    def _ask_retry(self, node: Node, error: BaseException,
                   number: int) -> tuple[bool, BaseException] | _Ended | None:
        """Ask ``node``'s retry policy about ``error`` (outside the lock); :data:`_ENDED`
        when its predicate raised a BaseException, which ended the run."""
        try:
            return _retry_decision(node.step.retry, error, number)
        except BaseException as fatal:  # SystemExit from a retry predicate: the run ends
            self._user_fatal(fatal, "a retry predicate")
            return _ENDED

    def _user_fatal(self, error: BaseException, source: str) -> None:
        """:meth:`_fatal` from an engine transition (not the sink): deliver the end."""
        self._fatal(error, source)
        self._sink.flush()

    def help_until_done(self, done: threading.Event) -> None:
        """From a nested ``run()``: drive this run on the calling thread until done."""
        self.drivers.help_until(self, done)

    def coroutine_loop(self) -> asyncio.AbstractEventLoop:
        """The loop this run's coroutine steps run on: the backend's, or one lent to
        this run alone until it ends."""
        loop = self.backend.loop
        if loop is not None:
            return loop
        with self._lease_lock:
            if self._lease is None:
                self._lease = lend()
            return self._lease.loop

    def _complete(self) -> None:
        # under lock
        self.state = _DONE
        self.end_time = self._now()
        if self._gate is not None:
            self._gate.stop()
        self.drivers.wake_helpers()
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
            waits=self._gate.waits if self._gate is not None else None,
        )
        if self.failure is not None:
            self.failure.result = self.result
        self._sink.close(self.failure)

    def _deliver_completed(self) -> None:
        self._deliver_end(None)

    def _deliver_error(self, error: BaseException) -> None:
        self._deliver_end(error)

    def _deliver_end(self, error: BaseException | None) -> None:
        """Tell the observers how the run ended: with the BaseException that user code
        raised outside an action, if one ended it (so ``observe(...).run()`` raises it
        instead of waiting for an end nobody sends), else its failure or completion."""
        self._finalize()
        if self.fatal is not None:
            error = self.fatal
        try:
            for observer in self._watchers():
                if error is None:
                    observer.on_completed()
                else:
                    observer.on_error(error)
        finally:
            self._unlink()

    def _unlink(self) -> None:
        """Once everyone was told: drop the links from each node to its dependents, the
        only cycles among the nodes, so a finished run is freed by reference counting
        as soon as it is dropped (measured: a 10,000-step run left 50,000 objects of
        cyclic garbage; peak RSS over six runs 61 → 48 MB). Nothing walks them after
        the end: late calls find their attempts no longer running."""
        with self.lock:
            for node in self.nodes.values():
                node.dependents.clear()

    def _watchers(self) -> list[Any]:
        if self._disposed or (self._sink.detached and self.fatal is None):
            return []  # unsubscribed; a fatal error still ends every subscription
        observers = list(self._event_subscribers)
        return observers if self._observer is None else [self._observer, *observers]

    def _finalize(self) -> None:
        # Outside the lock, once: tasks submitted ahead and never launched cancelled,
        # remote values fetched (Dask), spans ended, the lent loop given back, and only
        # then is anyone told the run is over.
        if self.ahead is not None:
            self.ahead.cancel_rest()
        if self.result is not None and not self._disposed:
            self.result = self.backend.gather_result(self.result)
            if self.failure is not None:
                self.failure.result = self.result
        if self.tracer is not None and self.tracer.enabled:  # a no-op span ends by itself
            counts: dict[str, int] = {}
            for node in self.nodes.values():
                counts[node.status.value] = counts.get(node.status.value, 0) + 1
            self.tracer.end_run(self.failure, counts)
        with self._lease_lock:
            if self._lease is not None:
                self._lease.release()
        on_done, self._on_done = self._on_done, None  # once; it may hold what holds the run
        if on_done is not None:
            on_done(self)

    # -- subscriptions (outside the lock; they take it) ---------------------------------

    def subscribe_step(self, step: str, observer: Any) -> Callable[[], None]:
        """Send ``observer`` the values of ``step`` so far, then as they come, then its
        end (completed; or an error when it failed or was cancelled). Returns a
        function that unsubscribes (the run goes on)."""
        node = self.nodes[step]
        with self.lock:
            values = list(node.values)
            self._sink.put(Call(_replay, observer, values))
            if node.finished:
                self._sink.put(Call(end_of_step, observer, node.status, node.error, step))
            else:
                self._subscribers.setdefault(step, []).append(observer)
        self._sink.flush()
        return lambda: self._unsubscribe(observer, step)

    def subscribe_events(self, observer: Any) -> Callable[[], None]:
        """Send ``observer`` every event so far (a recording run), then as they come,
        then the end of the run. Returns a function that unsubscribes."""
        with self.lock:
            self._sink.put(Call(_replay, observer, list(self._log or ())))
            if self.state is _DONE:
                self._sink.put(Call(_end_of_run, observer, self.failure))
            else:
                self._event_subscribers.append(observer)
        self._sink.flush()
        return lambda: self._unsubscribe(observer)

    def _unsubscribe(self, observer: Any, step: str | None = None) -> None:
        """Stop sending ``observer`` the values of ``step`` (None: the events); the
        subscriber tables are read and changed under the lock only."""
        with self.lock:
            observers = self._event_subscribers if step is None else self._subscribers.get(
                step, [])
            if observer in observers:
                observers.remove(observer)

    # -- what the drivers ask (under the lock) -------------------------------------------

    def has_slot(self) -> bool:
        """Whether the run is running and below ``max_concurrency``."""
        return self._running < self._limit and self.state is _LIVE

    def free_slots(self, wanted: int) -> int:
        """How many of ``wanted`` attempts may start now."""
        return int(max(0, min(wanted, self._limit - self._running)))

    def over(self) -> bool:
        """Whether the run has stopped taking work."""
        return self.state is _DONE or self.state is _STOPPING

    # -- what the gate asks (under the lock; see .limits) ---------------------------------

    def waiting_room_free(self) -> float:
        """Slots neither running nor promised to a step already admitted."""
        return self._limit - self._running - len(self.drivers.ready) - len(self._ready_other)

    def admitted(self, node: Node) -> None:
        """The gate let ``node`` through with its units held: on to a driver or loop."""
        self._to_runner(node)

    def doomed(self, node: Node) -> None:
        """A waiting ``node`` was doomed meanwhile: settle it (or drop its item)."""
        self._doomed(node)

    def announce(self, kind: EventKind, node: Node, reason: str, index: int,
                 attempt: int) -> None:
        """Emit a WAITING event for call ``index`` (attempt ``attempt``) of ``node``."""
        self._emit(kind, node, reason=reason, attempt=attempt, index=index)

    def poke_later(self, gates: list[Any]) -> None:
        """Other runs to poke once this run's lock is let go."""
        self._pokes.extend(gates)

    def poke(self) -> None:
        """Outside the lock (a timer or another run): admit what now fits."""
        with self.lock:
            if self.state is not _LIVE:
                return
            launches = self._take_ready()
            wake = self.drivers.should_wake(self)
        self.after(launches, wake)

    # -- transitions (each called from some thread; takes the lock) ------------------

    def emit_value(self, attempt: ActiveAttempt, value: Any) -> bool:
        """A streaming attempt produced ``value``. False if the attempt no longer counts."""
        if self._check is not None:
            self._check(attempt.node.id, value)  # raises into the step: it fails
        with self.lock:
            if attempt.state is not RUNNING:
                return False
            attempt.emitted = True
            attempt.node.streamed = True
            self._append(attempt.node, value, attempt.number, attempt.index)
            launches = self._take_ready()
            wake = self.drivers.should_wake(self)
        self.after(launches, wake)
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
        if self._check is not None and error is None and value is not _NOTHING:
            error = _checked(self._check, attempt.node.id, value)
            if error is not None:
                value = _NOTHING
        decision = None if error is None else self._ask_retry(attempt.node, error,
                                                              attempt.number)
        if decision is _ENDED:
            return None
        if attempt.span is not None and attempt.state is RUNNING:
            # Before the lock: once this transition is made another thread may end the
            # run, and the run's span must not end before its attempts' spans.
            invoke.end_span(attempt, error)
        with self.lock:
            if attempt.state is not RUNNING:
                self._returned(attempt)
                if self._gate is None:
                    return self.drivers.take(self) if inline else None
                launches = self._take_ready()  # its resources may let others in
                nxt = self.drivers.take(self) if inline else None
                wake = self.drivers.should_wake(self)
                returned = True
            else:
                returned = False
                attempt.state = DONE
                self._release(attempt)
                now = self._now()
                node = attempt.node
                if node.mode is _SYNC:
                    self.drivers.finished(attempt, now)
                if error is None:
                    self._succeeded(node, attempt, value, now)
                else:
                    self._attempt_failed(attempt, error, now, decision)
                launches = self._take_ready()
                nxt = self.drivers.take(self) if inline else None
                wake = self.drivers.should_wake(self)
        if returned:
            self.after(launches, wake)
            return nxt
        timer = attempt.timer
        if timer is not None:
            timer.cancel()
        if attempt.span is not None:
            invoke.end_span(attempt, error)
        self.after(launches, wake)
        return nxt

    def timed_out(self, attempt: ActiveAttempt) -> None:
        """The attempt's timeout passed: abandon it and fail (or retry) the step."""
        node = attempt.node
        error: BaseException = StepTimeoutError(node.id, node.step.timeout or 0.0, attempt.number)
        decision = self._ask_retry(node, error, attempt.number)
        if decision is _ENDED:
            return
        with self.lock:
            if attempt.state is not RUNNING:
                return
            attempt.state = ABANDONED
            self._active.discard(attempt)
            self.drivers.abandoned(attempt)
            stuck = attempt.stuck  # its thread stays inside the call, holding its slot
            if not stuck:
                self._release(attempt)
            elif attempt.holds_slot:
                self._stuck_slots += 1
            self._attempt_failed(attempt, error, self._now(), decision)
            launches = self._take_ready()
            wake = self.drivers.should_wake(self)
            lost = stuck and self._stuck_slots >= self._limit and self._queued_untimed()
        if stuck:  # outside the lock: at the cap, the pool may fail this run at once
            self.backend.abandoned(1)
        attempt.cancel()
        if attempt.handle is not None:
            attempt.handle.cancel()
        invoke.end_span(attempt, error, outcome="timeout")
        self.after(launches, wake)
        if lost:
            self.lost_capacity(self._slots_error())

    def due_passed(self, due: _Due) -> None:
        """A queued call's timeout passed (a timer). The timeout covers the call from
        the moment it was due: if it began, its attempt times out; if it never began —
        no thread, executor or ``max_concurrency`` slot took it — it is taken out of
        its queue (so it never runs) and fails without starting, or is retried."""
        node = due.node
        withdrawn = None
        with self.lock:
            attempt = due.attempt
            if attempt is None and self.state is _LIVE and node.due and due in node.due:
                node.due.remove(due)
                withdrawn = self._withdraw(node)
        if attempt is not None:
            self.timed_out(attempt)
            return
        if withdrawn is None:
            return
        index, number, waited = withdrawn
        error: BaseException = StepTimeoutError(node.id, node.step.timeout or 0.0, number,
                                                waited)
        decision = self._ask_retry(node, error, number)
        if decision is _ENDED:
            return
        with self.lock:
            if self.state is not _LIVE or node.finished:
                return
            if node.reason is not None:  # doomed while it waited: skipped, not failed
                if node.mapping is not None:
                    node.mapping.done += 1  # its item, taken out above, never runs
                    self._map_check(node)
                else:
                    node.busy = False
                    self._settle(node)
            else:
                attempt = ActiveAttempt(node, index, number, due.since)
                attempt.state, attempt.holds_slot = ABANDONED, False
                if number > node.tries:
                    node.tries = number
                self._attempt_failed(attempt, error, self._now(), decision)
            launches = self._take_ready()
            wake = self.drivers.should_wake(self)
        self.after(launches, wake)

    def _withdraw(self, node: Node) -> tuple[int, int, str] | None:
        """Under the lock: take one queued call of ``node`` out of its queue (a driver's,
        the launch queue or the gate); its index, attempt number and what it waited
        for. None if none is queued."""
        gate = self._gate
        queue = self.drivers.ready if node.mode is _SYNC else self._ready_other
        call: tuple[int, int] | None = None
        if node in queue:
            queue.remove(node)
            if gate is not None:  # admitted: its units go back
                gate.release(gate.claim(node))
            if self._running >= self._limit or node.mode is not _SYNC:
                waited = "for a max_concurrency slot"
            elif type(self.backend).spawn is Backend.spawn:
                waited = "for a worker thread"
            else:
                waited = f"for the {self.backend.name}"
        elif gate is not None:
            found, call = gate.withdraw(node)
            if not found:
                return None
            waited = ("for a max_concurrency slot" if self._running >= self._limit
                      else "for its resources (limits=, rates=)")
        else:
            return None
        if node.mapping is not None:
            index, number = call if call is not None else node.mapping.next_call()
        else:
            index, number = node.invoked, node.next_attempt
        return index, number, waited

    def _queued_untimed(self) -> bool:
        """Under the lock: whether a call with no timeout waits for a slot or a thread."""
        nodes = [*self.drivers.ready, *self._ready_other]
        if self._gate is not None:
            nodes.extend(self._gate.waiting())
        return any(node.step.timeout is None for node in nodes)

    def _slots_error(self) -> CapacityError:
        limit = int(self._limit)
        return CapacityError(limit, limit, self._stuck_slots, setting="max_concurrency")

    def lose_slots(self) -> None:
        """Every ``max_concurrency`` slot is held by an abandoned call while steps with
        no timeout wait: fail the run with a :class:`~rxsteps.CapacityError`."""
        with self.lock:
            error = self._slots_error()
        self.lost_capacity(error)

    def retry_due(self, node: Node, number: int) -> None:
        """A retry's backoff passed: queue the step's next attempt."""
        with self.lock:
            if self.state is not _LIVE or node.finished or node.next_attempt != number:
                return
            node.retry_timer = None
            self._queue(node)
            launches = self._take_ready()
            wake = self.drivers.should_wake(self)
        self.after(launches, wake)

    # -- under the lock -------------------------------------------------------------------

    def _release(self, attempt: ActiveAttempt) -> None:
        self._active.discard(attempt)
        if attempt.holds_slot:
            attempt.holds_slot = False
            self._running -= 1
        if attempt.held:
            self._give_back(attempt)

    def _give_back(self, attempt: ActiveAttempt) -> None:
        """The attempt's resource units go back to the limiter."""
        assert self._gate is not None
        self._gate.release(attempt.held)
        attempt.held = ()

    def _returned(self, attempt: ActiveAttempt) -> None:
        """A call abandoned earlier came back: its thread and slot are free again."""
        self.drivers.returned(attempt)
        if attempt.stuck:
            attempt.stuck = False
            self.backend.abandoned(-1)
        if attempt.holds_slot:  # kept by a timed-out call (see timed_out)
            attempt.holds_slot = False
            self._running -= 1
            self._stuck_slots -= 1
        if attempt.held:
            self._give_back(attempt)

    def _succeeded(self, node: Node, attempt: ActiveAttempt, value: Any, now: float) -> None:
        if node.mapping is not None:
            self._item_succeeded(node, attempt, value, now)
            return
        if value is not _NOTHING:
            self._append(node, value, attempt.number, attempt.index)
        self._attempts.append(
            Attempt(node.id, attempt.index, attempt.number, attempt.start, now, "succeeded")
        )
        if attempt.span is not None:
            node.span_context = attempt.span.get_span_context()
        node.last_attempt = attempt.number
        node.call_done()
        node.busy = False
        self._settle(node)

    def _emit(self, kind: EventKind, node: Node, **fields: Any) -> None:
        if not self._events:
            if self._notes and kind.terminal:
                self._sink.put(_step_end(node, kind, None))
            return
        event = StepEvent(kind, node.id, time=self._now(), **fields)
        self._sink.put(_step_end(node, kind, event) if self._notes and kind.terminal
                       else event)
        if self._log is not None:
            self._log.append(event)
        for observer in self._event_subscribers:
            self._sink.put(Call(observer.on_next, event))
        if self._subscribers and kind.terminal and node.id in self._subscribers:
            for observer in self._subscribers.pop(node.id):
                self._sink.put(Call(end_of_step, observer, node.status, node.error, node.id))

    def _append(self, node: Node, value: Any, number: int, index: int) -> None:
        node.values.append(value)
        if self._events:
            self._emit(EventKind.EMITTED, node, value=value, attempt=number, index=index)
            for observer in self._subscribers.get(node.id, ()):
                self._sink.put(Call(observer.on_next, value))
        streamed = node.streamed
        for dependent in node.dependents:
            if dependent.reason is None and not dependent.finished:
                if streamed and dependent.step.map is not None:
                    self._map_item_arrived(dependent, node, value)
                dependent.dep_emitted(node)
                if not dependent.busy and dependent.pending():
                    self._ready(dependent)

    def _ready(self, node: Node) -> None:
        """``node`` has a call available: queue it, or first ask its condition."""
        node.busy = True
        if node.step.when is None or node.checked == node.invoked:
            if node.step.map is None:
                self._queue(node)
            else:
                self._start_map(node)
        else:
            index = node.invoked
            self._checks.append(conditions.Check(node, index, node.args(index)))

    def _answered(self, answer: conditions.Answer) -> None:
        """A condition answered (under the lock again): queue, skip or fail the call."""
        node, index, _ = answer.check
        if self.state is not _LIVE or node.finished or node.invoked != index:
            return
        if node.reason is not None:  # doomed while its condition was asked
            node.busy = False
        elif answer.error is not None:
            self._fail(node, answer.error)
            return
        elif answer.ok:
            node.checked = index
            if node.step.map is None:
                self._queue(node)
            else:
                self._start_map(node)
            return
        else:
            node.skipped_calls += 1
            node.call_done()
            node.busy = False
        self._settle(node)

    # -- mapped steps (see mapping.py) ----------------------------------------------------

    def _start_map(self, node: Node) -> None:
        """A mapped call is ready: queue one attempt per item of the mapped value."""
        try:
            state = mapping.start(node, node.args(node.invoked))
        except Exception as error:  # MapTypeError, or the user's iterable raised
            self._fail(node, error)
            return
        node.mapping = state
        if not state.items:
            self._map_done(node)
        for _ in state.items:
            self._queue(node)

    def _item_succeeded(self, node: Node, attempt: ActiveAttempt, value: Any,
                        now: float) -> None:
        self._attempts.append(
            Attempt(node.id, attempt.index, attempt.number, attempt.start, now, "succeeded")
        )
        node.mapping.succeeded(attempt.index, None if value is _NOTHING else value)
        if node.mapping.complete:
            self._map_done(node)

    def _item_failed(self, node: Node, attempt: ActiveAttempt, error: BaseException) -> None:
        """An item failed for good: fail the step now (fail-fast), or at the end."""
        error.add_note(f"in item {attempt.index} of step {node.id!r}")
        if self.fail_fast:
            node.mapping = None
            self._fail(node, error, attempt=attempt.number, index=attempt.index)
            return
        node.mapping.failed(attempt.index, error)
        if node.mapping.complete:
            self._map_done(node)

    def _map_item_arrived(self, node: Node, dep: Node, item: Any) -> None:
        """A streaming ``dep`` emitted ``item``: if ``node`` maps over it and its items
        already run, queue this one now (before that, :func:`mapping.start` reads it)."""
        if mapping.streams_items(node, dep):
            state = node.mapping
            if state is not None and state.open:
                state.add(item)
                self._queue(node)

    def _map_check(self, node: Node) -> None:
        """A busy mapped ``node``'s dependency ended, or it was doomed: close its items
        when no more can come, and end the step when every item has ended."""
        state = node.mapping
        if state.open and node.deps[state.position].finished:
            state.open = False
        if state.complete:
            self._map_done(node)

    def _doomed(self, node: Node) -> None:
        """A queued ``node`` was doomed (a dependency failed) before it began: settle
        it; for a mapped one, drop this item and end the step once none runs."""
        if node.due:  # its queued call's timeout
            node.due.popleft().cancel()
        if node.mapping is not None and not node.finished:
            node.mapping.drop()
            self._map_check(node)
            return
        node.busy = False
        self._settle(node)

    def _map_done(self, node: Node) -> None:
        """Every item ended: the list of results, or the group of the items' errors
        (or nothing, when a failed dependency doomed the step meanwhile)."""
        state, node.mapping = node.mapping, None
        if node.reason is not None:  # skipped, like any dependent of a failed step
            node.busy = False
            self._settle(node)
            return
        if state.errors:
            self._fail(node, MapItemsFailedError(node.id, state.errors, state.results))
            return
        self._append(node, state.results, 1, node.invoked)
        node.last_attempt = 1
        node.call_done()
        node.busy = False
        self._settle(node)

    def item_retry_due(self, node: Node, index: int, number: int) -> None:
        """An item's retry backoff passed: queue its next attempt."""
        with self.lock:
            if self.state is not _LIVE or node.finished or node.mapping is None:
                return
            node.mapping.retry(index, number)
            self._queue(node)
            launches = self._take_ready()
            wake = self.drivers.should_wake(self)
        self.after(launches, wake)

    def _queue(self, node: Node) -> None:
        if node.step.timeout is not None:
            self._arm_due(node)
        elif self._stuck_slots >= self._limit and not self._losing_slots:
            self._losing_slots = True  # it would wait forever: fail the run (after())
            self._pending_cancels.append(_LoseSlots(self))
        if self._gate is not None:  # it waits for a slot and its resources there
            self._gate.put(node)
        else:
            self._to_runner(node)

    def _arm_due(self, node: Node) -> None:
        """Under the lock: a call of ``node`` is due; its timeout starts now, while it
        waits for a slot or a thread, and goes on with the attempt that takes it
        (:meth:`begin`)."""
        due = _Due(node, self._now())
        if node.due is None:
            node.due = deque()
        node.due.append(due)
        timeout = node.step.timeout
        assert timeout is not None
        due.timer = self.backend.call_later(timeout, lambda: self.due_passed(due))

    def _to_runner(self, node: Node) -> None:
        """Past the gate (if any): on to a driver (sync) or the launch queue."""
        if node.mode is _SYNC:
            self.drivers.queue(node)
        else:
            self._ready_other.append(node)

    def _take_ready(self) -> list[ActiveAttempt]:
        """Attempts for the ready async and remote steps that have a slot."""
        launches: list[ActiveAttempt] = []
        if self._gate is not None:
            self._gate.admit(self._now())
        ready = self._ready_other
        while ready:
            attempt = self.begin(ready[0])
            if attempt is None:
                break
            ready.popleft()
            if attempt is not DOOMED:
                launches.append(attempt)
        if self._checks:  # this transition's calls waiting for a condition go with it
            launches = _Launches(launches)
            launches.checks, self._checks = self._checks, []
        return launches

    def begin(self, node: Node) -> ActiveAttempt | None:
        """Take a slot and start ``node``'s next attempt. None: no slot is free, or the
        run stopped; :data:`~.attempt.DOOMED`: the node was doomed while it waited, and
        is settled instead."""
        if self._running >= self._limit or self.state is not _LIVE:
            return None
        gate = self._gate
        if node.reason is not None or node.finished:
            self._doomed(node)
            if gate is not None:  # admitted, then doomed: its units let others in
                gate.release(gate.claim(node))
                gate.admit(self._now())
            return DOOMED
        self._running += 1
        if node.mapping is None:
            index = node.invoked
            attempt = ActiveAttempt(node, index, node.next_attempt, self._now())
            attempt.args = node.args(index)
        else:  # the next item of a mapped call
            index, number = node.mapping.next_call()
            attempt = ActiveAttempt(node, index, number, self._now())
            attempt.args = node.mapping.args(node.args(node.invoked), index)
        if gate is not None:
            attempt.held = gate.claim(node)
        if node.due:  # its timeout started when it was queued (see _arm_due)
            due = node.due.popleft()
            due.attempt = attempt
            attempt.timer = due
        self._active.add(attempt)
        if node.started is None:
            node.started = attempt.start
            node.status = _RUNNING
        if attempt.number > node.tries:
            node.tries = attempt.number
        if self._events:
            self._emit(EventKind.STARTED, node, attempt=attempt.number, index=index)
        return attempt

    def _settle(self, node: Node) -> None:
        """Finish ``node`` and its descendants as far as their joins allow."""
        work = [node]
        while work:
            n = work.pop()
            if n.finished:
                continue
            if n.busy:
                if n.mapping is not None:  # its stream may have ended, or it was doomed
                    self._map_check(n)
                continue
            if n.reason is not None:
                self._end(n, StepStatus.SKIPPED)
            elif n.pending():
                self._ready(n)
                continue
            elif not n.exhausted():
                continue
            elif n.skipped_calls and n.skipped_calls == n.invoked:
                n.reason, n.by_condition = CONDITION_FALSE, True
                self._end(n, StepStatus.SKIPPED)
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
                elif dependent.reason is not None:
                    pass
                elif n.by_condition and n.id in dependent.step.optional:
                    conditions.stand_in(dependent, n)
                else:
                    dependent.reason = f"dependency {n.id!r} {n.status.value}"
                    dependent.by_condition = n.by_condition
                work.append(dependent)

    def _end(self, node: Node, status: StepStatus, **fields: Any) -> None:
        node.status = status
        node.finished = True
        node.ended = self._now()
        self._remaining -= 1
        if not self._events and not self._notes:
            pass
        elif status is _SUCCEEDED:
            self._emit(EventKind.SUCCEEDED, node, value=_last(node), attempt=node.last_attempt,
                       index=max(0, node.invoked - 1))
        else:
            self._emit(EventKind(status.value), node, reason=node.reason, error=node.error,
                       **fields)
        if self._remaining == 0 and self.state is _LIVE:
            self._complete()

    def _attempt_failed(
        self,
        attempt: ActiveAttempt,
        error: BaseException,
        now: float,
        decision: tuple[bool, BaseException] | None,
    ) -> None:
        node = attempt.node
        outcome = "timeout" if isinstance(error, StepTimeoutError) else "failed"
        self._attempts.append(
            Attempt(node.id, attempt.index, attempt.number, attempt.start, now, outcome, error)
        )
        if decision is not None and self.state is _LIVE and not attempt.emitted:
            again, error = decision
            if again:
                self._schedule_retry(node, attempt, error)
                return
        if node.mapping is not None:
            self._item_failed(node, attempt, error)
            return
        self._fail(node, error, attempt=attempt.number, index=attempt.index)

    def _fail(self, node: Node, error: BaseException, **fields: Any) -> None:
        """``node`` failed for good with ``error``: stop the run, or skip its dependents."""
        node.error = error
        node.busy = False
        failure = None
        if self.fail_fast and self.state is _LIVE:
            failure = StepFailedError(node.id, error)
            failure.__cause__ = error
            self.failure = failure  # before _end, which completes the run if it was last
        self._end(node, StepStatus.FAILED, **fields)
        if self.state is not _LIVE:
            return
        if failure is not None:
            self._pending_cancels = self._stop(f"step {node.id!r} failed", failure)
        else:
            for dependent in node.dependents:
                if not dependent.finished and dependent.reason is None:
                    dependent.reason = f"dependency {node.id!r} failed"
                self._settle(dependent)

    def _schedule_retry(self, node: Node, attempt: ActiveAttempt, error: BaseException) -> None:
        retry = node.step.retry
        assert retry is not None
        delay = retry.delay(attempt.number)
        self._emit(EventKind.RETRYING, node, error=error, attempt=attempt.number,
                   index=attempt.index, delay=delay)
        number = attempt.number + 1
        if node.mapping is not None:  # items retry on their own
            index = attempt.index
            node.retry_timer = self.backend.call_later(
                delay, lambda: self.item_retry_due(node, index, number))
            return
        node.next_attempt = number
        node.retry_timer = self.backend.call_later(delay, lambda: self.retry_due(node, number))

    def _stop(self, reason: str, failure: StepFailedError | CapacityError | None) -> list[Handle]:
        if self.state is not _LIVE:
            return []
        self.state = _STOPPING
        self.failure = failure
        now = self._now()
        self.drivers.stop()
        self._ready_other.clear()
        handles: list[Handle] = []
        for attempt in list(self._active):
            attempt.state = ABANDONED
            self._release(attempt)
            self._attempts.append(Attempt(attempt.node.id, attempt.index, attempt.number,
                                          attempt.start, now, "cancelled"))
            handles.append(attempt)
            handles.extend(h for h in (attempt.handle, attempt.timer) if h is not None)
            if attempt.span is not None:
                handles.append(_SpanEnd(attempt))
        if self._gate is not None:
            self._gate.stop()
        for node in self.nodes.values():
            if node.due:
                handles.extend(node.due)
                node.due.clear()
            if node.finished:
                continue
            if node.retry_timer is not None:
                handles.append(node.retry_timer)
            node.reason = reason
            node.status = StepStatus.CANCELLED
            node.finished = True
            node.ended = now
            self._remaining -= 1
            self._emit(EventKind.CANCELLED, node, reason=reason)
        self._complete()
        handles.extend(_Poke(gate) for gate in self._pokes)  # after the lock, like pokes
        self._pokes.clear()
        return handles

    # -- outside the lock -----------------------------------------------------------------

    def after(self, launches: list[ActiveAttempt], wake: Wake = Wake.NOTHING) -> None:
        """Carry out what a transition decided: cancellations, a driver to wake, async
        and remote attempts to launch, events to deliver."""
        if self._pending_cancels:
            handles, self._pending_cancels = self._pending_cancels, []
            _cancel_all(handles)
        if self._pokes:
            pokes, self._pokes = self._pokes, []
            for gate in pokes:
                gate.poke()
        if wake is not _NO_WAKE:
            self.drivers.wake(self, wake)
        for attempt in launches:
            invoke.launch(self, attempt)
        if self._sink.queue:
            self._sink.flush(inline=self._quiet_end())
        if type(launches) is _Launches:
            self._ask_conditions(launches.checks)
        elif self._checks:  # left by a transition that launches nothing (a driver's)
            with self.lock:
                checks, self._checks = self._checks, []
            self._ask_conditions(checks)

    def _ask_conditions(self, checks: list[conditions.Check]) -> None:
        """Ask the conditions of the calls this transition made available — user code,
        so here, outside the lock, on the thread that made them available (never
        another step's thread, mid-stream) — and carry out what the answers decide."""
        if not checks:
            return
        try:
            answers = conditions.ask_all(self.context, checks, self.backend)
        except BaseException as fatal:  # SystemExit from a condition: the run ends
            self._user_fatal(fatal, "a condition")
            return
        with self.lock:
            for answer in answers:
                self._answered(answer)
            launches = self._take_ready()
            wake = self.drivers.should_wake(self)
        self.after(launches, wake)

    def _quiet_end(self) -> bool:
        """Whether the run's end may be delivered on this thread: nothing but rxsteps'
        own ``on_done`` (which only sets or queues) is waiting for it — no observer,
        no recording, no store to write (never on the thread that ended the last step:
        it may be an event loop), no spans to export, no remote values to fetch. Saves
        a hand-over per run (~95 µs on the 2-core machine; a 5-step run costs ~200)."""
        return (self.state is _DONE and not self._events and not self._notes
                and not self.backend.remote
                and not (self.tracer is not None and self.tracer.enabled))


class _Poke:
    """Pokes another run's gate when a stopping run's cancellations are carried out."""

    __slots__ = ("_gate",)

    def __init__(self, gate: Any) -> None:
        self._gate = gate

    def cancel(self) -> None:
        self._gate.poke()


class _Ended(enum.Enum):
    """A retry predicate raised a BaseException: the run ended (:meth:`Run._ask_retry`)."""

    ENDED = "ended"


_ENDED = _Ended.ENDED


class _Due:
    """A queued call's timeout, armed when the call was due (:meth:`Run._arm_due`);
    ``attempt`` is the attempt that took it, once one began. A :class:`Handle`."""

    __slots__ = ("attempt", "node", "since", "timer")

    def __init__(self, node: Node, since: float) -> None:
        self.node = node
        self.since = since
        self.attempt: ActiveAttempt | None = None
        self.timer: Handle | None = None

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()


class _LoseSlots:
    """Fails a run whose every slot is held by an abandoned call, once its lock is
    let go (queued in ``_pending_cancels``)."""

    __slots__ = ("_run",)

    def __init__(self, run: Run) -> None:
        self._run = run

    def cancel(self) -> None:
        self._run.lose_slots()


class _Launches(list[ActiveAttempt]):
    """What :meth:`Run._take_ready` returns when its transition also made calls
    available that wait for their condition (``checks``): asked by :meth:`Run.after`."""

    __slots__ = ("checks",)

    checks: list[conditions.Check]


class _SpanEnd:
    """Ends an abandoned attempt's span when the run's cancellations are carried out."""

    __slots__ = ("_attempt",)

    def __init__(self, attempt: ActiveAttempt) -> None:
        self._attempt = attempt

    def cancel(self) -> None:
        invoke.end_span(self._attempt, None, "cancelled")


def _retry_decision(
    retry: Retry | None, error: BaseException | None, number: int
) -> tuple[bool, BaseException] | None:
    """Ask the retry policy (user code: outside the lock) whether to try again. A
    ``BaseException`` from its predicate goes on: the caller ends the run with it."""
    if retry is None or error is None:
        return None
    try:
        return retry.should_retry(error, number), error
    except Exception as predicate_error:
        predicate_error.__context__ = error
        return False, predicate_error


def _step_end(node: Node, kind: EventKind, event: StepEvent | None) -> StepEnd:
    """What a store keeps of ``node``, which just ended (under the lock)."""
    return StepEnd(node.id, kind.value, node.values, node.tries, node.started, node.ended,
                   node.error, node.reason, event)


def _checked(check: Callable[[str, Any], None], step: str, value: Any) -> BaseException | None:
    try:
        check(step, value)
    except Exception as error:
        return error
    return None


def delivery_context() -> contextvars.Context:
    """A copy of the caller's context in which no step is current (event callbacks)."""
    context = contextvars.copy_context()
    context.run(_CURRENT.set, None)
    return context


def _replay(observer: Any, values: list[Any]) -> None:
    for value in values:
        observer.on_next(value)


def _end_of_run(observer: Any, failure: BaseException | None) -> None:
    if failure is None:
        observer.on_completed()
    else:
        observer.on_error(failure)


def _last(node: Node) -> Any:
    return node.values[-1] if node.values else None


def _cancel_all(handles: list[Any]) -> None:
    for handle in handles:
        with contextlib.suppress(Exception):  # best effort, like reactivex disposal
            handle.cancel()


def start_run(
    graph: StepGraph,
    inputs: Mapping[str, Any] | None,
    options: RunOptions,
    *,
    observer: Any = None,
    on_done: Callable[[Run], None] | None = None,
    backend: Backend | None = None,
    record: bool = False,
    inline_events: bool = False,
    sequence: int | None = None,
    waits: bool = False,
    context: contextvars.Context | None = None,
) -> Run:
    """Build a run of ``graph`` and start it: the one door every front door uses.

    Everything is checked first, by :func:`~.checks.check_run`. If anything interrupts
    the start (Ctrl-C), the run is cancelled before the exception goes on, so nothing
    keeps running in the background.

    Args:
        graph: The steps.
        inputs: A value per declared input.
        options: The checked options.
        observer: Receives the events (default: ``options.on_event``, if any).
        on_done: Called once when the run is over and its events delivered.
        backend: A backend already resolved from ``options.scheduler``.
        record: Keep every event so late subscribers of the handle get them all.
        inline_events: Deliver on the queuing thread (rxsteps' own observers only).
        sequence: A pipeline's event number.
        waits: The caller blocks until the run ends (see :func:`~.checks.check_run`).
        context: The caller's ``contextvars`` (default: this thread's): a pipeline
            passes its subscriber's.

    Returns:
        The started :class:`Run`.

    Raises:
        GraphError, InputError, ResourceError, SchedulerError: From
            :func:`~.checks.check_run`, before anything ran.
        StoreError: With ``options.store``, the store cannot be used.
    """
    checked = check_run(graph, inputs, options, backend=backend, waits=waits)
    backend = checked.backend
    if observer is None and options.on_event is not None:
        observer = _Callback(options.on_event)
    resume, durable = options.resume, None
    if options.store is not None:
        durable, resume = open_durable(graph, checked.inputs, options, backend.now, sequence)
        on_done = durable.on_done(on_done)
    try:
        execution = Run(
            graph, checked.inputs, backend,
            fail_fast=options.fail_fast, max_concurrency=options.max_concurrency,
            observer=observer, on_done=on_done, tracer_provider=options.tracer_provider,
            resume=resume, sequence=sequence, inline_events=inline_events, record=record,
            limiter=options.limiter, priority=options.priority, history=options.history,
            check=None if durable is None else durable.check,
            recorder=None if durable is None else durable.record, context=context,
        )
        if durable is not None:
            durable.prepare(execution.nodes)
    except BaseException:
        if durable is not None:
            durable.release("failed")
        raise
    try:
        execution.start()
    except BaseException:
        execution.cancel("run interrupted while starting")
        raise
    return execution


def should_help() -> bool:
    """Whether a blocking ``run()`` called here should drive its run rather than wait:
    on rxsteps' own threads (a step calling ``run()``), waiting would hold a thread
    the inner run needs."""
    return on_worker_thread() or on_loop_thread() or driving()


class _Callback:
    """An observer that forwards events to a plain callback (for ``on_event=``)."""

    __slots__ = ("on_next",)

    def __init__(self, on_next: Callable[[StepEvent], Any]) -> None:
        self.on_next = on_next

    def on_error(self, error: BaseException) -> None:
        pass

    def on_completed(self) -> None:
        pass
