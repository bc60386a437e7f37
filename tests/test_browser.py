"""The explorer in a real browser: `streamlit run` on 127.0.0.1 and Debian's chromium driven by the
PyPI playwright package (no browser download). Runs an attribution on the Inspect page, checks the
heatmap is drawn and saves screenshots to ``$G2R_ARTIFACTS`` (default ``test-artifacts/``).

The tour test visits every page at 1280x800: no request may leave 127.0.0.1, the console must stay
free of errors, and a warm page change (the page visited before, its results cached) is timed and
printed per page; it must take under 3 s (not asserted on an overloaded machine: load average above
twice the cores). ``G2R_RUNS_ROOT_FOR_TESTS`` points the Runs page at real run folders;
``G2R_DOCS_SCREENSHOTS=1`` also writes the screenshots to ``docs/explorer-after-*.png``."""

import json
import os
import shutil
import urllib.parse
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = next((p for p in (os.environ.get("G2R_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium",
                             shutil.which("chromium-browser")) if p and os.path.exists(p)), None)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 600_000  # the CPU may be shared with training jobs and other test runs

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def artifacts() -> Path:
    d = Path(os.environ.get("G2R_ARTIFACTS") or ROOT / "test-artifacts")
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("streamlit")
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false",
               G2R_RUNS_ROOT=os.environ.get("G2R_RUNS_ROOT_FOR_TESTS") or str(tmp_path_factory.mktemp("runs")))
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "app.py"), "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
             "--client.toolbarMode", "minimal"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    pytest.fail(f"streamlit did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_inspect_page_in_chromium(server, artifacts):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1500})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(server)
            page.get_by_role("heading", name="Inspect").wait_for()
            page.locator(".g2r-rows").first.wait_for()  # the default example is attributed on load
            # type our own response and attribute it
            main = page.locator("[data-testid=stMain]")
            if not main.get_by_label("Response", exact=True).is_visible():
                main.get_by_text("Prompt, response and rubric").click()
            response = "Hi Leo, the concert is on Wednesday at the school. See you there."
            main.get_by_label("Response", exact=True).fill(response)
            main.get_by_role("button", name="Attribute").click()
            page.locator(".g2r-text").filter(has_text="the concert is on Wednesday").first.wait_for()
            # while Streamlit reruns, the previous run's elements (its own Heatmap tab) can still be on
            # the page: wait until only the new run's tab is left
            heat_tab = page.get_by_role("tab", name="Heatmap")
            sync_api.expect(heat_tab).to_have_count(1, timeout=TIMEOUT_MS)
            heat_tab.click()
            page.wait_for_function(
                "() => document.querySelectorAll('.js-plotly-plot .heatmaplayer image, "
                ".js-plotly-plot .hm image').length > 0")
            assert page.locator(".js-plotly-plot").count() >= 1
            assert page.get_by_text("Conservation holds").count() == 1
            assert page.locator("[data-testid=stException]").count() == 0
            heat = page.locator(".js-plotly-plot").first
            assert heat.bounding_box()["height"] > 150
            # hovering a cell shows its values
            box = heat.locator(".nsewdrag").first.bounding_box()
            page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.1)
            page.locator(".hoverlayer .hovertext").first.wait_for(timeout=15_000)
            page.mouse.move(0, 0)
            time.sleep(0.5)
            page.screenshot(path=str(artifacts / "inspect.png"))
            # every export of the view downloads
            for fmt in ("JSON", "CSV", "HTML"):
                with page.expect_download() as dl:
                    main.get_by_role("button", name=fmt, exact=True).click()
                text = Path(dl.value.path()).read_text(encoding="utf-8")
                if fmt == "JSON":
                    assert json.loads(text)["run"]["examples"][0]["response"] == response
                elif fmt == "CSV":
                    assert text.splitlines()[0].startswith("row,unit_index,unit,tokens,scores")
                else:
                    assert "<script src" not in text and "Plotly.newPlot" in text and "concert" in text
            # bad input keeps the app alive
            main.get_by_label("Rubric · JSON list of {criterion, weight}", exact=True).fill("[{oops")
            main.get_by_role("button", name="Attribute").click()
            page.get_by_text("Cannot attribute this input").wait_for()
            page.screenshot(path=str(artifacts / "inspect-bad-rubric.png"))
        finally:
            browser.close()
    assert (artifacts / "inspect.png").stat().st_size > 10_000


BUSY = ("() => !document.querySelector('[data-testid=stSpinner], [data-testid=stSkeleton], "
        "[data-testid=stStatusWidget] button')")
WARM_LIMIT_S = 3.0


def _settle(page, quiet_ms: int = 600) -> None:
    """Wait until the script run is over: no spinner or skeleton, several times in a row."""
    for _ in range(3):
        page.wait_for_function(BUSY)
        page.wait_for_timeout(quiet_ms // 3)


def test_tour_offline_console_clean_warm_timings(server, artifacts):
    """Every page at 1280x800: nothing fetched from outside 127.0.0.1, no console error, a warm page
    change under 3 s (printed per page), screenshots of each page."""
    sync_api = pytest.importorskip("playwright.sync_api")
    outside, console = [], []
    pages = [("Inspect", ".g2r-rows"), ("Compare", ".g2r-rows"), ("Lens", None), ("Runs", None)]
    timings = {}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(TIMEOUT_MS)
            page.on("request", lambda r: outside.append(r.url) if urllib.parse.urlparse(r.url).scheme in
                    ("http", "https", "ws", "wss") and urllib.parse.urlparse(r.url).hostname != "127.0.0.1" else None)
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            page.goto(server)
            nav = page.locator("[data-testid=stSidebarNav]")

            def visit(name: str, ready: str | None) -> float:
                t0 = time.perf_counter()
                if name != "Inspect" or page.get_by_role("heading", name="Inspect", exact=True).count() == 0:
                    nav.get_by_role("link", name=name).click()
                page.get_by_role("heading", name=name, exact=True).wait_for()  # not the sidebar's "g2r lens"
                if ready:
                    page.locator(ready).first.wait_for()
                _settle(page)
                return time.perf_counter() - t0 - 0.6  # minus the quiet time _settle waits

            for name, ready in pages:  # cold: the judge runs, results get cached
                try:
                    visit(name, ready)
                finally:
                    page.screenshot(path=str(artifacts / f"tour-cold-{name.lower()}.png"))
                if name == "Lens":
                    page.get_by_role("button", name="Run lens").click()
                    page.locator(".js-plotly-plot").first.wait_for()
                    _settle(page)
            for name, ready in pages:  # warm
                timings[name] = visit(name, ready)
                page.wait_for_timeout(800)
                shot = artifacts / f"explorer-after-{name.lower()}.png"
                page.screenshot(path=str(shot))
                if os.environ.get("G2R_DOCS_SCREENSHOTS") == "1":
                    shutil.copy(shot, ROOT / "docs" / shot.name)
                assert page.locator("[data-testid=stException]").count() == 0, name
        finally:
            browser.close()
    print("\nwarm page change (s): " + "  ".join(f"{k} {v:.2f}" for k, v in timings.items()))
    assert not outside, outside
    assert not console, console
    overloaded = os.getloadavg()[0] > 2 * (os.cpu_count() or 1)
    slow = {k: v for k, v in timings.items() if v >= WARM_LIMIT_S}
    if overloaded and slow:
        print(f"load average {os.getloadavg()[0]:.1f}: timing limit not enforced ({slow})")
    else:
        assert not slow, slow
