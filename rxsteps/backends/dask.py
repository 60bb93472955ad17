"""Dask ``distributed``: actions run as tasks on a cluster; their values stay there.

``scheduler=client`` (a ``distributed.Client``) or ``scheduler=DaskBackend(client,
gather=...)`` runs every sync action of the graph as one Dask task per attempt, with
``client.submit(..., key="<step>-<attempt>-<uuid>", pure=False)``.

State. The backend holds only the caller's client and the gather mode; it keeps no
per-run state, so one backend may serve many runs at once, and it never closes the
client. Each run's state stays in its :class:`~rxsteps.execution.run.Run`; what a
remote step records there is a reference, not a value:

- **Values live on the cluster.** The value a remote call records (``node.values``) is
  the ``distributed.Future`` of its task, so a dependent's arguments are futures, which
  Dask resolves on the worker that runs it: data moves worker to worker, never through
  the client. The ``gather`` mode decides what the caller gets back (see
  :data:`GATHER_MODES`); by default the final :class:`~rxsteps.RunResult` is gathered
  with one ``client.gather`` when the run ends, while EMITTED and SUCCEEDED events carry
  the futures.
- **Submitted ahead.** When a run starts, every step the engine can plan (see
  :mod:`rxsteps.execution.ahead`) is submitted at once with its dependencies'
  futures as arguments (:meth:`DaskBackend.submit_ahead`), so Dask starts each task
  when its dependencies are done, with no round trip through the client; the engine
  still launches each attempt when its dependencies have succeeded (STARTED), and
  then takes that task instead of submitting one. ``ahead=False`` turns it off.
- **Callbacks.** Dask calls a future's done-callbacks on one thread of the client
  process ("Dask-Callback-Thread"); the engine continues from there: it records the
  future, starts dependents (more ``client.submit`` calls) and delivers events.
- **Retries** are rxsteps' own :class:`~rxsteps.Retry`: a failed attempt is resubmitted
  under a new key after the policy's backoff, so RETRYING events, ``on=`` filters and
  per-attempt timeouts behave as on threads. Dask's ``retries=`` is not used: it has
  no backoff and no filter, and its attempts are invisible to the client.
- **Timeouts and cancellation** call ``Future.cancel()``: a queued task never runs, and
  a running one's result is dropped (Dask cannot interrupt a running task; its worker
  thread is busy until the action returns).
- **Conditions** (``Step(when=...)``) run in this process: the values they need are
  fetched with one ``client.gather`` before they are asked (:meth:`local_values`).
- **Streaming and coroutines.** A generator step is refused before anything runs (a
  task returns one value). So is a mapped step (``map=``), unless ``gather="events"``:
  its items are the items of a value the client only holds a future of. Coroutine and
  async-generator actions run locally on the background event loop; from a remote
  dependency they receive its future.

Example:
    >>> from distributed import Client
    >>> from rxsteps import Step, StepGraph, run
    >>> client = Client(processes=False, n_workers=1, dashboard_address=None)
    >>> graph = StepGraph([Step("a", lambda: 20), Step("b", lambda a: a + 1, ["a"])])
    >>> run(graph, scheduler=client)["b"]
    21
    >>> client.close()
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Literal

import cloudpickle  # type: ignore[import-untyped,unused-ignore]
from distributed import Future as DaskFuture

from ..errors import OptionError, SchedulerError
from ..result import RunResult
from .base import Backend, Handle, Submitted

__all__ = ["GATHER_MODES", "DaskBackend", "GatherMode"]

log = logging.getLogger("rxsteps")

GatherMode = Literal["result", "outputs", "events", "none"]

#: What the client fetches from the cluster, and when:
#:
#: - ``"result"`` (default): nothing during the run; when it ends, every future in the
#:   :class:`~rxsteps.RunResult` (each value of each step) with one ``client.gather``.
#: - ``"outputs"``: the same, but only the values of the graph's outputs (steps nothing
#:   depends on); intermediate values stay futures on the cluster.
#: - ``"events"``: each value as soon as its task ends, before its EMITTED event, so
#:   events, the result and dependents all get plain values. A dependent's argument
#:   then travels worker → client → worker.
#: - ``"none"``: nothing; the result holds futures (they keep the data on the cluster
#:   until the result is dropped).
GATHER_MODES: tuple[GatherMode, ...] = ("result", "outputs", "events", "none")


class DaskBackend(Backend):
    """Actions as tasks on a Dask cluster; the engine keeps futures, not values.

    ``scheduler=client`` uses ``DaskBackend(client)``; build one yourself to choose
    ``gather``. See the module docstring for where values live and how retries,
    timeouts and cancellation map onto Dask.

    Args:
        client: A synchronous ``distributed.Client``; the caller keeps it open while
            runs use it, and closes it.
        gather: When values are fetched to the client: one of :data:`GATHER_MODES`.
        ahead: Submit the tasks a run can plan when it starts, each with the futures of
            its dependencies (see the module docstring); ``False`` submits each task
            only once its dependencies have finished. Never with ``gather="events"``.

    Raises:
        ValueError: An unknown ``gather`` mode.
        SchedulerError: An asynchronous client (the engine calls the client from its
            own threads and needs blocking calls).

    Example:
        >>> from distributed import Client, Future
        >>> from rxsteps import Step, StepGraph, run
        >>> client = Client(processes=False, n_workers=1, dashboard_address=None)
        >>> graph = StepGraph([Step("a", lambda: 2), Step("b", lambda a: a * 10, ["a"])])
        >>> result = run(graph, scheduler=DaskBackend(client, gather="none"))
        >>> isinstance(result["b"], Future), result["b"].result()
        (True, 20)
        >>> client.close()
    """

    name = "dask"
    remote = True

    def __init__(self, client: Any, gather: GatherMode = "result", *,
                 ahead: bool = True) -> None:
        if gather not in GATHER_MODES:
            modes = ", ".join(map(repr, GATHER_MODES))
            raise OptionError(f"gather must be one of {modes}, got {gather!r}", "gather")
        if getattr(client, "asynchronous", False):
            raise SchedulerError(
                "rxsteps needs a synchronous distributed.Client: it calls the client from "
                "its own threads; create it with asynchronous=False"
            )
        self.client = client
        self.gather = gather
        self.keeps_values = gather != "events"  # else each value is fetched as it comes
        self.ahead = ahead and self.keeps_values  # futures as arguments of later tasks

    def __repr__(self) -> str:
        return f"DaskBackend({self.client!r}, gather={self.gather!r})"

    def dumps(self, action: Any) -> bytes:
        """Check that an action can be shipped: Dask serializes tasks with cloudpickle,
        so lambdas and closures pass, and what they capture must pickle too."""
        return bytes(cloudpickle.dumps(action))

    def submit(
        self, fn: Callable[..., Any], args: tuple[Any, ...], done: Callable[[Future[Any]], None]
    ) -> Handle:
        """Submit ``fn(*args)`` as a Dask task; call ``done`` with its outcome.

        ``done`` gets a ``concurrent.futures.Future`` whose result is the value to
        record: the Dask future itself, or its value under ``gather="events"``. A
        ``label`` attribute of ``done`` (``"<step>-<attempt>"``) starts the task key.
        A submission that fails at once (an argument that cannot be pickled) is
        reported through ``done`` as the attempt's error.

        Returns:
            A handle whose ``cancel()`` cancels the Dask future.
        """
        try:
            future = self._submit(fn, args, getattr(done, "label", "rxsteps"))
        except Exception as error:
            failed: Future[Any] = Future()
            failed.set_exception(error)
            done(failed)
            return _NoHandle()
        return _attach(future, done, self.gather == "events")

    def submit_ahead(self, fn: Callable[..., Any], args: tuple[Any, ...],
                     label: str) -> Submitted | None:
        """Submit ``fn(*args)`` now, ``args`` holding futures of unfinished tasks, which
        Dask waits for; ``None`` if ``ahead`` is off or the submission fails (the
        engine then submits the attempt itself, which reports the error)."""
        if not self.ahead:
            return None
        try:
            return _Ahead(self._submit(fn, args, label))
        except Exception:
            return None

    def _submit(self, fn: Callable[..., Any], args: tuple[Any, ...], label: str) -> Any:
        key = f"{label}-{uuid.uuid4().hex}"
        return self.client.submit(fn, *args, key=key, pure=False)

    def local_values(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """``args`` with their Dask futures fetched, in one ``client.gather``: a
        condition runs in this process and needs the values (the action, on the
        cluster, still gets the futures)."""
        if not any(isinstance(arg, DaskFuture) for arg in args):
            return args
        return tuple(self.client.gather(list(args)))

    def gather_result(self, result: RunResult) -> RunResult:
        """The run's result with its futures replaced by their values, per ``gather``.

        The engine calls this once, when the run has ended and before it reports the
        result. All futures are fetched with a single ``client.gather``. If that fails
        (a value cannot be pickled, or its worker died and it cannot be recomputed),
        they are fetched one by one, and a value that still cannot be fetched is
        logged and stays a future in the result.

        Args:
            result: The result as the engine built it.

        Returns:
            A result with the values the mode asks for; ``result`` itself when there is
            nothing to fetch.

        Example:
            >>> from distributed import Client
            >>> from rxsteps import Step, StepGraph, run
            >>> client = Client(processes=False, n_workers=1, dashboard_address=None)
            >>> backend = DaskBackend(client, gather="none")
            >>> result = run(StepGraph([Step("a", lambda: "v")]), scheduler=backend)
            >>> DaskBackend(client).gather_result(result)["a"]
            'v'
            >>> client.close()
        """
        if self.gather not in ("result", "outputs"):
            return result
        graph = result.graph
        wanted = [
            step for step in result.status
            if self.gather == "result" or not graph.dependents(step)
        ]
        emitted = {step: result.emitted(step) for step in result.status}
        futures = {
            value.key: value
            for step in wanted for value in emitted[step] if isinstance(value, DaskFuture)
        }
        if not futures:
            return result
        values = self._fetch(futures)
        for step in wanted:
            emitted[step] = [
                values[v.key] if isinstance(v, DaskFuture) and v.key in values else v
                for v in emitted[step]
            ]
        return _with_emitted(result, emitted)

    def _fetch(self, futures: dict[Any, Any]) -> dict[Any, Any]:
        """Values by key: one gather; if it fails, one by one, keeping what fails."""
        try:
            gathered = self.client.gather(list(futures.values()))
        except Exception:
            return self._fetch_each(futures)
        return dict(zip(futures, gathered, strict=True))

    def _fetch_each(self, futures: dict[Any, Any]) -> dict[Any, Any]:
        values: dict[Any, Any] = {}
        for key, future in futures.items():
            try:
                values[key] = self.client.gather(future)
            except Exception as error:
                reason = str(error).split("\n", 1)[0]
                log.warning("rxsteps: could not gather %s (%s: %s); the result keeps its "
                            "Dask future", key, type(error).__name__, reason)
        return values


class _DaskHandle:
    """Cancels a Dask future from any thread; a closed client has nothing to cancel."""

    __slots__ = ("_future",)

    def __init__(self, future: Any) -> None:
        self._future = future

    def cancel(self) -> None:
        with contextlib.suppress(Exception):
            self._future.cancel(reason="cancelled by rxsteps")


class _Ahead:
    """A task submitted ahead (:meth:`DaskBackend.submit_ahead`)."""

    __slots__ = ("value",)

    def __init__(self, future: Any) -> None:
        self.value = future

    def attach(self, done: Callable[[Future[Any]], None]) -> Handle:
        return _attach(self.value, done, False)

    def cancel(self) -> None:
        _DaskHandle(self.value).cancel()


def _attach(future: Any, done: Callable[[Future[Any]], None], fetch: bool) -> Handle:
    future.add_done_callback(lambda finished: done(_outcome(finished, fetch)))
    return _DaskHandle(future)


class _NoHandle:
    __slots__ = ()

    def cancel(self) -> None:
        pass


def _outcome(future: Any, fetch: bool) -> Future[Any]:
    """A finished Dask future as the ``concurrent.futures.Future`` the engine reads."""
    outcome: Future[Any] = Future()
    status = future.status
    if status == "cancelled":
        outcome.cancel()
    elif status == "finished" and not fetch:
        outcome.set_result(future)
    elif status == "finished":
        try:
            outcome.set_result(future.result())
        except BaseException as error:
            outcome.set_exception(error)
    else:  # "error" (or "lost": wait for Dask's verdict)
        outcome.set_exception(_error_of(future, status))
    return outcome


def _error_of(future: Any, status: str) -> BaseException:
    try:
        error: BaseException | None = future.exception()
    except BaseException as fetch_error:
        return fetch_error
    return error or RuntimeError(f"Dask task {future.key} ended {status}")


def _with_emitted(result: RunResult, emitted: dict[str, list[Any]]) -> RunResult:
    """A copy of ``result`` with other emitted values (everything else shared)."""
    return RunResult(
        graph=result.graph,
        inputs=result.inputs,
        emitted=emitted,
        status=result.status,
        errors=result.errors,
        reasons=result.reasons,
        started=result.started,
        ended=result.ended,
        attempts=list(result.attempts),
        start=result.start,
        end=result.end,
        sequence=result.sequence,
        failure=result.failure,
    )
