"""Durable runs under SIGKILL and under contention, each in a subprocess with a hard limit.

The kill test: a driver process (fresh interpreter, no rxsteps threads yet) forks a child
per attempt that runs a 50-step graph in a store, and kills it with SIGKILL at a random
point — before a step's action, inside it (after the step's call was counted), right
after a step's end was committed (in the event callback), or from a timer at a random
moment (inside a commit, between commit and delivery…). After every kill the driver
notes which steps the store holds as succeeded and how often each had been called by
then (a file per step counts calls). The child is started again with the same run_id
until a run ends. At the end every result must equal the uninterrupted run's, and no
step whose success was committed may have been called again. It runs on SQLite (100
kills) and, shorter, on PostgreSQL (25 kills; the ``postgres_url`` fixture's database).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.isolated import ROOT, run_isolated
from tests.support.stores import Backend

KILLS = 100

DRIVER = r'''
import json, os, random, signal, sys, tempfile, threading
from rxsteps import EventKind, Step, StepGraph, run
from rxsteps.stores import open_store

N, KILLS = 50, {kills}
rng = random.Random(1414)
tmp = tempfile.mkdtemp()
db = {store!r} or os.path.join(tmp, "runs.db")
calls_dir = os.path.join(tmp, "calls")
os.mkdir(calls_dir)
store = open_store(db)  # the tables, before the first child (which opens its own)
streams = {{i for i in range(N) if i % 7 == 6}}  # generator steps, without dependents
plain = [i for i in range(N) if i not in streams]
before = {{i: [p for p in plain if p < i] for i in range(N)}}
deps = {{i: sorted(rng.sample(before[i], min(3, len(before[i])))) for i in range(N)}}
ref = {{}}
for i in range(N):
    total = sum(ref[d][-1] for d in deps[i])
    ref[i] = [i, 2 * i + total] if i in streams else [i + total]

plan = {{"mode": "none", "k": 0}}
seen = {{"calls": 0, "ends": 0}}
lock = threading.Lock()

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def count(i):
    with lock:
        seen["calls"] += 1
        n = seen["calls"]
    if plan["mode"] == "before" and n == plan["k"]:
        die()
    with open(os.path.join(calls_dir, f"s{{i:02d}}"), "a") as f:
        f.write("x")
    if plan["mode"] == "during" and n == plan["k"]:
        die()

def action(i):
    if i in streams:
        def gen(*xs):
            count(i)
            yield i
            yield 2 * i + sum(xs)
        return gen
    return lambda *xs: (count(i), i + sum(xs))[1]

graph = StepGraph([Step(f"s{{i:02d}}", action(i), [f"s{{d:02d}}" for d in deps[i]])
                   for i in range(N)])

def watch(event):
    if event.kind is EventKind.SUCCEEDED and event.reason != "resumed":
        seen["ends"] += 1
        if plan["mode"] == "after" and seen["ends"] == plan["k"]:
            die()

def child(run_id):
    if plan["mode"] == "timer":
        threading.Timer(plan["k"] / 1e6, die).start()
    result = run(graph, store=db, run_id=run_id, on_event=watch,
                 max_concurrency=rng.choice([1, 2, 4]))
    out = {{s: result.emitted(s) for s in result}}
    with open(os.path.join(tmp, run_id + ".json"), "w") as f:
        json.dump(out, f)

def counts():
    return {{name: len(open(os.path.join(calls_dir, name)).read())
            for name in os.listdir(calls_dir)}}

def committed(run_id):  # read by the driver: another process than the writer
    stored = store.load(run_id)
    return {{s for s, r in stored.steps.items() if r.status == "succeeded"}} if stored else set()

kills, trials, frozen, modes = 0, 0, {{}}, {{}}
while kills < KILLS:
    trials += 1
    run_id = f"trial-{{trials}}"
    for name in os.listdir(calls_dir):
        os.remove(os.path.join(calls_dir, name))
    frozen = {{}}
    for attempt in range(50):
        remaining = N - len(committed(run_id))
        mode = rng.choice(["before", "during", "after", "timer"]) if attempt < 6 else "none"
        k = rng.randint(1, 20000) if mode == "timer" else rng.randint(1, max(1, remaining))
        plan.update(mode=mode, k=k)
        pid = os.fork()
        if pid == 0:
            try:
                child(run_id)
            except BaseException:
                import traceback; traceback.print_exc()
                os._exit(3)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            assert os.WTERMSIG(status) == signal.SIGKILL
            kills += 1
            modes[mode] = modes.get(mode, 0) + 1
            now = counts()
            for step in committed(run_id):
                frozen.setdefault(step, now[step])
            continue
        assert os.WEXITSTATUS(status) == 0, status
        break
    else:
        raise AssertionError(f"{{run_id}} never finished")
    with open(os.path.join(tmp, run_id + ".json")) as f:
        result = json.load(f)
    assert result == {{f"s{{i:02d}}": v for i, v in ref.items()}}, run_id
    final = counts()
    assert sorted(final) == sorted(f"s{{i:02d}}" for i in range(N))
    again = {{s: (n, final[s]) for s, n in frozen.items() if final[s] != n}}
    assert not again, f"{{run_id}}: committed steps called again: {{again}}"
print(json.dumps({{"kills": kills, "trials": trials, "modes": modes}}))
'''


def kill_runs(store: str, kills: int) -> dict[str, Any]:
    """Run the driver on ``store`` (``""``: an SQLite file of its own) until ``kills``."""
    began = time.monotonic()
    out = run_isolated(DRIVER.format(kills=kills, store=store), limit=120)
    took = time.monotonic() - began
    report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    assert report["kills"] >= kills
    print(f"{report} in {took:.1f} s")
    return report


@pytest.mark.slow
def test_sigkill_at_random_points_loses_nothing_and_repeats_no_committed_step() -> None:
    report = kill_runs("", KILLS)
    assert set(report["modes"]) == {"before", "during", "after", "timer"}


def test_sigkill_on_postgres_loses_nothing_and_repeats_no_committed_step(
        postgres_url: str) -> None:
    kill_runs(postgres_url, 25)  # a killed child's session ends: its lease goes with it


CONTENDER = r'''
import os, sys, time
from rxsteps import RunLockedError, Step, StepGraph, run

def wait_for_go():
    open(f"started.{os.getpid()}", "w").close()
    deadline = time.monotonic() + 30
    while not os.path.exists("go") and time.monotonic() < deadline:
        time.sleep(0.01)
    return os.getpid()

graph = StepGraph([Step("a", wait_for_go), Step("b", lambda a: a, ["a"])])
try:
    result = run(graph, store=os.environ["STORE"], run_id="shared")
except RunLockedError as error:
    print(f"locked: {error}")
    sys.exit(4)
print(f"won: {result['b']}")
'''


def test_two_processes_resuming_one_run_at_once_one_wins(tmp_path: Path,
                                                         backend: Backend) -> None:
    (tmp_path / "contender.py").write_text(CONTENDER)
    store = "runs.db" if backend.kind == "sqlite" else backend.store
    env = {"PYTHONPATH": str(ROOT), "STORE": store}
    procs = [subprocess.Popen([sys.executable, "contender.py"], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
            list(tmp_path.glob("started.*")) and any(p.poll() is not None for p in procs)
        ):
            time.sleep(0.01)
        (tmp_path / "go").write_text("")
        outs = [p.communicate(timeout=30) for p in procs]
    finally:
        for p in procs:
            p.kill()
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 4], outs
    won = next(o for o, p in zip(outs, procs, strict=True) if p.returncode == 0)[0]
    lost = next(o for o, p in zip(outs, procs, strict=True) if p.returncode == 4)[0]
    name = "runs.db" if backend.kind == "sqlite" else backend.name
    assert lost.startswith(f"locked: run 'shared' in store {name!r} is being run by ")
    assert lost.rstrip().endswith("(host:pid:start:token); wait for it to end, or pick "
                                  "another run_id")
    if backend.kind == "sqlite":
        check = subprocess.run(
            [sys.executable, "-c", "import sqlite3; c = sqlite3.connect('runs.db'); "
             "print(c.execute('PRAGMA integrity_check').fetchone()[0])"],
            cwd=tmp_path, capture_output=True, text=True, timeout=30)
        assert check.stdout.splitlines() == ["ok"]
    where = tmp_path / "runs.db" if backend.kind == "sqlite" else backend.store
    assert Backend(backend.kind, str(where)).sql("SELECT status, owner FROM runs") == [
        ("succeeded", None)]
    again = subprocess.run([sys.executable, "contender.py"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=30)
    assert again.stdout == won  # resumed: the same value, the step not called again
    assert len(list(tmp_path.glob("started.*"))) == 1
