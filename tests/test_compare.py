"""`advisor compare A B`: two profiles' answers side by side."""

from __future__ import annotations

import json
import pytest
from pathlib import Path

from typer.testing import CliRunner

from advisor import ProjectProfile, recommend
from advisor.cli import app
from advisor.compare import compare, table_rows
from advisor.options import OPTIONS

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "examples"
LAPTOP, MEDICAL = EXAMPLES / "sentiment_laptop.yaml", EXAMPLES / "medical_gpu.yaml"


def test_compare_json_carries_each_sides_own_recommendation():
    res = runner.invoke(app, ["compare", str(LAPTOP), str(MEDICAL), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    for side, path in (("a", LAPTOP), ("b", MEDICAL)):
        rec = recommend(ProjectProfile.load(path))
        assert data[side]["best"] == rec.best and data[side]["summary"] == rec.summary()
        assert data[side]["name"] == str(path)
        for row in data["options"]:
            r, cell = rec.option(row["option"]), row[side]
            assert (cell["rank"], cell["feasible"]) == (r.rank, r.feasible)
            assert cell["train_gpu_hours"] == r.cost.train_gpu_hours
            assert cell["peak_memory_gb"] == r.cost.train_memory_gb  # both profiles have the weights
            assert cell["storage_bytes_per_task"] == r.cost.storage_bytes_per_task
            if r.expected_accuracy:
                assert cell["expected_accuracy"] == {k: r.expected_accuracy[k] for k in ("point", "low", "high")}
            else:
                assert cell["expected_accuracy"] is None and cell["expected_accuracy_note"]
    assert [row["option"] for row in data["options"]] == list(OPTIONS)
    assert data["same_best"] == (data["a"]["best"] == data["b"]["best"])
    changed = {d["field"]: (d["a"], d["b"]) for d in data["differences"]}
    assert changed["labeled_examples"] == (40, 8000) and changed["compute"] == ("minimal", "medium")


def test_compare_text_shows_both_top_picks_and_every_option():
    res = runner.invoke(app, ["compare", str(LAPTOP), str(MEDICAL)])
    assert res.exit_code == 0, res.output
    assert f"A: {LAPTOP}" in res.output and f"B: {MEDICAL}" in res.output
    assert "Top pick: A → " in res.output and "What differs: labeled_examples 40 → 8000" in res.output
    for o in OPTIONS:
        assert f"\n{o:<22}|" in res.output
    # Issue 22: the medical scenario's 7B full fine-tuning fits one 80 GB GPU with an 8-bit optimizer and gradient
    # checkpointing (it was listed as infeasible at 16 bytes/parameter); neither side lists it under "Not feasible".
    assert "B full_finetuning:" not in res.output and "A full_finetuning:" not in res.output


def test_identical_profiles_agree_everywhere():
    result = compare(ProjectProfile(), {}, calibration=None)
    assert result["same_best"] and result["differences"] == []
    for row in result["options"]:
        assert row["a"] == row["b"]
    rows = table_rows(result)
    assert len(rows) == 5 and rows[0]["A rank"] == rows[0]["B rank"]


def test_a_named_model_changes_cost_in_the_comparison():
    result = compare({"model": "SmolLM2-135M"}, {"model": "Llama-3.1-70B"}, calibration=None)
    assert {"field": "model", "a": "SmolLM2-135M", "b": "Llama-3.1-70B"} in result["differences"]
    ft = next(r for r in result["options"] if r["option"] == "full_finetuning")
    assert ft["b"]["peak_memory_gb"] > 100 * ft["a"]["peak_memory_gb"]


def test_api_access_has_no_memory_of_yours_to_size():
    """As on the answer page: with API access the provider's hardware holds the weights."""
    result = compare({"model_access": "api_only"}, {}, calibration=None)
    for row in result["options"]:
        assert row["a"]["peak_memory_gb"] is None and row["b"]["peak_memory_gb"] is not None
    rows = table_rows(result)
    assert all(r["A peak memory GB"] == "—" and r["B peak memory GB"] != "—" for r in rows)  # no grey "None"
    res = runner.invoke(app, ["compare", str(EXAMPLES / "api_only.yaml"), str(LAPTOP)])
    assert res.exit_code == 0, res.output
    assert "provider" in res.output.split("\nprompt_engineering")[1].split("\n")[0]


def test_bad_file_exits_2_naming_the_file_and_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("compute: huge\n")
    res = runner.invoke(app, ["compare", str(LAPTOP), str(bad)])
    assert res.exit_code == 2 and str(bad) in res.output and "compute='huge'" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(app, ["compare", str(LAPTOP), str(tmp_path / "missing.yaml")])
    assert res.exit_code == 2 and "missing.yaml" in res.output and "readable" in res.output
    bad.write_text("model: gpt-17\n")
    res = runner.invoke(app, ["compare", str(bad), str(LAPTOP)])
    assert res.exit_code == 2 and "model='gpt-17'" in res.output and "Llama-3.1-8B" in res.output


def test_each_side_names_its_pick_as_its_own_answer_does():
    """A review: with B through a provider's fine-tuning API both sides picked full fine-tuning, and the compare
    said "full fine-tuning in both scenarios" while B's own answer said "the provider's fine-tuning API"."""
    from advisor.compare import to_text

    a = {"labeled_examples": 20_000, "model_params_b": 1, "compute": "high", "accuracy_goal": "critical"}
    result = compare(a, {**a, "model_access": "api_with_finetuning"}, calibration=None)
    assert result["a"]["best_label"] == recommend(a, calibration=None).label(result["a"]["best"])
    b_rec = recommend({**a, "model_access": "api_with_finetuning"}, calibration=None)
    assert result["b"]["best_label"] == b_rec.label(b_rec.best)
    assert f"B → {result['b']['best_label']}" in to_text(result)


def test_money_and_the_providers_job_are_in_the_comparison():
    """A price per GPU-hour changed nothing visible, and the provider's fine-tuning job read "full_finetuning, 0
    GPU-h" (a review, 2026-12-05): each cell carries the answer's own money and label."""
    from advisor import recommend
    from advisor.compare import compare, money_text, to_text
    from advisor.costs import dollars_range

    a = {"model_params_b": 70, "labeled_examples": 20000, "compute": "high", "num_classes": 4, "price_per_gpu_hour": 4}
    b = {**a, "price_per_gpu_hour": 12}
    result = compare(a, b, calibration=None)
    lora = next(r for r in result["options"] if r["option"] == "lora")
    assert lora["b"]["train_dollars"][0] == pytest.approx(3 * lora["a"]["train_dollars"][0])
    own = recommend(a, calibration=None).option("lora").cost.train_dollars
    assert money_text(lora["a"]) == dollars_range(*own).replace("about ", "")
    api = {"model_params_b": 8, "labeled_examples": 1000, "model_access": "api_with_finetuning", "num_classes": 4}
    result = compare(a, api, calibration=None)
    ft = next(r for r in result["options"] if r["option"] == "full_finetuning")
    assert ft["b"]["label"] == recommend(api, calibration=None).label("full_finetuning") != ft["label"]
    assert ft["b"]["provider_dollars"] and "B full_finetuning is the provider" in to_text(result)
    assert next(r for r in result["options"] if r["option"] == "lora")["b"]["provider_dollars"] is None


def test_gpu_settings_are_not_differences_against_an_api_profile():
    """'compute medium -> low' read as a choice where the API side never answered it (a review, 2026-12-05)."""
    result = compare({"labeled_examples": 8000, "model_params_b": 7, "compute": "medium", "gpu_memory_gb": 80},
                     {"labeled_examples": 500, "model_access": "api_only"}, calibration=None)
    fields = {d["field"] for d in result["differences"]}
    assert "labeled_examples" in fields and "model_access" in fields
    assert not fields & {"compute", "gpu_memory_gb", "num_gpus"}
