"""Issue 15, item 1: one bad result file never takes a reader down.

Each of the 24 corruptions of benchmarks/fault_injection.py is applied to a copy of a store
and must be skipped by `bench.results.load` with one warning naming the file and the field,
and counted by `bench status`. The issue's own reproduction (train_size "16" in a copy of
data/results, TUNING_ADVISOR_RESULTS pointing at it) runs the calibrated advisor end to end.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.results import (KNOWN_METHODS, InvalidResultWarning, load, read_result, result_path, scan, validate,
                           write_result)

from bench_helpers import valid_record

REPO = Path(__file__).resolve().parent.parent
STORE = REPO / "data" / "results"

_spec = importlib.util.spec_from_file_location("fault_injection", REPO / "benchmarks" / "fault_injection.py")
fault_injection = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fault_injection)


_record = valid_record


@pytest.fixture()
def small_store(tmp_path):
    """Six valid runs over two tasks and two seeds."""
    root = tmp_path / "results"
    for task in ("sst2", "trec"):
        for seed in (0, 1):
            for method in ("lora", "prompt_engineering"):
                rec = _record(task=task, seed=seed, method=method)
                write_result(result_path(root, "tiny-bert", task, method, 16, seed), rec)
    return root


def test_known_methods_match_the_registry():
    from bench.methods import METHODS

    assert set(KNOWN_METHODS) == set(METHODS)


@pytest.mark.parametrize("kind", list(fault_injection.KINDS))
def test_every_corruption_is_skipped_with_one_warning_naming_file_and_field(small_store, kind):
    _, corrupt = fault_injection.KINDS[kind]
    victim = result_path(small_store, "tiny-bert", "sst2", "lora", 16, 0)
    bad, added = corrupt(small_store, victim)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df, invalid = load(small_store, return_invalid=True)
    assert str(bad) not in set(df.path)
    assert len(df) == (8 if added else 7)  # nothing else was lost
    assert [p for p, _ in invalid] == [bad]
    named = [w for w in caught if issubclass(w.category, InvalidResultWarning)]
    assert len(named) == 1 and str(bad) in str(named[0].message)
    if kind != "out_of_layout":  # a point read of an explicit path does not judge the path's place
        assert read_result(bad) is None
    res = CliRunner().invoke(__import__("bench.cli", fromlist=["app"]).app, ["status", "--results-dir", str(small_store)])
    assert res.exit_code == 0, res.output
    assert "1 invalid files" in res.output and str(bad) in res.output


def test_problems_name_the_field_and_the_allowed_values():
    assert validate(_record(train_size="16")) == ["train_size='16' is not an integer"]
    assert validate(_record(train_size=-16)) == ["train_size=-16 outside 0..1000000000"]
    assert validate(_record(trainable_params=10**400)) == ["trainable_params=<integer of 401 digits> outside 0..10000000000000"]
    assert validate(_record(is_pair="yes")) == ["is_pair='yes' is not true/false"]
    assert validate(_record(zero_shot_accuracy=7.0)) == ["zero_shot_accuracy=7.0 outside 0..1"]
    assert "allowed: prompt_engineering" in validate(_record(method="magic"))[0]
    assert "no UTC offset" in validate(_record(created_at="2026-11-24T21:53:33"))[0]
    assert "not an ISO 8601" in validate(_record(created_at="yesterday"))[0]
    assert "in the future" in validate(_record(created_at="2999-01-01T00:00:00+00:00"))[0]
    long = validate(_record(task="x" * 10_000))[0]
    assert len(long) < 200  # a hostile value is quoted by a short prefix only


def test_a_copy_under_another_path_is_refused_on_write_and_on_read(tmp_path):
    rec = _record()
    with pytest.raises(ValueError, match="does not match the record"):
        write_result(result_path(tmp_path, "tiny-bert", "sst2", "lora", 16, 5), rec)
    good = write_result(result_path(tmp_path, "tiny-bert", "sst2", "lora", 16, 0), rec)
    copy = result_path(tmp_path, "tiny-bert", "sst2", "lora", 16, 5)
    shutil.copy(good, copy)
    valid, invalid = scan(tmp_path, warn=False)
    assert [p for p, _ in valid] == [good] and [p for p, _ in invalid] == [copy]


def test_oversized_and_device_files_are_not_read_whole(tmp_path):
    path = result_path(tmp_path, "tiny-bert", "sst2", "lora", 16, 0)
    path.parent.mkdir(parents=True)
    with open(path, "wb") as f:
        f.truncate(6_000_000)  # sparse: 6 MB of zeros
    _, invalid = scan(tmp_path, warn=False)
    assert "larger than" in invalid[0][1]


@pytest.mark.skipif(not any(STORE.glob("*/*/lora/n*-s*.json")), reason="no committed results")
def test_issue_reproduction_calibrated_recommend_survives_a_string_train_size(tmp_path, monkeypatch):
    """Copy data/results, set one file's train_size to "16", point TUNING_ADVISOR_RESULTS at it."""
    store = tmp_path / "results"
    # Four task families of one backbone: enough for a calibration (>= 3 families), a fifth of the full store's fit.
    for task in ("sst2", "ag_news", "trec", "rte"):
        if (STORE / "minilm" / task).is_dir():
            shutil.copytree(STORE / "minilm" / task, store / "minilm" / task, ignore=shutil.ignore_patterns("*.png", "*.md"))
    victim = sorted(store.glob("*/*/lora/n*-s*.json"))[0]
    record = json.loads(victim.read_text())
    record["train_size"] = "16"
    victim.write_text(json.dumps(record))
    from advisor.artifact import ServedCalibration
    from advisor.calibration import build_artifact
    from advisor.recommend import recommend
    from bench.results import load

    # The calibrated path: the artifact fitted from the copy (what `advisor calibrate` does), then an answer.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        art = build_artifact(load(store, include_failed=False), [], with_scaling=False)
        rec = recommend({"labeled_examples": 200, "compute": "low"}, calibration=ServedCalibration(art))
    runs = {p for cell in art["evidence"] for m in cell["methods"].values() for p in m["runs"]}
    assert runs and str(victim) not in runs
    assert rec.best in ("prompt_engineering", "prompt_tuning", "prefix_tuning", "lora", "full_finetuning")
    assert any(str(victim) in str(w.message) and "train_size" in str(w.message) for w in caught)
    from bench.report import write_report

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = write_report(store).read_text()
    n_ok = sum(1 for p in store.glob("*/*/*/n*-s*.json") if p != victim and json.loads(p.read_text())["status"] == "ok")
    assert f"{n_ok} successful runs" in report
