import json

from typer.testing import CliRunner

from advisor.claims import audit, crossover
from advisor.cli import app
from bench.results import load, runs_view

from bench_helpers import measured_results


def test_claims_audit_on_measured_runs(tmp_path):
    results = measured_results(tmp_path, methods=("prompt_engineering", "prompt_tuning", "lora", "full_finetuning"),
                               sizes=(16, 32, 48))
    df = runs_view(load(results))
    out = {r.claim: r for r in audit(df)}
    assert len(out) == 14  # + "Soft prompts are not human-readable"
    store = out["A soft prompt is far smaller to store than a LoRA adapter"]
    assert store.cells == 3 and store.verdict in {"supported", "mixed", "contradicted"}
    assert store.runs and store.runs[0].endswith(".json")
    assert out["With more data (n >= 256) full fine-tuning beats prompt tuning"].verdict == "not testable here"
    assert out["On complex tasks full fine-tuning beats prompt tuning"].verdict == "not testable here"
    assert set(crossover(df)) == {"tiny-bert/toy"}
    res = CliRunner().invoke(app, ["claims", "--results-dir", str(results), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert sum(data["counts"].values()) == 14
    text = (results.parent / "calibration" / "claims.md").read_text()
    assert "| claim | table row | verdict | numbers | decision table |" in text
    # Every revision recorded in the decision table is listed with its before/after values.
    assert {c["rule"] for c in data["table_changes"]} >= {"data.few", "complexity.simple", "preserve.yes"}
    assert "`preserve.yes`: preserve.yes (weight 2 -> 1)" in text
    assert all(c["table_action"] for c in data["claims"])


def test_a_contradicted_claim_without_a_table_change_is_flagged():
    from advisor.claims import ClaimResult, _table_action
    from advisor.table import load_table

    result = ClaimResult("Prompt tuning overfits less than full fine-tuning", "row", "t", "contradicted", 0, 5, "")
    assert _table_action(result, load_table()).table_action == "CONTRADICTED BUT NOT YET REFLECTED IN THE TABLE"
    result = ClaimResult("Full fine-tuning forgets more than LoRA", "row", "t", "contradicted", 0, 5, "")
    assert _table_action(result, load_table()).table_action.startswith("table revised: preserve.yes (weight 2 -> 1)")


def test_claims_never_mix_protocols_for_a_backbone(tmp_path):
    """Like the calibration (issue 21): while a rerun under a new protocol is under way, each backbone's claims are
    judged on one protocol's runs, and the audit says which and what it set aside."""
    results = measured_results(tmp_path, methods=("prompt_engineering", "prompt_tuning", "full_finetuning"),
                               sizes=(16, 32, 48))
    victim = sorted(results.glob("*/*/full_finetuning/*.json"))[0]
    record = json.loads(victim.read_text())
    record["config"]["protocol"]["version"] = 1  # one run measured under the old protocol
    victim.write_text(json.dumps(record))
    res = CliRunner().invoke(app, ["claims", "--results-dir", str(results), "--json", "--no-write"])
    assert res.exit_code == 0, res.output
    protocols = json.loads(res.output)["protocols"]
    (backbone, note), = protocols.items()
    assert note["protocol"] == 2 and note["set_aside"] == {"1": 1}  # JSON keys are strings
    text = CliRunner().invoke(app, ["claims", "--results-dir", str(results), "--no-write"]).output
    assert f"{backbone}: v2 (" in text and "set aside until the rerun completes: 1 v1" in text
