"""``rxsteps runs``: list, show, draw, resume and delete the runs of a store (subprocess):
an SQLite file, and once a PostgreSQL URL."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rxsteps import Step, StepGraph, run
from rxsteps.cli.runs import stored_result
from rxsteps.stores import open_store
from rxsteps.stores.base import new_owner
from rxsteps.stores.postgres import redact
from tests.support import tree_env

FLOW = '''
import os
from rxsteps import Step, StepGraph

def fetch(q):
    with open("fetch.calls", "a") as f:
        f.write("x")
    return q * 2

def answer(f):
    if os.path.exists("broken"):
        raise ConnectionError("model down")
    return f + "!"

graph = StepGraph([Step("fetch", fetch, ["q"]), Step("answer", answer, ["fetch"])],
                  inputs=["q"])
'''


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "flow.py").write_text(FLOW)
    (tmp_path / "broken").write_text("")
    done = cli(tmp_path, "run", "flow:graph", "-i", "q=ab", "--plain", "--store", "runs.db",
               "--run-id", "order-1")
    assert done.returncode == 1, done
    return tmp_path


def cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rxsteps.cli", *args], cwd=folder,
                          capture_output=True, text=True, timeout=60, env=tree_env())


def test_list_and_show(folder: Path) -> None:
    listed = cli(folder, "runs", "list", "--store", "runs.db")
    assert listed.returncode == 0
    header, row = listed.stdout.splitlines()
    assert header.split() == ["run", "status", "steps", "updated"]
    assert row.split()[:3] == ["order-1", "failed", "2"]
    shown = cli(folder, "runs", "show", "--store", "runs.db", "order-1")
    assert shown.returncode == 1  # the run failed
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("run order-1: failed; created ")
    assert lines[2].split()[:2] == ["fetch", "succeeded"]
    assert lines[3].split()[:2] == ["answer", "failed"]
    assert lines[3].endswith("ConnectionError('model down')")


def test_resume_takes_the_stored_inputs_and_skips_what_succeeded(folder: Path) -> None:
    (folder / "broken").unlink()
    done = cli(folder, "runs", "resume", "--store", "runs.db", "order-1", "flow:graph",
               "--plain")
    assert done.returncode == 0, done.stderr
    assert "succeeded  fetch  (0.000 s) resumed" in done.stdout
    assert done.stdout.rstrip().endswith("abab!")
    assert (folder / "fetch.calls").read_text() == "x"


def test_draw_writes_the_dag_and_the_timeline(folder: Path) -> None:
    pytest.importorskip("matplotlib")
    done = cli(folder, "runs", "draw", "--store", "runs.db", "order-1", "-o", "dag.png",
               "--timeline", "timeline.png")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["wrote dag.png", "wrote timeline.png"]
    assert (folder / "dag.png").stat().st_size > 1000
    assert (folder / "timeline.png").stat().st_size > 1000


def test_delete_by_id_and_by_age(folder: Path) -> None:
    missing = cli(folder, "runs", "delete", "--store", "runs.db", "nope")
    assert missing.returncode == 2
    assert missing.stderr == "rxsteps: error: no run 'nope' in store 'runs.db'\n"
    kept = cli(folder, "runs", "delete", "--store", "runs.db", "--older-than", "1")
    assert kept.returncode == 0 and kept.stdout == ""
    gone = cli(folder, "runs", "delete", "--store", "runs.db", "order-1")
    assert gone.stdout == "deleted order-1\n"
    shown = cli(folder, "runs", "show", "--store", "runs.db", "order-1")
    assert shown.stderr == ("rxsteps: error: no run 'order-1' in store 'runs.db' "
                            "(runs: none)\n")


def test_run_list_show_and_delete_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    (tmp_path / "flow.py").write_text(FLOW)
    (tmp_path / "broken").write_text("")
    done = cli(tmp_path, "run", "flow:graph", "-i", "q=ab", "--plain", "--store",
               postgres_url, "--run-id", "order-1")
    assert done.returncode == 1, done
    row = cli(tmp_path, "runs", "list", "--store", postgres_url).stdout.splitlines()[1]
    assert row.split()[:3] == ["order-1", "failed", "2"]
    shown = cli(tmp_path, "runs", "show", "--store", postgres_url, "order-1")
    assert shown.stdout.splitlines()[3].endswith("ConnectionError('model down')")
    (tmp_path / "broken").unlink()
    resumed = cli(tmp_path, "runs", "resume", "--store", postgres_url, "order-1",
                  "flow:graph", "--plain")
    assert resumed.returncode == 0 and (tmp_path / "fetch.calls").read_text() == "x"
    assert cli(tmp_path, "runs", "delete", "--store", postgres_url, "order-1").stdout == (
        "deleted order-1\n")
    missing = cli(tmp_path, "runs", "show", "--store", postgres_url, "order-1")
    assert missing.stderr == (f"rxsteps: error: no run 'order-1' in store "
                              f"{redact(postgres_url)!r} (runs: none)\n")


def test_a_cache_hit_is_kept_in_the_store_shown_and_drawn_as_cached(tmp_path: Path) -> None:
    calls = []

    def fetch(q: str) -> str:
        calls.append(q)
        return q * 2

    graph = StepGraph([Step("fetch", fetch, ["q"], cache=True, version="1"),
                       Step("answer", lambda f: f + "!", ["fetch"])], inputs=["q"])
    store = str(tmp_path / "runs.db")
    run(graph, {"q": "ab"}, store=store, run_id="first")
    assert run(graph, {"q": "ab"}, store=store, run_id="second").cached == {"fetch"}
    assert calls == ["ab"]
    shown = cli(tmp_path, "runs", "show", "--store", "runs.db", "second")
    assert shown.returncode == 0, shown.stderr
    rows = {line.split()[0]: line.split() for line in shown.stdout.splitlines()[2:]}
    assert rows["fetch"][1] == "succeeded" and rows["fetch"][-1] == "cached"
    assert rows["answer"][-1] != "cached"
    first = cli(tmp_path, "runs", "show", "--store", "runs.db", "first").stdout
    assert "cached" not in first
    stored = open_store(store).load("second")
    assert stored is not None
    outcomes = {a.step: a.outcome for a in stored_result(stored).attempts}
    assert outcomes == {"fetch": "cached", "answer": "succeeded"}


def test_a_killed_run_is_listed_interrupted_and_deleted_by_age(tmp_path: Path) -> None:
    store = str(tmp_path / "runs.db")
    graph = StepGraph([Step("a", lambda: 1)])
    for run_id in ("killed", "live"):
        run(graph, store=store, run_id=run_id)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    host, old = socket.gethostname(), time.time() - 90 * 86400
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE runs SET status = 'running', updated = ?, owner = ? WHERE "
                     "run_id = 'killed'", (old, f"{host}:{dead}:1:x"))
        conn.execute("UPDATE runs SET status = 'running', updated = ?, owner = ? WHERE "
                     "run_id = 'live'", (old, new_owner()))  # this process: alive
    listed = cli(tmp_path, "runs", "list", "--store", "runs.db").stdout.splitlines()
    assert {row.split()[0]: row.split()[1] for row in listed[1:]} == {
        "killed": "interrupted", "live": "running"}
    shown = cli(tmp_path, "runs", "show", "--store", "runs.db", "killed")
    assert shown.stdout.startswith("run killed: interrupted; created ")
    deleted = cli(tmp_path, "runs", "delete", "--store", "runs.db", "--older-than", "30")
    assert deleted.returncode == 0 and deleted.stdout == "deleted killed\n"
    assert [r.run_id for r in open_store(store).runs()] == ["live"]
