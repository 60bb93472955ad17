"""End to end in a real browser: Debian's headless Chromium, driven by Playwright,
opens the example app served by uvicorn, starts a run and waits until every step shows
as finished. Skipped only when /usr/bin/chromium or playwright is missing."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rxsteps.pictures.palette import PALETTE
from tests.support import STEPS, load_example

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="playwright is missing (pip install playwright)")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server_url() -> Iterator[str]:
    """The example app on uvicorn, 127.0.0.1 and a free port, in a background thread."""
    uvicorn = pytest.importorskip("uvicorn")
    app = load_example("event_driven_app").app
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:  # uvicorn exposes no event for this; poll briefly
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(10)


#: The fill of every step box in the page's SVG, as the browser paints it.
BOX_FILLS = """() => Object.fromEntries([...document.querySelectorAll('g[id^="node:"]')]
    .map(g => [g.id.slice(5), getComputedStyle(g.querySelector('path')).fill]))"""
BLACK = "rgb(0, 0, 0)"


def _rgb(colour: str) -> str:
    """``#8ad2bf`` as a browser's computed style says it: ``rgb(138, 210, 191)``."""
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def test_pending_boxes_keep_their_colour_and_the_legend_names_the_states(
        server_url: str, tmp_path: Path) -> None:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(server_url)
            drawn = page.evaluate(BOX_FILLS)
            assert set(STEPS) <= set(drawn) and BLACK not in drawn.values()
            # Start a run and read the boxes in the same task: every step is pending
            # then (painted by the click), before the first event can arrive.
            pending = page.evaluate(f"() => {{ document.getElementById('start').click();"
                                    f" return ({BOX_FILLS})(); }}")
            assert pending == drawn  # not black: the drawing's own colours
            legend = page.inner_text("#legend")
            for state in ("pending", "waiting", "running", "retrying", "succeeded", "failed",
                          "timed out", "skipped", "cancelled", "input"):
                assert state in legend, state
            page.wait_for_function("document.getElementById('status').textContent === 'done'",
                                   timeout=15_000)
            done = page.evaluate(BOX_FILLS)
            assert {done[step] for step in STEPS} == {_rgb(PALETTE["succeeded"].fill)}
            page.screenshot(path=str(tmp_path / "legend.png"), full_page=True)
        finally:
            browser.close()


def test_the_page_shows_each_step_finish_live(server_url: str, tmp_path: Path) -> None:
    screenshot = tmp_path / "event_driven_app.png"
    succeeded = "document.querySelectorAll('[data-state=succeeded]').length"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(server_url)
            assert page.locator("[data-step]").count() == len(STEPS)
            assert page.evaluate(succeeded) == 0
            page.click("#start")
            page.wait_for_function(f"{succeeded} === {len(STEPS)}", timeout=15_000)
            page.wait_for_function("document.getElementById('status').textContent === 'done'",
                                   timeout=15_000)
            answer = page.inner_text("#answer")
            assert answer.startswith("Found") and "Notes on" in answer
            page.screenshot(path=str(screenshot), full_page=True)

            page.fill("#question", "please fail this time")
            page.click("#start")
            page.wait_for_selector('[data-step=search][data-state=failed]', timeout=15_000)
            page.wait_for_selector('[data-step=answer][data-state=cancelled]', timeout=15_000)
            page.screenshot(path=str(screenshot.with_stem("event_driven_app_failed")))

            page.fill("#question", "a slow search")  # the search runs out of time
            page.click("#start")
            page.wait_for_selector('[data-step=search][data-state="timed out"]',
                                   timeout=15_000)
            assert page.inner_text("[data-step=search] .state") == "timed out"
            page.screenshot(path=str(screenshot.with_stem("event_driven_app_timed_out")))
        finally:
            browser.close()
    assert screenshot.stat().st_size > 10_000
