"""Each rule, each hard constraint, and the recommendation's shape."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from advisor import OPTIONS, ProjectProfile, TableError, load_table, recommend
from advisor.options import LABELS
from advisor.rules import score_options
from advisor.costs import estimate_all
from advisor.table import DEFAULT_TABLE, matches, parse_table

TABLE = load_table()
EXAMPLES = sorted(Path(__file__).resolve().parent.parent.joinpath("data", "examples").glob("*.yaml"))


def _profile_for(when):
    """A profile satisfying a rule's `when` (the smallest value in a numeric range)."""
    values = {}
    for field, cond in when.items():
        if isinstance(cond, dict):
            if "in" in cond:
                values[field] = cond["in"][0]
            elif "gte" in cond:
                values[field] = cond["gte"]
            elif "gt" in cond:
                values[field] = cond["gt"] + (1 if isinstance(cond["gt"], int) else 0.01)
            elif "lt" in cond:
                values[field] = cond["lt"] - (1 if isinstance(cond["lt"], int) else 0.01)
            else:
                values[field] = cond.get("eq", cond.get("lte"))
        else:
            values[field] = cond
    return ProjectProfile.from_dict(values)


@pytest.mark.parametrize("rule", TABLE.rules, ids=lambda r: r.id)
def test_each_rule_fires_and_moves_scores_as_declared(rule):
    profile = _profile_for(rule.when)
    assert matches(rule.when, profile)
    scores = score_options(profile, TABLE, estimate_all(profile, TABLE))
    for option in OPTIONS:
        contributions = [r for r in scores[option].reasons if r.rule == rule.id]
        effect = rule.effects[option]
        if effect == 0:
            assert not contributions
        else:
            assert len(contributions) == 1
            assert contributions[0].contribution == rule.weight * effect
            assert contributions[0].direction == ("for" if effect > 0 else "against")
            assert contributions[0].source == rule.source and rule.source


def test_classic_five_rows_are_encoded_with_sources():
    factors = {r.factor for r in TABLE.rules if r.source.startswith("Lesson 5")}
    assert {"compute", "labeled_examples", "task_complexity", "accuracy_goal", "overfitting_risk"} <= factors
    extended = {r.factor for r in TABLE.rules}
    assert {"domain_shift", "preserve_capabilities", "num_tasks", "iteration_speed", "long_term",
            "interpretability", "model_params_b"} <= extended


def test_api_only_leaves_only_prompt_engineering():
    rec = recommend({"model_access": "api_only", "labeled_examples": 5000, "compute": "high"})
    assert rec.best == "prompt_engineering"
    for r in rec.ranking:
        assert r.feasible == (r.option == "prompt_engineering")
        if not r.feasible:
            assert any("API-only" in why for why in r.infeasible_reasons)


@pytest.mark.parametrize("access", ["api_only", "api_with_finetuning"])
def test_with_api_access_your_own_compute_never_drives_the_answer(access):
    # The provider's hardware trains and serves: a "compute" answer left at any level must not move a score.
    answers = {lvl: recommend({"model_access": access, "labeled_examples": 2000, "compute": lvl},
                              calibration=None) for lvl in ("minimal", "low", "medium", "high")}
    assert len({tuple(round(r.score, 6) for r in rec.ranking) for rec in answers.values()}) == 1
    assert not any(x.factor == "compute" for rec in answers.values() for r in rec.ranking for x in r.reasons)


def test_cli_shows_no_score_for_infeasible_options_and_no_memory_of_yours_with_api_access():
    from typer.testing import CliRunner

    from advisor.cli import app

    out = CliRunner().invoke(app, ["recommend", "--labeled-examples", "2000", "--model-access", "api_only"]).output
    rows = {line.split()[1]: line.split() for line in out.splitlines() if line[:1].isdigit()}
    assert rows["prompt_engineering"][2] != "—" and rows["lora"][2] == "—"
    import re
    assert not any(re.search(r"\d\.\dGB", line) for line in out.splitlines() if line[:1].isdigit())  # memory: —
    # An infeasible option's accuracy, where the table shows one, is said as a hypothetical (the unknown-size caveat
    # also names "the expected accuracies": the table's column is what is checked).
    assert "if it were feasible" in out or "expected acc [10-90%]" not in out


def test_api_with_finetuning_allows_prompting_and_managed_finetuning():
    rec = recommend({"model_access": "api_with_finetuning", "labeled_examples": 5000})
    feasible = {r.option for r in rec.ranking if r.feasible}
    assert feasible == {"prompt_engineering", "full_finetuning"}


def test_no_labels_means_no_trained_method():
    rec = recommend({"labeled_examples": 0})
    assert [r.option for r in rec.ranking if r.feasible] == ["prompt_engineering"]
    assert all(r.infeasible_reasons for r in rec.ranking if r.option != "prompt_engineering")


def test_soft_prompts_need_a_minimum_of_examples():
    rec = recommend({"labeled_examples": 20})
    assert not rec.option("prompt_tuning").feasible and not rec.option("prefix_tuning").feasible
    assert rec.option("lora").feasible
    assert recommend({"labeled_examples": 32}).option("prompt_tuning").feasible


def test_memory_constraint_blocks_full_finetuning_of_a_7b_model_on_24gb():
    rec = recommend({"model_params_b": 7, "compute": "low", "labeled_examples": 5000})
    ft = rec.option("full_finetuning")
    assert not ft.feasible and "GB" in ft.infeasible_reasons[0]
    assert rec.option("lora").feasible
    # An explicit bigger GPU lifts it.
    assert recommend({"model_params_b": 7, "gpu_memory_gb": 200, "labeled_examples": 5000}).option("full_finetuning").feasible


def test_infeasible_options_rank_last_and_keep_their_reasons():
    rec = recommend({"model_access": "api_only"})
    feasible = [r.feasible for r in rec.ranking]
    assert feasible == sorted(feasible, reverse=True)


def test_recommendation_shape_is_json_serialisable_and_deterministic():
    a = recommend(ProjectProfile(labeled_examples=300)).to_dict()
    b = recommend({"labeled_examples": 300}).to_dict()
    assert a == b
    text = json.dumps(a)
    data = json.loads(text)
    assert data["best"] in OPTIONS and len(data["ranking"]) == 5
    for item in data["ranking"]:
        # An infeasible option has no score in the JSON, as on the page (it once said 100 under a pick's 99).
        assert (item["score"] is None) == (not item["feasible"])
        assert item["score"] is None or 0 <= item["score"] <= 100
        assert set(item["cost"]) >= {"train_flops", "train_memory_gb", "storage_bytes_per_task", "extra_inference_tokens"}
        for reason in item["reasons"]:
            assert set(reason) >= {"factor", "direction", "weight", "source"}
    assert data["counterfactuals"]


def test_counterfactual_names_a_real_flip():
    # One consumer GPU: 40 examples favour prompting, 4x more LoRA. (On a laptop, table 2026.12.2, no single change
    # flips it any more: soft prompts lost their compute credit there, so nothing trained overtakes prompting.)
    base = {"task_complexity": "simple", "compute": "low"}
    rec = recommend({"labeled_examples": 40, **base})
    more = [c for c in rec.counterfactuals if re.match(r"With \d+x more labeled examples \(", c)]
    assert more and "would overtake" in more[0], rec.counterfactuals
    # The data counterfactual is honest: applying it really changes the best option, to the one it names.
    n = int(re.search(r"\(([\d,]+) instead of", more[0]).group(1).replace(",", ""))
    other = recommend({"labeled_examples": n, **base})
    assert other.best != rec.best and more[0].split(", ", 1)[1].startswith(LABELS[other.best])


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_profiles_load_and_recommend(path):
    rec = recommend(ProjectProfile.load(path))
    assert rec.ranking[0].feasible


def test_seed_scenarios_get_sensible_answers():
    by_name = {p.stem: recommend(ProjectProfile.load(p)).best for p in EXAMPLES}
    assert by_name["api_only"] == "prompt_engineering"
    assert by_name["sentiment_laptop"] in {"prompt_engineering", "prompt_tuning"}
    assert by_name["fifty_tasks"] in {"lora", "prompt_tuning", "prefix_tuning"}
    assert by_name["medical_gpu"] in {"lora", "full_finetuning"}


def test_malformed_tables_are_rejected_with_the_entry_named():
    raw = yaml.safe_load(DEFAULT_TABLE.read_text())
    raw["rules"][0]["when"] = {"compute": "huge"}
    with pytest.raises(TableError, match="compute.minimal"):
        parse_table(raw)
    raw = yaml.safe_load(DEFAULT_TABLE.read_text())
    raw["rules"][0]["effects"]["lora"] = 5
    with pytest.raises(TableError, match="-2..2"):
        parse_table(raw)
    raw = yaml.safe_load(DEFAULT_TABLE.read_text())
    raw["constraints"][0]["infeasible"] = ["magic"]
    with pytest.raises(TableError, match="unknown option"):
        parse_table(raw)


def test_import_advisor_does_not_import_torch_or_transformers():
    code = ("import sys, advisor; advisor.recommend({}); "
            "bad = [m for m in ('torch', 'transformers', 'peft') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_budget_block_on_the_per_class_minimum_names_the_epochs_that_would_lift_it():
    # GPU-hours grow with examples x epochs: 0.09 GPU-hours pay a 7B model 1,896 examples at 3 epochs, short of
    # 2,000 classes; at 2 epochs they pay for 2,844 (a review, 2026-12-05: the 3 epochs were assumed unsaid).
    from pathlib import Path

    import yaml

    from advisor import recommend

    example = Path(__file__).resolve().parent.parent / "data" / "examples" / "medical_gpu.yaml"
    p = {**yaml.safe_load(example.read_text()), "num_classes": 2000, "budget_gpu_hours": 0.09, "epochs": 3}
    rec = recommend(p, calibration=None, with_counterfactuals=False)
    why = " ".join(rec.option("lora").infeasible_reasons)
    assert "data.per_class_trained" in why and "`--epochs 2`" in why, why
    lifted = recommend({**p, "epochs": 2}, calibration=None, with_counterfactuals=False)
    assert not any("data.per_class_trained" in r for r in lifted.option("lora").infeasible_reasons)
