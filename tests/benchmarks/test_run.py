"""The benchmark harness runs and reports every row (``python -m benchmarks --quick``).

Not timed: the figures of a quick run mean nothing. What is checked is that the one
entry point runs every section in fresh child processes, verifies values, reports a
timeout as a finding, and measures each child's own memory.
"""

from __future__ import annotations

import doctest
import importlib
import json
import pkgutil
import subprocess
import sys
from typing import Any

import pytest

import benchmarks
from benchmarks import bench_limited, bench_store
from benchmarks.bench_engine import ENGINE_SYSTEMS, verify
from benchmarks.bench_pipeline import LATENCY, THROUGHPUT
from benchmarks.child import ROOT, spawn, stacks
from benchmarks.errors import BenchmarkError
from benchmarks.report import cell
from benchmarks.run import SECTIONS
from benchmarks.workloads import SYSTEMS

QUICK_LIMIT_S = 240  # a hard limit: the quick run takes seconds


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("bench") / "quick.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=QUICK_LIMIT_S)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout, json.loads(out.read_text())


def _statuses(record: Any) -> list[str]:
    if isinstance(record, dict):
        own = [record["status"]] if "status" in record else []
        return own + [s for value in record.values() for s in _statuses(value)]
    return []


@pytest.mark.slow
@pytest.mark.timeout(QUICK_LIMIT_S + 30)
def test_quick_run_measures_every_section_without_failures(
        quick_run: tuple[str, dict[str, Any]]) -> None:
    _, data = quick_run
    assert list(data["sections"]) == list(SECTIONS)
    assert data["machine"]["errors"] == []
    statuses = _statuses(data["sections"])
    limited = len(bench_limited.SYSTEMS) * len(bench_limited.SLOTS) + 1  # + virtual time
    stores = len(bench_store.WORKLOADS)
    assert len(statuses) == 6 * 3 + 1 + 3 + limited + stores + 4 + 3 + 4 + 3 + 1
    assert set(statuses) == {"ok"}


@pytest.mark.slow
@pytest.mark.timeout(QUICK_LIMIT_S + 30)
def test_quick_run_prints_every_row(quick_run: tuple[str, dict[str, Any]]) -> None:
    stdout, data = quick_run
    engine = data["sections"]["engine"]["workloads"]
    assert list(engine) == ["noop-10k", "chain-5k", "fan-10k"]
    for workload, records in engine.items():
        assert list(records) == ENGINE_SYSTEMS
        assert f"| `{workload}` (" in stdout
    for system in ENGINE_SYSTEMS:  # a column of the µs/step table, a row of the RSS one
        assert f"\n| {SYSTEMS[system].name} | " in stdout
    rows = ["**build total** (target ≤ 2)", "| waves (barrier per wave) |",
            "a chain with a 10-step cycle in the middle", "a chain whose root is a 2-cycle",
            "| rxsteps, `run(graph, scheduler=client)` |", "| build |", "| schedule |",
            "| call |", "| event |", "| result |"]
    rows += [f"| {name} |" for name, _, _ in THROUGHPUT.values()]
    rows += [f"| {name} |" for name, _ in LATENCY.values()]
    rows += [f"| {name} |" for name, _ in bench_limited.SYSTEMS.values()]
    rows += [f"| rxsteps, {name} |" for name, _, _ in bench_limited.ORDERS.values()]
    rows += [f"| `{workload}` (" for workload in bench_store.WORKLOADS]
    rows += ["A durable store's cost"]
    missing = [row for row in rows if row not in stdout]
    assert not missing
    tables = stdout.split("### Where the time")[0]
    assert "| — |" not in tables  # no empty cell before the profile


def test_a_child_that_does_not_answer_in_time_is_reported_as_a_timeout() -> None:
    record = spawn("benchmarks.bench_scale", "cycle", deadline_s=0.001, case="middle-100k",
                   system="rxsteps", seed=1, quick=True)
    assert record["status"] == "timeout"
    assert "Timeout (" in record["stderr"]  # faulthandler dumped the child's stacks
    assert cell(record, str) == "timed out after 0.001 s"


def test_a_deep_stack_keeps_the_timeout_banner_and_the_innermost_frames() -> None:
    inner = "  File \"re/_parser.py\", line 872 in _parse\n"
    outer = "  File \"<frozen runpy>\", line 198 in _run_module_as_main\n"
    stderr = "warning\nTimeout (0:00:00.001000)!\n" + inner + outer * 500
    kept = stacks(stderr)
    assert kept.startswith("Timeout (0:00:00.001000)!\n" + inner)
    assert len(kept) == 4000
    assert stacks("no banner here", limit=8) == "no banne"


def test_a_child_measures_its_own_peak_memory_not_its_parents() -> None:
    ballast = bytearray(96 * 2**20)  # touched pages: the parent's RSS grows by 96 MiB
    ballast[:: 4096] = b"x" * len(range(0, len(ballast), 4096))
    record = spawn("benchmarks.bench_engine", "e2e", deadline_s=120, workload="chain-5k",
                   system="sequential", reps=1, warmup=0, seed=1, quick=True)
    assert record["status"] == "ok"
    assert record["peak_rss_bytes"] < 64 * 2**20, record["peak_rss_bytes"]
    del ballast


def test_wrong_values_stop_the_benchmark() -> None:
    with pytest.raises(BenchmarkError) as caught:
        verify({"a": 1, "b": 3}, {"a": 1, "b": 2}, "graphlib on chain-5k")
    assert str(caught.value) == ("graphlib on chain-5k: wrong values for 1 of 2 steps "
                                 "(2 returned); first 'b': got 3, expected 2")


def test_a_task_that_computes_wrong_values_is_an_error_of_the_run() -> None:
    record = spawn("benchmarks.bench_pipeline", "throughput", deadline_s=120,
                   system="baseline-sync", events=-1, reps=1, seed=1, quick=True)
    assert record["status"] == "error"
    assert record["error"] == "baseline-sync: (count, sum of e) is (0, 0), expected (-1, 0)"


MODULES = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__, "benchmarks.")
                 if m.name != "benchmarks.__main__")


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(name)
    failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert failed == 0


def test_every_module_has_a_docstring_example() -> None:
    lacking = [name for name in MODULES
               if ">>>" not in (importlib.import_module(name).__doc__ or "")]
    assert not lacking
