"""End to end: serve the dashboard, drive it in headless Chromium, step, look at the page.

Uses Debian's ``chromium`` (``/usr/bin/chromium``, installed by ``.ci/install-browser``)
through Playwright's Python package; no browser is downloaded. Skips, with the reason,
when the browser or the ``dashboard``/``test`` extras are missing.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
STEP_CLICKS = 3
RENDER_INTERVAL = 7  # days per Step click: the dashboard's default render interval
DAY = re.compile(r"\(day (\d+) of (\d+)\)")


def _requirements() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found: run .ci/install-browser (apt-get install chromium)"
    for module, extra in (("playwright", "test"), ("solara", "dashboard")):
        try:
            __import__(module)
        except ImportError:
            return f"{module} not installed: pip install -e '.[{extra}]'"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard_url(tmp_path_factory):
    """One dashboard server for the module's tests."""
    tmp_path = tmp_path_factory.mktemp("dashboard")
    reason = _requirements()
    if reason:
        pytest.skip(reason)
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "trucesim.cli.main", "dashboard", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dashboard exited with {proc.returncode}:\n"
                            + (tmp_path / "server.log").read_text())
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("dashboard did not answer within 90 s:\n"
                            + (tmp_path / "server.log").read_text())
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _day(page) -> int:
    text = page.locator(".trucesim-date").inner_text()
    match = DAY.search(text)
    return int(match.group(1)) if match else 0


def test_dashboard_in_headless_chromium(dashboard_url, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1050})
            page.goto(dashboard_url)
            # The map: its card and the rendered figure.
            map_image = page.locator(".trucesim-map img")
            map_image.wait_for(state="visible", timeout=90_000)
            assert map_image.bounding_box()["height"] > 200
            date = page.locator(".trucesim-date")
            assert "start 2015-01-01" in date.inner_text()
            chart = page.locator(".trucesim-homicides img")
            chart.wait_for(state="visible", timeout=30_000)
            chart_before = chart.screenshot()
            date_before = date.inner_text()

            step = page.get_by_role("button", name="Step")
            for click in range(1, STEP_CLICKS + 1):
                step.click()
                deadline = time.monotonic() + 30
                while _day(page) < click * RENDER_INTERVAL:
                    assert time.monotonic() < deadline, f"step {click} did not update the date"
                    page.wait_for_timeout(200)

            assert date.inner_text() != date_before
            assert _day(page) == STEP_CLICKS * RENDER_INTERVAL
            assert "2015-01-21" in date.inner_text()
            page.wait_for_timeout(500)  # let the image swap in
            assert chart.screenshot() != chart_before, "the homicide chart did not change"
            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 20_000
            target = os.environ.get("TRUCESIM_DASHBOARD_SCREENSHOT")
            if target:
                Path(target).write_bytes(shot.read_bytes())
        finally:
            browser.close()


FOREIGN_PAGE = """<!doctype html><title>elsewhere</title><script>
window.result = new Promise(resolve => {
  const ws = new WebSocket("ws://127.0.0.1:%(port)d/jupyter/api/kernels/%(kernel)s/channels"
                           + "?session_id=%(session)s");
  ws.onopen = () => resolve("open");
  ws.onerror = () => resolve("refused");
  setTimeout(() => resolve("timeout"), 20000);
});
</script>"""


def test_a_page_from_another_origin_cannot_drive_the_dashboard(dashboard_url, tmp_path):
    """Cross-site WebSocket hijacking: a page the user visits (here served from another
    port, so another origin) opens a WebSocket to the running dashboard; it is refused,
    while the dashboard's own page still connects."""
    import http.server
    import threading
    import uuid

    from playwright.sync_api import sync_playwright

    port = int(dashboard_url.rstrip("/").rsplit(":", 1)[1])
    (tmp_path / "index.html").write_text(FOREIGN_PAGE % {
        "port": port, "kernel": uuid.uuid4(), "session": uuid.uuid4()})
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(tmp_path))
    foreign = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=foreign.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                         headless=True)
            try:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{foreign.server_address[1]}/index.html")
                assert page.evaluate("window.result") == "refused"
                own = browser.new_page()
                own.goto(dashboard_url)
                own.locator(".trucesim-date").wait_for(state="visible", timeout=90_000)
                assert "2015-01-" in own.locator(".trucesim-date").inner_text()  # it connected
            finally:
                browser.close()
    finally:
        foreign.shutdown()
