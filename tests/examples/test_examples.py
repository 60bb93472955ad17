"""Every example runs offline, as a subprocess, in seconds, and says what it did."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import EXAMPLES
from tests.support.isolated import tree_env


@pytest.mark.parametrize(
    ("script", "args", "expected"),
    [
        ("research_agent.py", ["{tmp}"], "timeline"),
        ("streaming_tokens.py", [], "You asked:"),
        ("tracing.py", [], "rxsteps.run"),
        ("dask_cluster.py", [], "gathered once at the end"),
    ],
)
def test_example_runs(script: str, args: list[str], expected: str, tmp_path: Path) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=tree_env(),
    )
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout
    assert "Traceback" not in done.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_event_driven_app_serves_its_page_and_a_stream() -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "event_driven_app.py"), str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=tree_env(),
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                page = httpx.get(base + "/", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the app did not start"
                time.sleep(0.1)
        assert page.status_code == 200 and "rxsteps" in page.text
        streamed = httpx.get(base + "/run", params={"question": "why eager"}, timeout=30)
        assert streamed.headers["content-type"].startswith("text/event-stream")
        assert "succeeded" in streamed.text
    finally:
        server.terminate()
        server.wait(10)
