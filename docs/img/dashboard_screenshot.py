"""Make docs/img/dashboard.png: the dashboard on the 2016-letter scenario, truce variant.

Starts ``trucesim dashboard`` on a free loopback port, selects the ``truce`` variant,
resets, plays to October 2016, pauses and saves a screenshot reduced to a small PNG.
Needs the ``test`` extra and Debian's chromium (``.ci/install-browser``).

Run:  .venv/bin/python docs/img/dashboard_screenshot.py
"""

from __future__ import annotations

import io
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

OUT = Path(__file__).with_name("dashboard.png")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TARGET_DAY = 640  # 2016-10-02: eleven weeks into the reinstated truce
DAY = re.compile(r"\(day (\d+) of")


def main() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    server = subprocess.Popen([sys.executable, "-m", "trucesim.cli.main", "dashboard",
                               "--port", str(port)])
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url, timeout=5)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1290})
            page.goto(url)
            page.locator(".trucesim-map img").wait_for(timeout=90_000)
            page.get_by_label("Variant (if the scenario has it)").click(force=True)
            page.get_by_role("option", name="truce", exact=True).click()
            page.get_by_role("button", name="Reset").click()
            page.wait_for_timeout(2000)
            page.get_by_role("button", name="▶").click()
            while True:
                match = DAY.search(page.locator(".trucesim-date").inner_text())
                if match and int(match.group(1)) >= TARGET_DAY:
                    break
                page.wait_for_timeout(300)
            page.get_by_role("button", name="❚❚").click()
            page.wait_for_timeout(3000)
            png = page.screenshot()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=15)
    img = Image.open(io.BytesIO(png)).convert("RGB")
    img = img.resize((1120, round(img.height * 1120 / img.width)), Image.LANCZOS)
    img.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(OUT, optimize=True)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
