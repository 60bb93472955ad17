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


def test_resume_refuses_other_inputs_or_another_graph() -> None:
    from rxsteps import InputError

    graph = StepGraph([Step("echo", lambda q: q, ["q"])], inputs=["q"])
    first = run(graph, {"q": "old"})
    with pytest.raises(InputError) as info:
        run(graph, {"q": "new"}, resume=first)
    assert str(info.value) == (
        "cannot resume: input 'q' differs from the one the result was computed with; "
        "run without resume= to start afresh"
    )
    other = StepGraph([Step("other", lambda q: q, ["q"])], inputs=["q"])
    with pytest.raises(InputError, match=r"^cannot resume: the result has step 'echo'"):
        run(other, {"q": "old"}, resume=first)


def test_resumed_steps_take_no_time_in_the_new_run() -> None:
    import time

    calls: Counter[str] = Counter()
    broken = {"b"}
    graph = _graph(calls, broken)
    first = run(graph, fail_fast=False)
    time.sleep(0.05)  # the second run starts later: old times must not leak in
    broken.clear()
    second = run(graph, resume=first)
    for step in ("a", "c", "e", "tokens"):
        assert second.started[step] == second.ended[step] == second.start
    assert second.critical_path()[1] <= second.duration + 1e-9


def test_a_resumed_stream_feeds_a_latest_join_every_value_again() -> None:
    seen: list[str] = []
    calls = Counter[str]()

    def stream():
        calls["stream"] += 1
        yield from "xyz"

    def echo(token: str) -> str:
        seen.append(token)
        return token

    def broken(token: str) -> str:
        raise RuntimeError("down")

    graph = StepGraph([Step("stream", stream), Step("echo", broken, ["stream"], join="latest")])
    with pytest.raises(StepFailedError) as failure:
        run(graph)
    fixed = StepGraph([Step("stream", stream), Step("echo", echo, ["stream"], join="latest")])
    result = run(fixed, resume=failure.value.result)
    assert calls["stream"] == 1  # not called again
    assert seen == ["x", "y", "z"]
    assert result["echo"] == "z"
