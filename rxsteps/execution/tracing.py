"""OpenTelemetry spans for a run and for every step attempt.

A run opens one ``rxsteps.run`` span (attributes ``rxsteps.step_count``,
``rxsteps.scheduler``) and, per attempt, an ``rxsteps.step <id>`` span — named for its
step, so a trace viewer shows which step each is (``rxsteps.step.id``,
``rxsteps.step.attempt``, ``rxsteps.step.index``; an item of a mapped step also
``rxsteps.item``, its index among the items) whose parent is the run span on every
scheduler: the run's context is captured when it starts and passed explicitly, because
context does not cross thread pools by itself. While an action runs, its step span is
the current span, so spans the action opens are its children. A step span links to
the spans of the dependency attempts that produced its inputs. Failures follow the
semantic conventions: ERROR status, ``error.type`` (the exception's class) and an
``exception`` event (``exception.escaped`` a boolean, true: the exception ended the
span); a keep-going run with failed steps ends with ERROR status too, and the
``error.type`` a fail-fast run has, ``rxsteps.errors.StepFailedError``.

Only ``opentelemetry-api`` is needed; without an SDK configured, or with the run span
sampled out, no step span is made at all (a no-op costs nothing per step).

Example:
    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    ...     InMemorySpanExporter)
    >>> from rxsteps import Step, StepGraph, run
    >>> exporter = InMemorySpanExporter()
    >>> provider = TracerProvider()
    >>> provider.add_span_processor(SimpleSpanProcessor(exporter))
    >>> _ = run(StepGraph([Step("a", lambda: 1)]), tracer_provider=provider)
    >>> sorted(span.name for span in exporter.get_finished_spans())
    ['rxsteps.run', 'rxsteps.step a']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, Span, Status, StatusCode

from .._version import __version__
from ..errors import StepFailedError

__all__ = ["RunTracer"]


class RunTracer:
    """The spans of one run. Thread-safe: spans are independent objects."""

    __slots__ = ("_context", "_span", "_tracer", "enabled")

    def __init__(
        self,
        provider: trace.TracerProvider | None,
        *,
        step_count: int,
        scheduler: str,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        tracer = _default_tracer() if provider is None else trace.get_tracer(
            "rxsteps", __version__, tracer_provider=provider)
        span = tracer.start_span(
            "rxsteps.run",
            attributes={
                "rxsteps.step_count": step_count,
                "rxsteps.scheduler": scheduler,
                **(attributes or {}),
            },
        )
        self._span: Span = span
        self.enabled = span.is_recording()
        self._context = trace.set_span_in_context(span)
        self._tracer: trace.Tracer | None = tracer if self.enabled else None


    def start_step(
        self, step: str, attempt: int, index: int, links: Sequence[Any] = (),
        *, item: bool = False,
    ) -> Span | None:
        """Open the span of one attempt, child of the run span; an item of a mapped
        step (``item``) also carries ``rxsteps.item``, its index among the items."""
        if self._tracer is None:
            return None
        attributes: dict[str, Any] = {
            "rxsteps.step.id": step,
            "rxsteps.step.attempt": attempt,
            "rxsteps.step.index": index,
        }
        if item:
            attributes["rxsteps.item"] = index
        return self._tracer.start_span(
            f"rxsteps.step {step}",  # step ids are fixed per graph: low cardinality
            context=self._context,
            attributes=attributes,
            links=[Link(ctx) for ctx in links if ctx is not None],
        )

    def step_context(self, span: Span) -> otel_context.Context:
        """The context in which ``span`` is current, for the action to run in."""
        return trace.set_span_in_context(span, self._context)

    @staticmethod
    def end_step(span: Span | None, error: BaseException | None, outcome: str) -> None:
        """Close an attempt's span, recording a failure."""
        if span is None:
            return
        span.set_attribute("rxsteps.step.outcome", outcome)
        if error is not None:
            _record_error(span, error)
        span.end()

    def end_run(self, error: BaseException | None, counts: dict[str, int]) -> None:
        """Close the run span with the count of steps per final status."""
        for status, count in counts.items():
            self._span.set_attribute(f"rxsteps.steps.{status}", count)
        if error is not None:
            _record_error(self._span, error)
        elif counts.get("failed"):  # keep-going: the run finished, but not every step did
            failed = counts["failed"]
            self._span.set_attribute("error.type", _error_type(StepFailedError))
            self._span.set_status(Status(
                StatusCode.ERROR, f"{failed} step{'s' if failed != 1 else ''} failed"))
        self._span.end()


_DEFAULT: list[trace.Tracer] = []


def _default_tracer() -> trace.Tracer:
    """The tracer of the global provider, made once: OpenTelemetry's proxy tracer
    follows a provider set later, so it is what an instrumented library keeps in a
    module global (asking for it again costs an environment look-up per run)."""
    if not _DEFAULT:
        _DEFAULT.append(trace.get_tracer("rxsteps", __version__))
    return _DEFAULT[0]


def _record_error(span: Span, error: BaseException) -> None:
    """The semantic conventions for a failed operation: ``error.type`` (the exception's
    fully qualified class), an ``exception`` event, and ERROR status with a message.

    The event's ``exception.escaped`` is the boolean ``True`` (the exception ended the
    attempt or the run); the SDK would write the string ``"False"``.
    """
    kind = type(error)
    span.set_attribute("error.type", _error_type(kind))
    span.record_exception(error, attributes={"exception.escaped": True}, escaped=True)
    span.set_status(Status(StatusCode.ERROR, f"{kind.__name__}: {error}"))


def _error_type(kind: type[BaseException]) -> str:
    """An exception class as ``error.type`` names it: ``KeyError``, ``pkg.mod.Class``."""
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def attach(ctx: otel_context.Context) -> object:
    """Make ``ctx`` current in this thread; returns the token for :func:`detach`."""
    return otel_context.attach(ctx)


def detach(token: object) -> None:
    """Undo :func:`attach`."""
    otel_context.detach(token)  # type: ignore[arg-type]
