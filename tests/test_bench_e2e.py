"""Small real end-to-end runs with the packaged MiniLM on the shared sst2 data."""

from __future__ import annotations

import dataclasses

import pytest

from bench.protocol import Protocol
from bench.results import validate
from bench.tasks import load_task, resolve_data_dir
from bench.trial import run_trial

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(resolve_data_dir() is None or not (resolve_data_dir() / "sst2").exists(),
                       reason="shared datasets not found: set TUNING_ADVISOR_DATA or provide ../shared/data"),
]

SMALL = dataclasses.replace(Protocol(), min_steps=20, max_steps=20, extend_factor=1.0, test_cap=200,
                            val_min=32, val_max=32, forgetting_probe_train=100, forgetting_probe_test=100)


def test_minilm_on_sst2_linear_probe_and_lora():
    sst2 = load_task("sst2")
    probe = run_trial("minilm", sst2, "linear_probe", 64, 0, SMALL, device="cpu")
    assert probe["status"] == "ok", probe.get("traceback_tail")
    assert validate(probe) == []
    # Real pretrained sentence embeddings separate sentiment well above chance with 64 labels.
    assert probe["accuracy"] > 0.6
    lora = run_trial("minilm", sst2, "lora", 64, 0, SMALL, device="cpu")
    assert lora["status"] == "ok", lora.get("traceback_tail")
    assert lora["config"]["test_size"] == 200 and lora["steps"] >= 20
    assert lora["trainable_params"] < 0.02 * lora["total_params"]
    assert lora["forgetting"] is not None and lora["device"] == "cpu"
    assert lora["env"]["packages"]["peft"] and "git_commit" in lora["env"]


def test_minilm_prompt_engineering_reports_both_variants():
    r = run_trial("minilm", load_task("sst2"), "prompt_engineering", 16, 0, SMALL, device="cpu")
    assert r["status"] == "ok"
    assert set(r["metrics"]["variants"]) == {"zero_shot", "few_shot"}
    assert r["zero_shot_accuracy"] is not None and r["trainable_params"] == 0
