"""A trivially learnable toy task (files written to a temp dir) and a tiny protocol for fast tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from bench.protocol import Protocol

NEUTRAL = "the a movie plot film story actor scene music time people way day thing part".split()

TINY_PROTOCOL = Protocol(batch_size=8, min_steps=30, max_steps=30, extend_factor=1.0, test_cap=48, val_min=16,
                         val_max=16, patience=100, race_fraction=0.2, forgetting_probe_train=24,
                         forgetting_probe_test=24)


def write_toy_task(folder: Path, n_pool: int = 160, n_test: int = 48, seed: int = 0, name: str = "toy") -> Path:
    """Label = which marker word the text contains (excellent -> positive, terrible -> negative)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)

    def rows(n: int) -> list[str]:
        out = []
        for i in range(n):
            label = ("negative", "positive")[i % 2]
            words = list(rng.choice(NEUTRAL, 5))
            words.insert(int(rng.integers(0, 6)), "excellent" if label == "positive" else "terrible")
            out.append(f"{' '.join(words)},{label}")
        return out

    (folder / "train.csv").write_text("text,label\n" + "\n".join(rows(n_pool)) + "\n")
    (folder / "test.csv").write_text("text,label\n" + "\n".join(rows(n_test)) + "\n")
    spec = {"name": name, "version": 1, "description": "marker-word toy task", "dataset": name,
            "files": {"train": str(folder / "train.csv"), "test": str(folder / "test.csv")},
            "text_fields": ["text"], "label_field": "label", "metric": "accuracy",
            "instruction": "Is the review positive or negative?", "template": "Review: {text}\nSentiment:",
            "labels": [{"value": "negative", "word": "negative", "description": "a terrible negative review"},
                       {"value": "positive", "word": "positive", "description": "an excellent positive review"}]}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def measured_results(folder: Path, methods=("linear_probe", "lora"), sizes=(16, 32), seeds=(0,),
                     task_name: str = "toy", seed: int = 0) -> Path:
    """A small results folder of real runs (tiny random BERT on the toy task), written by the runner."""
    from bench.runner import expand, run_grid
    from bench.tasks import load_task

    toy = load_task(write_toy_task(folder / task_name, seed=seed, name=task_name))
    results = folder / "results"
    summary = run_grid(expand(["tiny-bert"], [toy], list(methods), list(sizes), list(seeds)), results,
                       TINY_PROTOCOL, device="cpu", progress=False, threads=1)
    assert summary["failed"] == 0, summary["failures"]
    return results
