"""The bundled demo workflow, ``rxsteps demo``, and examples/research_agent.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rxsteps import EventKind, RunResult, StepEvent, StepStatus, run
from rxsteps.cli.demo import build_graph, demo_inputs
from tests.support.isolated import tree_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_run() -> tuple[RunResult, list[StepEvent]]:
    events: list[StepEvent] = []
    return run(build_graph(), demo_inputs(), on_event=events.append), events


def test_the_graph_shows_every_feature() -> None:
    graph = build_graph()
    assert graph.inputs == ("question",)
    assert graph["arxiv_search"].retry is not None
    assert graph["fetch_pages"].timeout is not None
    assert graph["draft"].streaming
    assert len(graph.dependents("plan")) >= 4  # the fan-out


def test_the_demo_succeeds_with_a_retry_and_a_timeout(
    demo_run: tuple[RunResult, list[StepEvent]],
) -> None:
    result, events = demo_run
    assert all(status is StepStatus.SUCCEEDED for status in result.status.values())
    outcomes = {(a.step, a.attempt): a.outcome for a in result.attempts}
    assert outcomes[("arxiv_search", 1)] == "failed"
    assert outcomes[("arxiv_search", 2)] == "succeeded"
    assert outcomes[("fetch_pages", 1)] == "timeout"
    assert outcomes[("fetch_pages", 2)] == "succeeded"
    tokens = [e.value for e in events if e.kind is EventKind.EMITTED and e.step == "draft"]
    assert len(tokens) > 10
    assert result["answer"].startswith(" ".join(tokens))
    assert result.duration < 10  # about 1.7 s; generous for slow machines
    assert result.critical_path()[0][0] == "plan"
    assert result.critical_path()[0][-1] == "answer"


def test_rxsteps_demo_writes_its_pictures(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "rxsteps.cli", "demo", "--out", str(out)],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                          env=tree_env())
    assert done.returncode == 0, done.stderr
    for name in ("dag.png", "timeline.png"):
        assert (out / name).stat().st_size > 10_000
        assert str(out / name) in done.stdout
    assert "rxsteps: 10 succeeded" in done.stdout
    assert "retrying" in done.stdout and "timed out" in done.stdout


def test_the_example_script_runs(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "research_agent.py"),
                           str(tmp_path)], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, env=tree_env())
    assert done.returncode == 0, done.stderr
    assert "critical path" in done.stdout
    assert (tmp_path / "dag.png").stat().st_size > 10_000
    assert (tmp_path / "timeline.png").stat().st_size > 10_000
