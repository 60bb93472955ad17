"""Resume without loss: rerun only what did not succeed, reuse the rest."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from rxsteps import EventKind, Step, StepFailedError, StepGraph, StepStatus, arun, run


def _graph(calls: Counter[str], broken: set[str]) -> StepGraph:
    def make(name: str):
        def action(*args: int) -> int:
            calls[name] += 1
            if name in broken:
                raise RuntimeError(f"{name} is down")
            return sum(args) + len(name)

        return action

    return StepGraph(
        [
            Step("a", make("a")),
            Step("b", make("b"), ["a"]),
            Step("c", make("c"), ["a"]),
            Step("d", make("d"), ["b", "c"]),
            Step("e", make("e"), ["a"]),
            Step("tokens", lambda: (t for t in "xyz")),
        ]
    )


@pytest.mark.parametrize("fail_fast", [True, False])
def test_resume_reruns_only_what_did_not_succeed(fail_fast: bool) -> None:
    calls: Counter[str] = Counter()
    broken = {"c"}
    graph = _graph(calls, broken)
    if fail_fast:
        with pytest.raises(StepFailedError) as info:
            run(graph, fail_fast=True)
        first = info.value.result
    else:
        first = run(graph, fail_fast=False)
    assert first.status["c"] is StepStatus.FAILED
    succeeded_before = {s for s, st in first.status.items() if st is StepStatus.SUCCEEDED}
    broken.clear()  # the tool is back
    before = Counter(calls)
    events = []
    second = run(graph, resume=first, on_event=events.append)
    rerun = calls - before
    assert second.ok
    assert not (set(rerun) & succeeded_before)  # no succeeded action called twice
    assert {"c", "d"} <= set(rerun)
    assert second.emitted("tokens") == ["x", "y", "z"]
    assert second["d"] == run(_graph(Counter(), set()))["d"]
    resumed = {e.step for e in events if e.kind is EventKind.SUCCEEDED and e.reason == "resumed"}
    assert resumed == succeeded_before


def test_arun_resumes_too() -> None:
    calls: Counter[str] = Counter()
    broken = {"b"}
    graph = _graph(calls, broken)
    first = run(graph, fail_fast=False)
    broken.clear()
    before = Counter(calls)
    second = asyncio.run(arun(graph, resume=first))
    assert second.ok
    assert set(calls - before) == {"b", "d"}
