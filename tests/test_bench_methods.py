"""Common checks over the method registry (like scikit-learn's estimator checks), on tiny random models."""

from __future__ import annotations

import pytest

from bench.methods import METHODS
from bench.results import read_result, validate, write_result
from bench.tasks import load_task
from bench.trial import run_trial

from bench_helpers import TINY_PROTOCOL, write_toy_task

BACKBONES = ("tiny-bert", "tiny-llama")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return load_task(write_toy_task(tmp_path_factory.mktemp("toy")))


@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize("method", list(METHODS))
def test_method_common_checks(method, backbone, toy, tmp_path):
    a = run_trial(backbone, toy, method, 32, 0, TINY_PROTOCOL, device="cpu")
    assert a["status"] == "ok", a.get("traceback_tail")
    assert validate(a) == []
    # The runner's store accepts it and reads it back unchanged.
    path = write_result(tmp_path / "r.json", a)
    assert read_result(path)["accuracy"] == a["accuracy"]
    # Every top-level key that consumers rely on is measured (not left None) on success.
    for key in ("accuracy", "macro_f1", "train_accuracy", "train_time_s", "peak_rss_mb", "trainable_params",
                "total_params", "stored_bytes", "infer_ms_per_example", "steps"):
        assert a[key] is not None, key
    assert a["peak_rss_mb"] > 50 and a["stored_bytes"] > 0 and a["infer_ms_per_example"] > 0
    if METHODS[method].trains:
        curve = a["metrics"]["loss_curve"]
        assert curve[-1][1] < curve[0][1], f"loss did not go down: {curve}"
        assert a["trainable_params"] > 0 and a["lr"] in a["config"]["lr_candidates"]
        assert a["forgetting"] is not None
    # Same seed -> same metrics.
    b = run_trial(backbone, toy, method, 32, 0, TINY_PROTOCOL, device="cpu")
    for key in ("accuracy", "macro_f1", "train_accuracy", "lr", "steps", "trainable_params"):
        assert a[key] == b[key], key


def test_the_pipeline_keeps_labels_aligned(toy):
    # The marker word decides the label, so even a random tiny BERT's pooled features separate
    # the classes: a probe near chance would mean texts and labels were shuffled apart.
    r = run_trial("tiny-bert", toy, "linear_probe", 64, 0, TINY_PROTOCOL, device="cpu")
    assert r["accuracy"] >= 0.9


def test_trainable_parameter_counts_are_ordered(toy):
    counts = {m: run_trial("tiny-bert", toy, m, 16, 0, TINY_PROTOCOL, device="cpu")["trainable_params"]
              for m in ("prompt_tuning", "lora", "full_finetuning")}
    assert counts["prompt_tuning"] < counts["full_finetuning"]
    assert counts["lora"] < counts["full_finetuning"]


def test_a_failing_trial_is_recorded_not_raised(toy):
    r = run_trial("tiny-bert", toy, "lora", 10_000, 0, TINY_PROTOCOL, device="cpu")
    assert r["status"] == "failed" and "exceeds the pool" in r["error"]
    assert validate(r) == []


def test_unknown_device_is_a_failed_trial_with_a_clear_message(toy):
    r = run_trial("tiny-bert", toy, "lora", 16, 0, TINY_PROTOCOL, device="tpu")
    assert r["status"] == "failed" and "auto | cpu | cuda" in r["error"]


@pytest.mark.parametrize("init", ["sample_vocab", "random"])
def test_prompt_tuning_init_variants(init, toy, monkeypatch):
    monkeypatch.setattr(METHODS["prompt_tuning"], "init", init)
    r = run_trial("tiny-bert", toy, "prompt_tuning", 16, 0, TINY_PROTOCOL, device="cpu")
    assert r["status"] == "ok", r.get("traceback_tail")
    assert r["metrics"]["hyperparams"]["init"] == init


def test_device_resolution_is_cpu_testable(monkeypatch):
    import torch

    from bench.trial import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == (torch.device("cpu"), False)
    assert resolve_device("cpu")[0].type == "cpu"
    with pytest.raises(ValueError, match="no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        resolve_device("cuda-fp32")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert resolve_device("auto") == (torch.device("cuda"), True)
    assert resolve_device("cuda") == (torch.device("cuda"), True)
    # the encoder's GPU path: no autocast (MiniLM collapsed to chance under bf16), recorded as plain "cuda"
    assert resolve_device("cuda-fp32") == (torch.device("cuda"), False)
    with pytest.raises(ValueError, match="auto | cpu | cuda | cuda-fp32"):
        resolve_device("tpu")


@pytest.mark.parametrize("backbone", ["tiny-bert", "tiny-llama"])
def test_prompt_tuning_class_labels_init_cycles_label_word_embeddings(backbone, toy, monkeypatch):
    """Lester et al. 2021: the soft prompt starts as the label words' embeddings, repeated to fill it."""
    import torch

    from bench.methods import override
    from bench.methods.prompt_tuning import VIRTUAL_TOKENS
    from bench.models import load_backbone
    from bench.trial import prepare_cell

    cell = prepare_cell(load_backbone(backbone), toy, 16, 0, TINY_PROTOCOL, None, torch.device("cpu"), False)
    model, _ = override(METHODS["prompt_tuning"], {"init": "class_labels"}).build(cell, 0.1)
    # peft's TEXT init tokenises the label words ("negative positive") and repeats the ids to fill the prompt.
    ids = cell.backbone.tokenizer(" ".join(lab.word for lab in toy.labels))["input_ids"]
    prompt = model.prompt_encoder[model.active_adapter].embedding.weight
    words = model.get_input_embeddings().weight
    for k in range(VIRTUAL_TOKENS):
        assert torch.equal(prompt[k], words[ids[k % len(ids)]])
    text_init, _ = override(METHODS["prompt_tuning"], {"init": "text"}).build(cell, 0.1)
    assert not torch.equal(text_init.prompt_encoder[text_init.active_adapter].embedding.weight, prompt)
    # Recipe version 2 (benchmarks/prompt_tuning_recipe.py): class-label init is the default, lr 0.3 is raced.
    default, _ = METHODS["prompt_tuning"].build(cell, 0.1)
    assert torch.equal(default.prompt_encoder[default.active_adapter].embedding.weight, prompt)
    assert METHODS["prompt_tuning"].candidates(cell) == (3e-2, 1e-1, 3e-1) and METHODS["prompt_tuning"].version == 2


def test_overrides_are_applied_recorded_and_checked(toy, monkeypatch):
    from bench.trial import parse_overrides

    monkeypatch.setenv("BENCH_OVERRIDES", "prompt_tuning.init=class_labels;prompt_tuning.lrs=0.05")
    r = run_trial("tiny-bert", toy, "prompt_tuning", 16, 0, TINY_PROTOCOL, device="cpu")
    assert r["status"] == "ok", r.get("traceback_tail")
    assert r["config"]["overrides"] == {"init": "class_labels", "lrs": [0.05]}
    assert r["lr"] == 0.05 and r["metrics"]["hyperparams"]["init"] == "class_labels"
    for bad, msg in [("prompt_tuning.init=words", "allowed: text, class_labels"), ("lora.init=text", "allowed: lrs"),
                     ("nope.lrs=1", "unknown method"), ("lora.lrs=fast", "numbers"), ("init", "method.key=value")]:
        with pytest.raises(ValueError, match=msg):
            parse_overrides(bad)


def test_prompt_tuning_saves_its_prompt_and_inspect_prompt_reads_it(toy, tmp_path):
    import json

    import numpy as np
    from typer.testing import CliRunner

    from bench.cli import app
    from bench.runner import expand, run_grid

    results = tmp_path / "results"
    summary = run_grid(expand(["tiny-llama"], [toy], ["prompt_tuning"], [16], [0]), results, TINY_PROTOCOL,
                       device="cpu", progress=False, threads=1)
    assert summary["failed"] == 0, summary["failures"]
    run = next(results.rglob("*.json"))
    record = json.loads(run.read_text())
    prompt = np.load(run.with_name(record["artifacts"]["prompt_embeddings"]))
    assert prompt.shape == (20, 32)  # 20 virtual tokens x the tiny Llama's hidden size
    stats = record["metrics"]["prompt_readability"]
    assert len(stats["virtual_max_cos"]) == 20 and 0 <= stats["share_off_vocabulary"] <= 1
    out = CliRunner().invoke(app, ["inspect-prompt", str(run), "--json"])
    assert out.exit_code == 0, out.output
    again = json.loads(out.output)
    assert np.allclose(again["virtual_max_cos"], stats["virtual_max_cos"], atol=1e-5)
    bad = CliRunner().invoke(app, ["inspect-prompt", str(tmp_path / "nope.json")])
    assert bad.exit_code != 0 and "not a readable result JSON" in bad.output


def test_readability_of_real_tokens_is_on_the_vocabulary():
    """A prompt made of real token embeddings has max cosine 1 and none of it is off-vocabulary."""
    import numpy as np

    from bench.methods.prompt_inspect import readability

    vocab = np.random.default_rng(0).normal(size=(500, 16))
    stats = readability(vocab[[3, 7, 9]], vocab)
    assert np.allclose(stats["virtual_max_cos"], 1.0, atol=1e-5) and stats["share_off_vocabulary"] == 0.0
    assert [n[0][0] for n in stats["nearest"]] == [3, 7, 9]
    far = readability(np.random.default_rng(1).normal(size=(4, 16)) * 0 + 1.0, vocab)  # the all-ones direction
    assert far["virtual_max_cos"][0] < 1.0


def test_soft_prompt_readability_claim_is_judged_from_saved_measurements(toy, tmp_path):
    import json

    from advisor.claims import READABLE_SHARE, audit
    from bench.results import load, runs_view
    from bench.runner import expand, run_grid

    results = tmp_path / "results"
    run_grid(expand(["tiny-llama"], [toy], ["prompt_tuning"], [16], [0, 1, 2]), results, TINY_PROTOCOL,
             device="cpu", progress=False, threads=1)
    claim = next(r for r in audit(runs_view(load(results, include_failed=False)))
                 if r.claim == "Soft prompts are not human-readable")
    shares = [json.loads(p.read_text())["metrics"]["prompt_readability"]["share_off_vocabulary"]
              for p in results.rglob("n*-s*.json")]
    assert claim.cells == 3 and claim.holds == sum(s >= READABLE_SHARE for s in shares)
    assert claim.verdict in ("supported", "contradicted", "mixed") and "prompt-tuning runs" in claim.numbers
