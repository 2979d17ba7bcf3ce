"""Real-browser checks of the model picker and the profile upload.

AppTest has no browser, so it cannot see the one thing that broke here: a keyed widget keeps what the browser
holds (even unsubmitted typing inside a form), whatever the script passes as its value. Streamlit on loopback,
headless Debian Chromium via Playwright, as in test_e2e_browser.py (whose `server` fixture this reuses).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from test_e2e_browser import CHROMIUM, CHROMIUM_ARGS, server  # noqa: F401 - `server` is a pytest fixture

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed")]

REPO = Path(__file__).resolve().parent.parent
LABELED = "How many labeled examples do you have?"
SIZE = "Model size (billions of parameters)"


def _next(page, expect: str) -> None:
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=30_000)
    page.get_by_role("button", name="Next →").click()
    page.get_by_text(expect).first.wait_for(timeout=30_000)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=30_000)


def test_upload_replaces_unsubmitted_typing_and_the_picker_sets_the_size(server, tmp_path):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    profile = tmp_path / "team.yaml"
    profile.write_text("labeled_examples: 8000\ntask_complexity: complex\nmodel_params_b: 3\n")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(server)
        page.get_by_text("Your data and task").wait_for(timeout=60_000)
        page.get_by_role("textbox", name=LABELED).fill("123")  # typed, never submitted
        page.get_by_text("Load or save a profile").click()
        page.locator('input[type="file"]').first.set_input_files(str(profile))
        page.get_by_text("Loaded team.yaml").wait_for(timeout=30_000)
        expect(page.get_by_role("textbox", name=LABELED)).to_have_value("8000", timeout=30_000)
        _next(page, "Your model and resources")
        # expect() waits out the rerun that draws step 2 (a bare input_value() read '' on a loaded CI machine)
        expect(page.get_by_role("textbox", name=SIZE)).to_have_value("3", timeout=30_000)
        page.get_by_role("textbox", name=SIZE).fill("5")  # typed in the custom box, never submitted
        page.locator('input[role="combobox"][aria-label="Model"]').click()
        page.get_by_role("option", name="Llama-3.1-8B — 8.03B").click()
        size = page.get_by_role("textbox", name=SIZE)
        expect(size).to_be_disabled(timeout=30_000)  # the rerun has drawn the picked model's locked box
        assert size.input_value() == "8.03"
        _next(page, "Your goals and constraints")
        page.get_by_role("button", name="Get my recommendation").click()
        page.get_by_text("All five options").wait_for(timeout=60_000)
        # What the browser submitted is what the answers hold: compare them with the file itself. Only the model
        # may differ (picked after the upload); the typed-over labels and the typed size must not appear.
        page.get_by_text("Compare", exact=True).click()
        page.get_by_text("Compare two scenarios").wait_for(timeout=30_000)
        page.locator('input[type="file"]').last.set_input_files(str(profile))
        differs = page.locator("p", has_text="What differs:")
        differs.wait_for(timeout=60_000)
        text = differs.inner_text()
        browser.close()
    assert "model Llama-3.1-8B → not set" in text and "model_params_b 8.03 → 3" in text, text
    assert "labeled_examples" not in text and "task_complexity" not in text, text
