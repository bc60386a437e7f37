"""Render a self-contained HTML page (e.g. plotly curves) to a PNG with Debian's chromium.

    python scripts/screenshot_html.py benchmarks/results/rl_gain_curves.html docs/rl_gain_curves.png
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def main(src: str, dst: str, width: int = 1200, height: int = 2600) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(Path(src).resolve().as_uri())
        page.wait_for_selector(".js-plotly-plot", timeout=30000)
        page.wait_for_timeout(1500)
        page.screenshot(path=dst, full_page=True)
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:3])
