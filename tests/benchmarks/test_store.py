"""The store benchmark runs (tiny sizes) and reports what ``store=`` adds.

Not timed: a quick run's figures mean nothing. What is checked is that each workload
runs in a fresh child with and without a store, that every run with ``store=`` really
reached the SQLite file, and that the table shows both rows against their targets.
"""

from __future__ import annotations

import pytest

from benchmarks import bench_store
from benchmarks.child import spawn
from benchmarks.run import SECTIONS


@pytest.mark.parametrize("workload", bench_store.WORKLOADS)
def test_each_workload_runs_with_and_without_a_store_in_a_child(workload: str) -> None:
    record = spawn(bench_store.MODULE, "overhead", deadline_s=120, workload=workload,
                   reps=2, seed=1, quick=True)
    assert record["status"] == "ok", record
    assert record["steps"] == {"noop-10k": 300, "sleep-200": 48}[workload]
    assert [len(record["samples_s"][k]) for k in ("plain", "store")] == [2, 2]
    assert record["stored_runs"] == 3  # the warm-up and both timed runs were kept
    assert record["added_us_per_step"] == pytest.approx(
        (record["store_s"] - record["plain_s"]) / record["steps"] * 1e6)
    assert record["added_percent"] == pytest.approx(
        (record["store_s"] - record["plain_s"]) / record["plain_s"] * 100)
    low, high = record["added_us_per_step_range"]
    assert low <= record["added_us_per_step"] <= high
    low, high = record["added_percent_range"]
    assert low <= record["added_percent"] <= high


def test_the_table_has_both_rows_and_their_targets() -> None:
    ok = {"status": "ok", "steps": 10_000, "plain_s": 0.2, "store_s": 0.4,
          "added_us_per_step": 20.0, "added_percent": 100.0,
          "samples_s": {"plain": [0.2] * 5, "store": [0.38, 0.39, 0.4, 0.41, 0.45]}}
    slow = {"status": "ok", "steps": 200, "plain_s": 1.0, "store_s": 1.02,
            "added_us_per_step": 100.0, "added_percent": 2.0,
            "samples_s": {"plain": [1.0] * 5, "store": [1.0, 1.01, 1.02, 1.02, 1.03]}}
    text = bench_store.render({"noop-10k": {**ok, **bench_store.spread(ok["samples_s"],
                                                                        10_000)},
                               "sleep-200": slow})  # an older record: no ranges kept
    assert ("medians of 5 alternating pairs, one process per workload; what is added is "
            'shown as its median (min–max over the pairs); "met" judges the median') in text
    assert "| target | met (median) |" in text
    assert ("| `noop-10k` (10,000 steps) | 200.0 | 400.0 | 20.0 (18.0–25.0) | "
            "100.00 (90.00–125.00) | ≤ 30 µs/step added | yes |") in text
    assert ("| `sleep-200` (200 steps) | 1000.0 | 1020.0 | 100.0 (0.0–150.0) | "
            "2.00 (0.00–3.00) | ≤ 1 % of the makespan added | **no** |") in text
    timed_out = bench_store.render({"noop-10k": {"status": "timeout", "timeout_s": 300}})
    assert "| `noop-10k` (0 steps) | timed out after 300 s |" in timed_out


def test_the_section_is_registered() -> None:
    assert SECTIONS["store"].measure is bench_store.measure
