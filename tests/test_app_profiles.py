"""The app's model picker, profile upload/download and Compare page, driven with AppTest."""

from __future__ import annotations

from pathlib import Path

import yaml
from streamlit.testing.v1 import AppTest

from advisor import ProjectProfile, recommend
from advisor.models import get_model, model_names
from advisor.options import LABELS

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
LAPTOP = ROOT / "data" / "examples" / "sentiment_laptop.yaml"
MEDICAL = ROOT / "data" / "examples" / "medical_gpu.yaml"


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60).run()


def _next(at: AppTest) -> AppTest:
    return next(b for b in at.button if b.label.startswith(("Next", "Get my"))).click().run()


def _subheaders(at: AppTest) -> list[str]:
    return [s.value for s in at.subheader]


def test_model_picker_fills_the_size_and_custom_keeps_the_number_input():
    at = _next(_app())
    picker = at.selectbox(key="w_model")
    assert picker.options[0].startswith("custom") and len(picker.options) == 1 + len(model_names())
    assert not at.text_input(key="w_model_params_b").disabled  # custom by default
    at = picker.set_value("Llama-3.1-8B").run()
    assert not at.exception
    size = at.text_input(key="w_model_params_b@Llama-3.1-8B")  # one locked size box per picked model
    assert size.value == "8.03" and size.disabled
    assert at.session_state["answers"]["model"] == "Llama-3.1-8B"
    at = _next(_next(at))  # to the answer page
    assert not at.exception and at.success[0].value.startswith("**Recommended: ")
    profile = ProjectProfile.from_dict(at.session_state["answers"])
    assert (profile.model, profile.model_params_b) == ("Llama-3.1-8B", 8.03)
    assert any(c.value.startswith("Llama-3.1-8B: 32 layers, hidden size 4096") for c in at.caption)
    # The answer page's table is recommend()'s for the named model (its shape prices the adapters).
    table = at.dataframe[0].value
    lora = table[table["option"] == "LoRA"].iloc[0]
    assert lora["memory GB per GPU"] == round(recommend(profile).option("lora").cost.train_memory_gb, 1)


def test_picking_custom_after_a_model_makes_the_size_editable_again():
    at = _next(_app())
    at = at.selectbox(key="w_model").set_value("Gemma-2-9B").run()
    at = at.selectbox(key="w_model").set_value("custom").run()
    size = at.text_input(key="w_model_params_b")
    assert not size.disabled and size.value == "9"
    size.set_value("5")
    at = _next(at)
    assert "Your goals and constraints" in _subheaders(at)
    assert at.session_state["answers"]["model"] is None and at.session_state["answers"]["model_params_b"] == 5.0


def test_uploading_a_good_profile_prefills_the_wizard():
    at = _app()
    at.file_uploader(key="profile_upload").set_value(("laptop.yaml", LAPTOP.read_bytes(), "application/yaml"))
    at = at.run()
    assert not at.exception and not at.error
    assert any("Loaded laptop.yaml" in s.value for s in at.success)
    expected = ProjectProfile.load(LAPTOP)
    assert at.session_state["answers"] == expected.to_dict()
    # New widgets (a new key generation) show the file's values: the old ones would keep what the browser held.
    assert at.text_input(key="w_labeled_examples_1").value == "40"
    assert at.selectbox(key="w_task_complexity_1").value == "simple"
    # Changing an answer after the upload is kept: the file is applied once, not on every rerun.
    at.text_input(key="w_labeled_examples_1").set_value("77")
    at = _next(at)
    assert at.session_state["answers"]["labeled_examples"] == 77
    assert at.text_input(key="w_model_params_b_1").value == "0.135"


def test_uploading_a_profile_with_a_model_selects_it_in_the_picker():
    at = _app()
    data = yaml.safe_dump({"model": "qwen2.5-7b-instruct", "labeled_examples": 300}).encode()
    at.file_uploader(key="profile_upload").set_value(("q.yml", data, "application/yaml")).run()
    at = _next(at.run())
    assert at.selectbox(key="w_model").value == "Qwen2.5-7B-Instruct"
    size = at.text_input(key="w_model_params_b_1@Qwen2.5-7B-Instruct")
    assert size.value == f"{get_model('Qwen2.5-7B-Instruct').params_b:g}" and size.disabled


def test_uploading_a_bad_profile_names_the_field_and_keeps_the_answers():
    at = _app()
    before = dict(at.session_state["answers"])
    bad = b"labeled_examples: -5\ncompute: huge\nmodel: gpt-17\n"
    at = at.file_uploader(key="profile_upload").set_value(("bad.yaml", bad, "application/yaml")).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("labeled_examples" in e and "integer 0..1000000000" in e for e in errors)
    assert any("compute" in e and "minimal | low | medium | high" in e for e in errors)
    assert any("`model`" in e and "Llama-3.1-8B" in e for e in errors)
    assert at.session_state["answers"] == before
    # Not YAML at all, and not UTF-8: one error naming the profile, never a traceback.
    at = at.file_uploader(key="profile_upload").set_value(("x.json", b"{not json", "application/json")).run()
    assert not at.exception and any("valid JSON" in e.value for e in at.error)
    at = at.file_uploader(key="profile_upload").set_value(("x.yaml", b"\xff\xfe\x00", "application/yaml")).run()
    assert not at.exception and any("UTF-8" in e.value for e in at.error)


def test_download_is_offered_for_valid_answers_only():
    at = _app()
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download these answers (YAML)" in labels
    at.text_input(key="w_labeled_examples").set_value("-3")
    at = _next(at)  # the bad value is kept in the answers, to be fixed
    assert "Download these answers (YAML)" not in [b.proto.label for b in at.get("download_button")]
    assert any("Fix the answers marked in red" in c.value for c in at.caption)


def test_compare_page_current_answers_vs_uploaded_profile():
    at = _app()
    at = at.sidebar.radio(key="page").set_value("Compare").run()
    assert not at.exception
    assert any("Upload a .yaml" in i.value for i in at.info)  # B waits for a file
    at = at.file_uploader(key="cmp_file_B").set_value(("medical.yaml", MEDICAL.read_bytes(), "application/yaml"))
    at = at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 5 and {"A rank", "B rank", "A expected accuracy", "B GPU-hours",
                                "B peak memory GB", "A stored per task", "B feasible"} <= set(table.columns)
    a, b = recommend(ProjectProfile()), recommend(ProjectProfile.load(MEDICAL))
    assert at.success[0].value.endswith(a.summary()) and at.success[1].value.endswith(b.summary())
    option_of = {label: option for option, label in LABELS.items()}
    for _, row in table.iterrows():
        option = option_of[row["option"]]
        assert (row["A rank"], row["B rank"]) == (a.option(option).rank, b.option(option).rank)
    assert any("What differs" in m.value and "labeled_examples" in m.value for m in at.markdown)


def test_compare_page_two_uploads_and_a_bad_one():
    at = _app()
    at = at.sidebar.radio(key="page").set_value("Compare").run()
    at = at.radio(key="cmp_source_A").set_value("an uploaded profile").run()
    at.file_uploader(key="cmp_file_A").set_value(("laptop.yaml", LAPTOP.read_bytes(), "application/yaml"))
    at.file_uploader(key="cmp_file_B").set_value(("bad.yaml", b"compute: huge\n", "application/yaml"))
    at = at.run()
    assert not at.exception
    assert any("compute" in e.value and "minimal | low | medium | high" in e.value for e in at.error)
    assert len(at.dataframe) == 0  # no comparison while one side is invalid
    at.file_uploader(key="cmp_file_B").set_value(("laptop2.yaml", LAPTOP.read_bytes(), "application/yaml"))
    at = at.run()
    assert not at.exception and any("in both scenarios" in m.value for m in at.markdown)
    assert any("identical" in i.value for i in at.info)


def test_compare_page_says_when_the_current_answers_are_invalid():
    at = _app()
    at.text_input(key="w_labeled_examples").set_value("-3")
    at = _next(at)  # refused, but kept in the answers to be fixed
    at = at.sidebar.radio(key="page").set_value("Compare").run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("current answers are not valid yet" in e and "labeled_examples" in e for e in errors)
    assert len(at.dataframe) == 0
