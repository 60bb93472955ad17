"""Trace a workflow with OpenTelemetry and print the spans as they finish.

rxsteps opens one ``rxsteps.run`` span per run and one ``rxsteps.step <id>`` span per step
attempt, each a child of the run span whatever thread or event loop the step ran on. A
span the action opens itself is a child of its step's span. This script configures the
OpenTelemetry SDK with a console exporter that prints one line per span, runs a small
research graph whose ``papers`` tool fails once and is retried, and shows the tree.

Run it (needs the ``otel`` extra: ``.venv/bin/pip install -e '.[otel]'``)::

    python examples/tracing.py

To send the same spans to a collector instead, swap the exporter for
``opentelemetry.exporter.otlp.proto.grpc.trace_exporter.OTLPSpanExporter`` (package
``opentelemetry-exporter-otlp``); nothing in the graph changes.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

from rxsteps import Retry, Step, StepGraph, current, run

provider = TracerProvider(resource=Resource.create({"service.name": "rxsteps-example"}))
tracer = provider.get_tracer("example")  # what the actions use for their own spans
_START = time.time_ns()  # span times are wall-clock nanoseconds
_SHORT: dict[int, str] = {}


def _short(span_id: int) -> str:
    return _SHORT.setdefault(span_id, f"#{len(_SHORT) + 1}")


def one_line(span: ReadableSpan) -> str:
    """A span as one readable line: id, parent, name, step and attempt, timing, status."""
    context = span.get_span_context()
    parent = _short(span.parent.span_id) if span.parent else "-"
    attributes: Any = span.attributes or {}
    step = attributes.get("rxsteps.step.id")
    what = f"{step} (attempt {attributes.get('rxsteps.step.attempt')})" if step else ""
    began = ((span.start_time or 0) - _START) / 1e6
    took = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
    status = span.status.status_code.name
    return (
        f"{_short(context.span_id):>4} parent {parent:>4}  {span.name:<13} {what:<22} "
        f"at {began:7.1f} ms  took {took:6.1f} ms  {status}\n"
    )


provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(formatter=one_line)))


def plan(question: str) -> list[str]:
    return [f"{question} (theory)", f"{question} (practice)"]


def web(queries: list[str]) -> list[str]:
    with tracer.start_as_current_span("http GET search.example"):  # a child of the step
        time.sleep(0.05)
    return [f"web: {q}" for q in queries]


_papers_calls = [0]


async def papers(queries: list[str]) -> list[str]:
    _papers_calls[0] += 1
    await asyncio.sleep(0.03)
    if _papers_calls[0] == 1:
        raise ConnectionError("the paper index answered 503")
    return [f"paper: {q}" for q in queries]


def answer(web_hits: list[str], paper_hits: list[str]) -> str:
    context = current()
    with tracer.start_as_current_span(f"summarize in {context.step}"):
        return f"{len(web_hits) + len(paper_hits)} sources"


graph = StepGraph(
    [
        Step("plan", plan, ["question"]),
        Step("web", web, ["plan"]),
        Step("papers", papers, ["plan"], retry=Retry(attempts=2, backoff=0.02)),
        Step("answer", answer, ["web", "papers"]),
    ],
    inputs=["question"],
)


def main() -> None:
    trace.set_tracer_provider(provider)
    print("spans as they finish (children before their parents):")
    result = run(graph, {"question": "why trace agents"}, tracer_provider=provider)
    print(f"answer: {result['answer']}; the failed 'papers' attempt is an ERROR span,")
    print("every step span's parent is the run span, and the actions' own spans are")
    print("children of their step's span.")
    provider.shutdown()


if __name__ == "__main__":
    main()
