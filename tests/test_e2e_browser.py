"""Real-browser end-to-end: streamlit run on loopback, headless Debian Chromium via Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed "
                                                                            "(make test installs it when it can)")]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server():
    port = _free_port()
    env = {**os.environ, "TUNING_ADVISOR_RESULTS": tempfile.mkdtemp()}  # rules-only, no results
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.headless", "true",
                             "--server.address", "127.0.0.1", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("streamlit did not start within 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def _advance(page, button: str, expect: str) -> None:
    """Click a form button and wait for the next step; a click that lands while Streamlit is still
    re-rendering the previous step is lost, so retry a few times (under load this happens)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(4):
        page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=30_000)
        page.get_by_role("button", name=button).click()
        try:
            page.get_by_text(expect).first.wait_for(timeout=15_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"{expect!r} never appeared after clicking {button!r}")


def test_questionnaire_in_a_real_browser(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.goto(server)
        page.get_by_text("Your data and task").wait_for(timeout=60_000)
        field = page.get_by_role("textbox", name="How many labeled examples do you have?")
        field.fill("40")
        _advance(page, "Next →", "Your model and resources")
        _advance(page, "Next →", "Your goals and constraints")
        _advance(page, "Get my recommendation", "Recommended:")
        verdict = page.get_by_text("Recommended:").first
        text = verdict.inner_text()
        page.get_by_text("All five options").wait_for(timeout=30_000)
        page.get_by_text("What would change the answer").wait_for(timeout=30_000)
        page.get_by_role("button", name="Download Markdown report").wait_for(timeout=30_000)
        page.wait_for_timeout(2000)  # let the charts and the table finish drawing before the screenshot
        page.screenshot(path=str(ARTIFACTS / "e2e_recommendation.png"), full_page=True)
        browser.close()
    from advisor import recommend

    assert recommend({"labeled_examples": 40}).summary().strip("*.") in text.replace("**", "")
