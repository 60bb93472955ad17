"""Streaming tokens: a simulated model streams its answer; you see every token at once.

The graph retrieves context, then a model step — an async generator — yields tokens.
Two steps consume the stream: ``count`` is called per token (the default zip join) and
``answer`` once with the list of all tokens (``join="collect"``). The tokens are
printed the moment the model yields them, through :func:`rxsteps.astream`; the final
answer arrives after the last one.

Run: ``python examples/streaming_tokens.py "your question"``
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

from rxsteps import EventKind, Step, StepGraph, astream

DELAY = 0.02  # seconds between tokens: a model "thinking"


async def retrieve(question: str) -> list[str]:
    """Pretend to look up context for the question."""
    await asyncio.sleep(DELAY)
    return [f"context about {word}" for word in question.split()[:2]]


async def model(question: str, context: list[str]) -> AsyncIterator[str]:
    """A simulated language model: streams its answer one token at a time."""
    text = f"You asked: {question} I read {len(context)} snippets. Streams arrive as they happen."
    for token in text.split(" "):
        await asyncio.sleep(DELAY)
        yield token + " "


def count(token: str) -> int:
    """Called once per token (zip join): its length."""
    return len(token)


def answer(tokens: list[str]) -> str:
    """Called once, after the model finished (collect join), with every token."""
    return "".join(tokens).strip()


def build_graph() -> StepGraph:
    """retrieve → model (streams) → count (per token), answer (all tokens)."""
    return StepGraph(
        [
            Step("retrieve", retrieve, ["question"]),
            Step("model", model, ["question", "retrieve"]),
            Step("count", count, ["model"]),
            Step("answer", answer, ["model"], join="collect"),
        ],
        inputs=["question"],
    )


async def stream_answer(question: str, out: list[str] | None = None) -> str:
    """Print tokens as they arrive; return the collected answer.

    ``out``, if given, receives each token too (the tests read it).
    """
    final = ""
    async for event in astream(build_graph(), {"question": question}):
        if event.kind is EventKind.EMITTED and event.step == "model":
            print(event.value, end="", flush=True)
            if out is not None:
                out.append(event.value)
        elif event.kind is EventKind.SUCCEEDED and event.step == "answer":
            final = event.value
    print()
    return final


def main() -> None:
    """Entry point: the question is the command line, or a default one."""
    question = " ".join(sys.argv[1:]) or "What is eager execution?"
    final = asyncio.run(stream_answer(question))
    print(f"[answer step got {len(final.split())} words]")


if __name__ == "__main__":
    main()
