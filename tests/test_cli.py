import json
from pathlib import Path

from typer.testing import CliRunner

from advisor.cli import app

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "examples" / "sentiment_laptop.yaml"


def test_recommend_flags_human_output():
    res = runner.invoke(app, ["recommend", "--labeled-examples", "500", "--task-complexity", "moderate",
                              "--compute", "low", "--accuracy-goal", "high", "--overfitting-risk", "medium"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("Recommended: ")
    assert "full_finetuning" in res.output and "What would change the answer" in res.output


def test_recommend_json_matches_python_api():
    from advisor import recommend
    res = runner.invoke(app, ["recommend", "--profile", str(EXAMPLE), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    from advisor import ProjectProfile
    assert data == json.loads(json.dumps(recommend(ProjectProfile.load(EXAMPLE)).to_dict()))


def test_flags_override_profile_file():
    res = runner.invoke(app, ["recommend", "--profile", str(EXAMPLE), "--model-access", "api_only", "--json"])
    data = json.loads(res.output)
    assert data["profile"]["model_access"] == "api_only" and data["profile"]["labeled_examples"] == 40


def test_bad_input_exits_2_with_one_line_naming_the_field():
    res = runner.invoke(app, ["recommend", "--compute", "huge"])
    assert res.exit_code == 2
    assert "compute='huge'" in res.output and "minimal | low | medium | high" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(app, ["recommend", "--labeled-examples", "-5"])
    assert res.exit_code == 2 and "labeled_examples='-5'" in res.output


def test_missing_profile_file_exits_2():
    res = runner.invoke(app, ["recommend", "--profile", "nope.yaml"])
    assert res.exit_code == 2 and "readable" in res.output


def test_table_and_estimate_commands():
    res = runner.invoke(app, ["table"])
    assert res.exit_code == 0 and "Lesson 5" in res.output and "access.api_only" in res.output
    res = runner.invoke(app, ["estimate", "--model-params-b", "7", "--labeled-examples", "1000", "--json"])
    assert res.exit_code == 0
    ft = json.loads(res.output)["full_finetuning"]
    # Issue 22: the smallest standard configuration (pure-bf16, 8-bit AdamW, checkpointing) still misses 24 GB.
    assert not ft["feasible_memory"] and ft["train_memory_gb"] > 24 and ft["memory_plan"]["optimizer"] > 0


def test_json_is_shown_as_a_flag_not_a_bool_value():
    # Issue 14 item 6: help showed "--json <bool>" though "--json true" fails: --json is a flag.
    res = runner.invoke(app, ["recommend", "--help"], env={"COLUMNS": "150"})
    line = next(x for x in res.output.splitlines() if "--json" in x)
    assert "<bool>" not in line


def test_a_recipe_the_access_level_cannot_run_is_a_one_line_error():
    # A review (2026-12-05): `recipe --option lora --model-access api_only` was an UnboundLocalError traceback.
    for access, option, allowed in (("api_only", "lora", "prompt_engineering"),
                                    ("api_with_finetuning", "prefix_tuning", "full_finetuning, prompt_engineering")):
        res = runner.invoke(app, ["recipe", "--option", option, "--model-access", access, "--labeled-examples", "500"])
        assert res.exit_code == 2 and isinstance(res.exception, SystemExit), res.output
        assert res.output.strip() == (f"error: option={option!r} cannot run with model_access={access} here "
                                      f"(allowed: {allowed})"), res.output
    ok = runner.invoke(app, ["recipe", "--option", "full_finetuning", "--model-access", "api_with_finetuning",
                             "--labeled-examples", "500"])
    # Allowed: past the access check (without a result store the recipe may still lack a learning rate to choose).
    assert "cannot run with model_access" not in ok.output and (ok.exception is None
                                                                 or isinstance(ok.exception, SystemExit)), ok.output


def test_estimate_prices_what_recommend_would_let_run():
    # A review (2026-12-05): `estimate` priced QLoRA memory for an api_only profile and billed prompt tuning, prefix
    # tuning and LoRA as provider fine-tuning where `recommend` marks them NO; its header counted 8,000 examples x 300
    # tokens where it priced 7,744 rows x 305.
    res = runner.invoke(app, ["estimate", "--model-access", "api_only", "--model-params-b", "70",
                              "--labeled-examples", "500"])
    assert res.exit_code == 0, res.output
    assert res.output.count("blocked: With API-only access") == 4 and "GB" not in res.output
    ft = runner.invoke(app, ["estimate", "--model-access", "api_with_finetuning", "--model-params-b", "7",
                             "--labeled-examples", "2000", "--avg-input-tokens", "200", "--json"])
    data = json.loads(ft.output)
    assert [o for o, c in data.items() if not c["feasible"]] == ["prompt_tuning", "prefix_tuning", "lora"]
    assert data["full_finetuning"]["training_tokens"] == 1744 * 205 * 3  # the training split, as the plan sends it
    own = runner.invoke(app, ["estimate", "--model-params-b", "7", "--labeled-examples", "8000", "--num-classes", "12",
                              "--avg-input-tokens", "300", "--epochs", "2"])
    assert "8,000 examples (7,744 to train on, 256 held out to validate) x 305 tokens (input + answer), 2 epochs" \
        in own.output
