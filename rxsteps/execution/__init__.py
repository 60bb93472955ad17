"""The engine: how a run of a step graph happens. Internal; the front doors
(:func:`rxsteps.run`, :func:`rxsteps.arun`, :func:`rxsteps.observe`,
:func:`rxsteps.start`, :func:`rxsteps.astream`, :func:`rxsteps.pipeline`) are its users.

The map::

    options.RunOptions ──> run.start_run ──> run.Run ────────────── owns all the state below
                                               │  nodes: node.Node per step, the step's
                                               │         reactivex.Observable (values so
                                               │         far, the join cursor, status)
                                               │  drivers: drivers.Drivers (sync steps' threads)
                                               │  _active: attempt.ActiveAttempt in flight
                                               │  _sink: sink.EventSink (events, serially;
                                               │         a store's sink.StepEnd items)
                                               │  tracer: tracing.RunTracer (OpenTelemetry)
                                               │  ahead: ahead.Ahead (remote tasks submitted
                                               │         as the run starts, Dask)
                                               ▼
    checks.check_run ── every refusal before a run starts (graph, inputs, uses=,
                        scheduler, steps the backend cannot run); start_run, the lazy
                        front doors and the CLI call it, nothing else checks
    invoke ── how one attempt executes: sync (run_sync on a driver), async (a task on
              the run's loop), remote (submit to an executor); every path ends in
              exactly one Run.finish
    monitor ── one thread that wakes more drivers when a run's drivers block
    mapping ── mapped steps (map=): one attempt per item; over a stream, each value
               is an item started as it arrives
    flow ── pipelines: one run per event, ordered, with backpressure
    conditions ── when=: asked outside the run's lock, on the thread that made the call
    limits ── uses=, limits=, rates=: the run's gate, in critical-path order
    durable, caching ── store=: each step's end committed before it is reported; cache=
    ahead ── remote tasks submitted when the run starts, with unfinished tasks' futures

**Who owns what.** :class:`~.run.Run` owns every piece of a run's state and guards it
with one lock; nothing else writes it. :class:`~.drivers.Drivers` owns its counters
(drivers alive, waking, blocked; the ready queue of sync steps) under the same lock.
Nodes and attempts hold state only; the run mutates them. No user code runs under the
lock: actions run on drivers or loops, retry predicates are asked before the lock is
taken, and events are delivered after it is released, on a thread of their own.

**How a run ends and is freed.** Nothing the run owns points back at it once its end
is delivered: the drivers are handed the run on each call (a driver's job holds it
while it runs), the sink drops the run's end callbacks after calling them, ``on_done``
is called once and dropped, and the nodes' links to their dependents are cleared
(:meth:`~.run.Run._unlink`). So a finished run, its nodes and attempts are freed by
reference counting as soon as its result is dropped, not left as cyclic garbage for
a full collection (a 10,000-step run made 50,000 such objects; a full collection
of them cost ~50 ms). A run that failed may still leave a cycle through its errors'
tracebacks; the collector takes those.

**How an attempt travels.** A value arrives (:meth:`~.run.Run.emit_value`) or a step
ends (:meth:`~.run.Run.finish`); under the lock the run appends it to the node (the
step's observable), tells each dependent's join subscribed to it (:mod:`.node`: the
engine's own zip/latest/collect operators, O(1) per value), and queues the dependents
that now have a call. :meth:`~.run.Run.begin` takes a ``max_concurrency`` slot and makes an
:class:`~.attempt.ActiveAttempt`, emitting STARTED. A sync attempt is taken by the
driver that finished the last one — no thread hop — or by a driver woken for it; an
async or remote one is launched after the lock is released (:func:`.invoke.launch`).
Its action runs in a copy of the caller's ``contextvars``, with
:func:`rxsteps.current` returning the attempt. It ends in exactly one
:meth:`~.run.Run.finish` — or a timeout (:meth:`~.run.Run.timed_out`) or the run's
cancellation abandons it first, and whatever it returns later is dropped.

**Where it runs** is a backend's business (:mod:`rxsteps.backends`): threads, event
loops, timers and executors, shared by all runs so that none can block another (see
``docs/concepts/isolation.md``).

Example:
    >>> from rxsteps import Step, StepGraph
    >>> from rxsteps.execution.options import RunOptions
    >>> from rxsteps.execution.run import start_run
    >>> import threading
    >>> done = threading.Event()
    >>> run = start_run(StepGraph([Step("a", lambda: 1)]), None, RunOptions(),
    ...                 on_done=lambda _: done.set())
    >>> done.wait(5), run.result["a"]
    (True, 1)
"""
