"""Calibration, blending and leave-one-task-out evaluation on real (tiny) measured runs."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from advisor import recommend
from advisor.calibration import fit, load_calibration
from advisor.cli import app
from advisor.evaluate import leave_one_task_out
from bench.results import load

from bench_helpers import measured_results

METHODS = ("prompt_engineering", "linear_probe", "lora", "full_finetuning")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    # Two toy tasks (different seeds of the generator) x 4 methods x 3 sizes: real runs of a tiny random BERT.
    root = tmp_path_factory.mktemp("cal")
    a = measured_results(root / "a", methods=METHODS, sizes=(16, 32, 48))
    b = measured_results(root / "b", methods=METHODS, sizes=(16, 32, 48), task_name="toy2", seed=1)
    for path in b.glob("*/*/*/*.json"):  # one store with both tasks
        target = a / path.relative_to(b)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    return a


def test_fit_and_expected_accuracy_with_intervals(results):
    cal = fit(load(results))
    assert cal is not None and cal.n_runs == 24
    exp = cal.expected(recommend({"labeled_examples": 32}, calibration=None).profile)
    for option, e in exp.items():
        assert 0 <= e["low"] <= e["point"] <= e["high"] <= 1, (option, e)
        assert "measured runs" in e["basis"]
    big = cal.expected(recommend({"labeled_examples": 32, "model_params_b": 70}, calibration=None).profile)
    assert "scale prior (literature, not measured)" in big["prompt_tuning"]["basis"]


def test_expected_accuracy_never_falls_with_more_data_and_measurements_anchor_it(results):
    cal = fit(load(results))
    profile = recommend({"labeled_examples": 32}, calibration=None).profile
    curve = cal.points_by_size(profile, [16, 32, 64, 256, 4096])
    for option in curve[16]:
        values = [curve[n][option] for n in sorted(curve)]
        assert all(b >= a - 1e-9 for a, b in zip(values, values[1:])), (option, values)
    low = cal.expected(profile.replace(zero_shot_accuracy=0.5, probe_accuracy=0.55))
    high = cal.expected(profile.replace(zero_shot_accuracy=0.5, probe_accuracy=0.95))
    assert any(high[o]["point"] != low[o]["point"] for o in high)
    assert "anchored on your measured probe accuracy" in high["lora"]["basis"]
    assert "measured zero-shot accuracy" in high["lora"]["basis"]


def test_measured_accuracies_are_validated():
    from advisor.profile import ProfileError, ProjectProfile

    with pytest.raises(ProfileError, match=r"probe_accuracy=1.5 \(allowed: number >= 0 and <= 1 or null\)"):
        ProjectProfile(probe_accuracy=1.5)
    assert ProjectProfile(zero_shot_accuracy="0.7").zero_shot_accuracy == 0.7


def test_recommend_blends_and_shows_evidence(results):
    cal = load_calibration(results)
    rec = recommend({"labeled_examples": 32, "num_classes": 2}, calibration=cal)
    assert rec.mode.startswith("rules + calibration (24 measured runs)")
    data = rec.to_dict()
    for item in data["ranking"]:
        assert item["expected_accuracy"] is not None and item["rules_score"] is not None
    lora = rec.option("lora")
    assert lora.evidence and lora.evidence[0]["runs"][0].endswith(".json")
    assert data["evidence"][0]["sentence"].startswith("on toy")
    assert rec.counterfactuals
    rules = recommend({"labeled_examples": 32, "num_classes": 2}, calibration=None)
    assert rules.mode == "rules-only" and rules.option("lora").expected_accuracy is None


def test_too_little_data_means_rules_only(tmp_path):
    assert load_calibration(tmp_path / "missing") is None


def test_leave_one_task_out_and_cli(results):
    out = leave_one_task_out(load(results))
    assert out["cells"] == 6
    for key in ("advisor", "advisor_zero_shot", "advisor_profile_only", "rules_only", "always_full_finetuning",
                "always_prompt_engineering"):
        assert out[key]["top1_agreement"] is not None and out[key]["regret"] >= 0
    res = CliRunner().invoke(app, ["evaluate", "--results-dir", str(results), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert {"regret", "top1_agreement", "mae", "rules_only"} <= set(data)
    assert (results.parent / "calibration" / "evaluation.md").exists()


def test_external_evaluation_scores_only_unseen_tasks(results, tmp_path):
    other = measured_results(tmp_path, methods=METHODS, sizes=(16, 32), task_name="toy3", seed=2)
    res = CliRunner().invoke(app, ["evaluate", "--results-dir", str(results), "--external", str(other), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["protocol"] == "external" and data["cells"] == 2
    bad = CliRunner().invoke(app, ["evaluate", "--results-dir", str(results), "--external", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "no such folder" in bad.output


def test_app_shows_expected_accuracy_when_calibrated(results, monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("TUNING_ADVISOR_RESULTS", str(results))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=60).run()
    at.session_state["step"] = 3
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert table["expected accuracy"].str.contains(r"\[").all()
    assert any("Calibrated live from 24 measured runs" in c.value for c in at.caption)


def test_seed_noise_is_the_mean_spread_between_seeds():
    import pandas as pd

    from advisor.evaluate import seed_noise

    rows = [dict(status="ok", backbone="b", task="t", train_size=16, method="lora", seed=s, accuracy=a)
            for s, a in ((0, 0.70), (1, 0.74))]
    rows += [dict(status="ok", backbone="b", task="t", train_size=64, method="lora", seed=0, accuracy=0.8)]
    rows += [dict(status="ok", backbone="b", task="t", train_size=16, method="full_finetuning", seed=s, accuracy=a)
             for s, a in ((0, 0.60), (1, 0.62))]
    assert seed_noise(pd.DataFrame(rows)) == {"cells": 2, "mean_abs_seed_difference": 3.0}
    assert seed_noise(pd.DataFrame(rows[2:3])) is None
