"""Generation tasks (kind=generation): exact-match scoring, the causal-LM generation path on the tiny random
Llama, and the encoder / linear probe refusing with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench.methods.generation import exact_match, exact_match_rate
from bench.results import validate
from bench.tasks import TaskError, load_task, parse_task
from bench.trial import run_trial
from tests.bench_helpers import TINY_PROTOCOL

WORDS = [("bread", "pain", "pain"), ("butter", "beurre", "beurre"), ("cheese", "fromage", "fromage"),
         ("water", "eau", "eau"), ("house", "maison", "maison|demeure"), ("cat", "chat", "chat|matou")]


def write_gen_task(folder: Path, n_pool: int = 80, n_test: int = 16) -> Path:
    """A word-copying toy translation (word -> a fixed French word) small enough for the tiny model."""
    folder.mkdir(parents=True, exist_ok=True)

    def rows(n: int) -> str:
        return "\n".join(f"{WORDS[i % len(WORDS)][0]},{WORDS[i % len(WORDS)][1]},{WORDS[i % len(WORDS)][2]}"
                         for i in range(n))

    (folder / "train.csv").write_text("english,french,accepted\n" + rows(n_pool) + "\n", encoding="utf-8")
    (folder / "test.csv").write_text("english,french,accepted\n" + rows(n_test) + "\n", encoding="utf-8")
    spec = {"name": "toy_gen", "kind": "generation", "files": {"train": str(folder / "train.csv"),
                                                                "test": str(folder / "test.csv")},
            "text_fields": ["english"], "target_field": "french", "accepted_field": "accepted",
            "metric": "exact_match", "instruction": "Translate into French.", "template": "English: {english}\nFrench:",
            "seed_demonstrations": [["bread", "pain"], ["butter", "beurre"]]}
    path = folder / "toy_gen.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def gen_task(tmp_path_factory):
    return load_task(write_gen_task(tmp_path_factory.mktemp("gen")))


@pytest.mark.parametrize("pred,accepted,ok", [
    ("Pain", ["pain"], True), ("  pain. ", ["pain"], True), ("pain.", ["Pain."], True),
    ("demeure", ["maison", "demeure"], True), ("maisons", ["maison"], False),
    ("ete", ["été"], False),  # accents count
    ("e\u0301te\u0301", ["\u00e9t\u00e9"], True),  # decomposed vs composed é: the same letter after NFC
    ("ÉTÉ", ["été"], True), ("", ["pain"], False), ("pain..", ["pain"], False),
])
def test_exact_match_edge_cases(pred, accepted, ok):
    assert exact_match(pred, accepted) is ok


def test_exact_match_rate():
    assert exact_match_rate(["pain", "x"], [["pain"], ["beurre"]]) == 0.5
    assert exact_match_rate([], []) == 0.0


def test_generation_task_fields_are_checked():
    base = {"name": "g", "kind": "generation", "text_fields": ["english"], "target_field": "french",
            "instruction": "i", "template": "{english}"}
    assert parse_task(base, "g.yaml").generation
    with pytest.raises(TaskError, match="kind='translate'.*classification, generation"):
        parse_task({**base, "kind": "translate"}, "g.yaml")
    with pytest.raises(TaskError, match="metric='accuracy'.*exact_match"):
        parse_task({**base, "metric": "accuracy"}, "g.yaml")
    with pytest.raises(TaskError, match="target_field"):
        parse_task({k: v for k, v in base.items() if k != "target_field"}, "g.yaml")
    for bad in ("bread", [["bread"]], [["bread", 3]], [["", "pain"]]):
        with pytest.raises(TaskError, match="seed_demonstrations=.*source, target"):
            parse_task({**base, "seed_demonstrations": bad}, "g.yaml")


def test_en_fr_words_task_file():
    task = load_task("en_fr_words")
    assert task.generation and task.metric == "exact_match" and "GPL-2.0" in task.license
    assert task.seed_demonstrations == (("bread", "pain"), ("butter", "beurre"))  # the seed example, verbatim


@pytest.mark.parametrize("method", ["prompt_engineering", "prompt_tuning", "prefix_tuning", "lora", "full_finetuning"])
def test_generation_path_trains_decodes_and_scores(method, gen_task):
    r = run_trial("tiny-llama", gen_task, method, 24, 0, TINY_PROTOCOL, device="cpu")
    assert r["status"] == "ok", (r["error"], r.get("traceback_tail"))
    assert validate(r) == []
    assert 0.0 <= r["accuracy"] <= 1.0 and r["infer_ms_per_example"] > 0
    if method != "prompt_engineering":
        curve = r["metrics"]["loss_curve"]
        assert curve[-1][1] < curve[0][1], f"target-token loss did not go down: {curve}"
        assert r["lr"] in r["config"]["lr_candidates"] and r["steps"] > 0
    else:
        assert set(r["metrics"]["variants"]) == {"zero_shot", "few_shot", "arrow", "seed_example"}
        assert r["metrics"]["few_shot_accuracy"] == max(v["exact_match"] for k, v in r["metrics"]["variants"].items()
                                                        if k != "zero_shot")


def test_generation_prompting_uses_the_weights_on_the_runs_device(gen_task, monkeypatch):
    """On a GPU run `pristine` stays on the CPU; prompting must decode with the run-device copy (an H100 run failed
    with "index is on cuda:0, different from other tensors on cpu"). CI has no GPU: the copy's origin is checked."""
    from bench.models import Backbone

    asked = []
    original = Backbone.pristine_on

    def spy(self, device):
        asked.append(str(device))
        return original(self, device)

    monkeypatch.setattr(Backbone, "pristine_on", spy)
    r = run_trial("tiny-llama", gen_task, "prompt_engineering", 24, 0, TINY_PROTOCOL, device="cpu")
    assert r["status"] == "ok", r.get("traceback_tail")
    assert asked and set(asked) == {"cpu"}


@pytest.mark.parametrize("backbone,method", [("tiny-bert", "lora"), ("tiny-bert", "prompt_engineering"),
                                              ("tiny-llama", "linear_probe")])
def test_unsupported_generation_is_a_clear_record_not_a_traceback(backbone, method, gen_task):
    r = run_trial(backbone, gen_task, method, 24, 0, TINY_PROTOCOL, device="cpu")
    assert r["status"] == "failed" and r["unsupported"] is True
    assert r["error"].startswith("unsupported: ") and "kind=generation" in r["error"]
    assert "traceback_tail" not in r and validate(r) == []


def test_teacher_forcing_masks_the_prompt():
    """Only the target's tokens and the end token carry loss; left padding keeps them at the end."""
    import numpy as np

    from bench.methods.generation import GenHead, encode_targets, end_token_id
    from bench.models import load_backbone
    from bench.train import collate

    bb = load_backbone("tiny-llama")
    tok = bb.tokenizer
    data = encode_targets(tok, ["English: bread\nFrench:", "English: a much longer prompt here\nFrench:"],
                          ["pain", "fromage"], 64)
    batch = collate(data, np.array([0, 1]), int(tok.pad_token_id), True)
    _, target, _ = GenHead()(bb.fresh(), batch)
    target = target.view(2, -1)
    for row, word in enumerate(["pain", "fromage"]):
        kept = target[row][target[row] != -100].tolist()
        assert kept == tok(" " + word, add_special_tokens=False)["input_ids"] + [end_token_id(tok)]


def test_cached_decoding_writes_what_a_full_recompute_writes():
    """The key/value cache (plain and LoRA models) is a speed-up only: same tokens as recomputing the whole
    sequence at every step, left padding included; prompt-learning models keep the full recompute."""
    import types

    import numpy as np
    import torch

    from bench.methods.generation import greedy_decode
    from bench.models import load_backbone
    from bench.train import encode

    bb = load_backbone("tiny-llama")
    tok, model = bb.tokenizer, bb.fresh()
    texts = ["bread -> pain, butter -> beurre, cheese ->", "cat ->", "a much longer prompt about a house ->"]
    data = encode(tok, texts, np.arange(3), 64, True)
    args = (tok, data, np.arange(3), int(tok.pad_token_id), torch.device("cpu"), ("\n",))
    cached, _ = greedy_decode(model, *args)
    model.active_peft_config = types.SimpleNamespace(is_prompt_learning=True)  # forces the recompute path
    recomputed, _ = greedy_decode(model, *args)
    assert cached == recomputed and any(cached)
