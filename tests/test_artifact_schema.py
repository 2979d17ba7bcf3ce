"""Issue 25: a damaged served calibration or SERVED pointer gives the rules-only answer with one sentence saying why —
never a traceback and never a silently served bad model. Each corruption the fault review found is one case here,
applied to a copy of the artifact that is served today."""

from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path

import pytest

from advisor import artifact
from advisor.artifact import load_served, served_path
from advisor.artifact_schema import ArtifactError, json_depth, validate_artifact
from advisor.recommend import recommend

REPO = Path(__file__).resolve().parent.parent
SERVED_DIR = REPO / "data" / "calibration" / (REPO / "data" / "calibration" / "SERVED").read_text().strip()
GOOD = json.loads((SERVED_DIR / "calibration.json").read_text())
PROFILE = {"labeled_examples": 500, "num_classes": 4, "compute": "low", "accuracy_goal": "high"}


def _set(path: str, value):
    def edit(a):
        *head, last = path.split(".")
        node = a
        for k in head:
            node = node[k]
        node[last] = value
        return a
    return edit


def _drop(path: str):
    def edit(a):
        *head, last = path.split(".")
        node = a
        for k in head:
            node = node[k]
        del node[last]
        return a
    return edit


def _all_coef_nan(a):
    for m in a["modes"].values():
        m["model"]["coef"] = [float("nan")] * len(m["model"]["coef"])
    return a


MODE = next(iter(GOOD["modes"]))
# name -> edit of the parsed artifact (each one of the fault review's corruptions)
CORRUPTIONS = {
    "unknown feature name": lambda a: _set(f"modes.{MODE}.features", ["bogus_feature"] + a["modes"][MODE]["features"][1:])(a),
    "modes empty": _set("modes", {}),
    "top level is a list": lambda a: [],
    "decision removed": _drop(f"modes.{MODE}.decision"),
    "shift_quantile removed": _drop("shift_quantile"),
    "evidence [{}]": _set("evidence", [{}]),
    "backbones empty": _set("backbones", {}),
    "coef of the wrong length": lambda a: _set(f"modes.{MODE}.model.coef", a["modes"][MODE]["model"]["coef"][:-1])(a),
    "coef as strings": lambda a: _set(f"modes.{MODE}.model.coef", [str(x) for x in a["modes"][MODE]["model"]["coef"]])(a),
    "every coefficient NaN": _all_coef_nan,
    "garbage scaling block": _set("scaling", {"sources": "xyz", "gap_model": [1, 2], "evidence_points": 7}),
    "gap residual band as text": _set("scaling.gap_residuals", {"published": "wide"}),
    "gap residual band for an unknown option": _set("scaling.gap_residuals",
                                                    {"by_option": {"full_finetuning": {"published": [-0.1, 0.1]}}}),
    "gap residual band reversed": _set("scaling.gap_residuals", {"published": [0.1, -0.1]}),
    "gap residual band of three numbers": _set("scaling.gap_residuals",
                                               {"by_option": {"lora": {"published": [-0.1, 0, 0.1]}}}),
    "scaling gap_model of the wrong width": lambda a: _set("scaling.sources", a["scaling"]["sources"] + ["extra"])(a),
    "decision span zero": _set(f"modes.{MODE}.decision.span", 0),
    "unknown option in option_spread": _set(f"modes.{MODE}.option_spread", {"bogus_option": 0.1}),
    "unknown domain shift level": _set("shift_quantile", {"none": 0.5, "moderate": 0.5, "large": 0.5, "x": 0.1}),
    "evidence score 7": lambda a: _set("evidence", [dict(a["evidence"][0], methods={"lora": {"score": 7, "seeds": 1,
                                                                                             "runs": []}})])(a),
    "wrong version": _set("version", 1),
    "probe feature in the profile mode": lambda a: _set("modes.profile.features",
                                                        a["modes"]["profile"]["features"][:-1] + ["probe_gain"])(a),
}


def _write(folder: Path, text: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / "calibration.json"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


def _rules_only_with_reason(monkeypatch, path: Path) -> str:
    monkeypatch.setenv("TUNING_ADVISOR_CALIBRATION", str(path))
    rec = recommend(PROFILE, with_counterfactuals=False)
    data = rec.to_dict()
    assert rec.mode.startswith("rules-only (the served calibration"), rec.mode
    assert data["mode"] == rec.mode and "answering rules-only" in rec.mode
    assert all(r.expected_accuracy is None for r in rec.ranking)
    return rec.mode


def test_the_served_artifact_passes_and_answers_calibrated(monkeypatch):
    validate_artifact(GOOD, artifact.VERSION)
    assert json_depth((SERVED_DIR / "calibration.json").read_bytes()) <= 8
    monkeypatch.setenv("TUNING_ADVISOR_CALIBRATION", str(SERVED_DIR))
    rec = recommend(PROFILE, with_counterfactuals=False)
    assert not rec.mode.startswith("rules-only"), rec.mode
    assert all(r.expected_accuracy is not None for r in rec.ranking)


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_each_corruption_is_refused_naming_the_field(tmp_path, monkeypatch, kind):
    art = CORRUPTIONS[kind](copy.deepcopy(GOOD))
    with pytest.raises(ArtifactError):
        validate_artifact(art, artifact.VERSION)
    p = _write(tmp_path / "cal", json.dumps(art))  # NaN is written as the JSON extension `NaN`
    mode = _rules_only_with_reason(monkeypatch, p)
    assert "Traceback" not in mode and len(mode) < 400


def test_deep_nesting_is_refused_before_parsing(tmp_path, monkeypatch):
    p = _write(tmp_path / "cal", "[" * 10_000 + "]" * 10_000)
    assert "nesting depth 10000" in _rules_only_with_reason(monkeypatch, p)


def test_huge_integer_and_non_utf8_are_refused(tmp_path, monkeypatch):
    text = json.dumps({**GOOD, "n_runs": 0}).replace('"n_runs": 0', '"n_runs": ' + "9" * 5000, 1)
    assert "9" * 5000 in text  # whatever the served calibration's count of runs is
    assert "integer of 5000 digits" in _rules_only_with_reason(monkeypatch, _write(tmp_path / "a", text))
    assert "not UTF-8" in _rules_only_with_reason(monkeypatch, _write(tmp_path / "b", b"\xff\xfe{}"))


def test_a_symlink_to_dev_zero_is_refused_at_once(tmp_path, monkeypatch):
    (tmp_path / "cal").mkdir()
    os.symlink("/dev/zero", tmp_path / "cal" / "calibration.json")
    start = time.perf_counter()
    mode = _rules_only_with_reason(monkeypatch, tmp_path / "cal" / "calibration.json")
    assert "not a regular file" in mode and time.perf_counter() - start < 5


def test_a_fifo_artifact_does_not_hang(tmp_path, monkeypatch):
    (tmp_path / "cal").mkdir()
    os.mkfifo(tmp_path / "cal" / "calibration.json")
    assert "not a regular file" in _rules_only_with_reason(monkeypatch, tmp_path / "cal" / "calibration.json")


# ------------------------------------------------------------------ the SERVED pointer
@pytest.fixture
def cal_root(tmp_path, monkeypatch):
    root = tmp_path / "data" / "calibration"
    root.mkdir(parents=True)
    monkeypatch.delenv("TUNING_ADVISOR_CALIBRATION", raising=False)
    monkeypatch.setattr(artifact, "CAL_ROOT", root)
    return root


def _pointer_refused(root: Path) -> str:
    assert served_path() is None and load_served() is None
    problem = artifact.last_problem()
    rec = recommend(PROFILE, with_counterfactuals=False)
    assert rec.mode.startswith("rules-only (") and "answering rules-only" in rec.mode
    return problem


def test_a_good_pointer_serves_inside_the_root(cal_root):
    _write(cal_root / "20260101T000000Z", json.dumps(GOOD))
    (cal_root / "SERVED").write_text("20260101T000000Z\n")
    assert served_path() == cal_root / "20260101T000000Z" / "calibration.json"
    assert load_served() is not None


def test_pointer_missing_non_utf8_escape_and_devices(cal_root, tmp_path):
    assert "SERVED is missing" in _pointer_refused(cal_root)
    (cal_root / "SERVED").write_bytes(b"\xff\xfe2026")
    assert "not UTF-8" in _pointer_refused(cal_root)
    (cal_root / "SERVED").write_text("../../../cal/evil")
    assert "one folder name" in _pointer_refused(cal_root)
    (cal_root / "SERVED").unlink()
    os.symlink("/dev/zero", cal_root / "SERVED")
    assert "not a regular file" in _pointer_refused(cal_root)
    (cal_root / "SERVED").unlink()
    (cal_root / "SERVED").mkdir()
    assert "directory" in _pointer_refused(cal_root)


def test_a_served_folder_symlinked_outside_the_root_is_refused(cal_root, tmp_path):
    _write(tmp_path / "elsewhere", json.dumps(GOOD))
    os.symlink(tmp_path / "elsewhere", cal_root / "evil")
    (cal_root / "SERVED").write_text("evil")
    assert "resolves outside" in _pointer_refused(cal_root)
