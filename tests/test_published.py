"""Published evidence: every shipped row is cited and in range; every schema rule rejects its bad row."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml

from advisor.published import EVIDENCE_DIR, METHODS, EvidenceError, check_row, load_evidence, load_file, summary

GOOD = {"model": "Llama-3.2-3B", "model_params_b": 3.21, "architecture": "decoder", "task": "gsm8k",
        "task_kind": "generation", "metric": "accuracy", "value": 47.8, "value_max": 100, "higher_is_better": True,
        "train_examples": 20000, "method": "lora", "zero_shot": None, "where": "Table 1"}


def test_every_shipped_row_is_valid_and_cited():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a skipped row would be a warning: none allowed in what we ship
        rows = load_evidence()
    assert len(rows) >= 100
    for r in rows:
        assert r["method"] in METHODS and r["model_params_b"] > 0 and 0 <= r["score"] <= 1
        assert r["provenance"] == "published" and r["where"] and r["year"] >= 2015
        assert r["source_id"] in r["citation"] or r["where"] in r["citation"]
    assert {s["source"] for s in summary(rows)} == {p.stem for p in EVIDENCE_DIR.glob("*.yaml")
                                                    if yaml.safe_load(p.read_text())["rows"]}


@pytest.mark.parametrize("field,value", [
    ("method", "adapter"), ("method", None), ("model_params_b", 0), ("model_params_b", -3), ("model_params_b", "7B"),
    ("model_params_b", float("inf")), ("value", 101), ("value", -1), ("value", float("nan")), ("value_max", 10),
    ("train_examples", -5), ("train_examples", 3.5), ("architecture", "rnn"), ("task_kind", "ranking"),
    ("where", ""), ("model", None), ("zero_shot", 250), ("higher_is_better", "yes"), ("demonstrations", -1),
    ("demonstrations", 2.5), ("demonstrations", True), ("demonstrations", 8)])
def test_each_rule_rejects_its_bad_row_naming_the_field(field, value):
    with pytest.raises(EvidenceError, match=f"{field}="):
        check_row({**GOOD, field: value}, "x.yaml row 0")
    assert check_row(GOOD, "x.yaml row 0")["score"] == pytest.approx(0.478)


def test_bad_rows_are_skipped_with_a_warning_and_bad_files_never_crash(tmp_path):
    src = {"id": "s", "authors": "A, B", "title": "T", "venue": "V", "year": 2024, "url": "https://x"}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump({"source": src, "rows": [GOOD, {**GOOD, "method": "magic"}]}))
    with pytest.warns(UserWarning, match=r"s.yaml row 1: method='magic'"):
        rows = load_file(tmp_path / "s.yaml")
    assert len(rows) == 1 and rows[0]["citation"] == "A et al., T, V 2024, Table 1"
    (tmp_path / "t.yaml").write_bytes(b"\xff\xfe\x00binary")
    (tmp_path / "u.yaml").write_text(yaml.safe_dump({"source": {**src, "id": "other"}, "rows": [GOOD]}))
    with pytest.warns(UserWarning):
        assert len(load_evidence(tmp_path)) == 1


def test_loader_imports_no_torch_or_pandas():
    code = "import sys, advisor.published as p; p.load_evidence(); print('pandas' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "False False", out.stderr


def test_demonstrations_is_optional_and_only_for_prompting():
    # GOOD is a LoRA row: demonstrations=8 is rejected above; on a prompting row it is kept as given.
    icl = {**GOOD, "method": "prompt_engineering", "train_examples": 32, "demonstrations": 32}
    assert check_row(icl, "x.yaml row 0")["demonstrations"] == 32
    assert check_row({**icl, "demonstrations": None}, "x.yaml row 0")["demonstrations"] is None
    shipped = [r for r in load_evidence() if r.get("demonstrations") is not None]
    assert shipped and all(r["method"] == "prompt_engineering" for r in shipped)
    # Brown et al. 2020 give one setting per (model, task, K): 0, 1 and K demonstrations, all eight model sizes.
    gpt3 = [r for r in shipped if r["source_id"] == "lit_brown2020_gpt3"]
    assert {r["demonstrations"] for r in gpt3 if r["task"] == "copa"} == {0, 1, 32}
    assert len({r["model_params_b"] for r in gpt3}) == 8
