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


def valid_record(**kw):
    """A minimal result record that passes bench.results.validate(); keyword arguments override fields."""
    base = {"schema_version": 1, "status": "ok", "error": None, "backbone": "tiny-bert", "task": "sst2", "method": "lora",
            "train_size": 16, "seed": 0, "accuracy": 0.5, "macro_f1": 0.5, "train_accuracy": 0.9,
            "train_time_s": 1.0, "peak_rss_mb": 100.0, "trainable_params": 10, "total_params": 100,
            "stored_bytes": 40, "infer_ms_per_example": 1.0, "forgetting": 0.0, "lr": 1e-3, "steps": 10,
            "created_at": "2026-01-01T00:00:00+00:00", "task_version": 1, "num_classes": 2, "is_pair": False,
            "backbone_params": 100, "mean_input_tokens": 10.0, "zero_shot_accuracy": None}
    rec = {**base, **kw}
    return {"run_id": f"{rec['backbone']}/{rec['task']}/{rec['method']}/n{rec['train_size']}-s{rec['seed']}", **rec}


REFRESH_METHODS = ["prompt_engineering", "linear_probe", "lora", "full_finetuning"]


def refresh_config(tmp_path: Path, **over) -> Path:
    """A refresh.yaml over three toy task families (the calibration's model selection is leave-one-family-out inside
    the training tasks): tiny-bert x 4 methods x sizes 16/32/48 x seed 0 = 36 cells."""
    tasks = [str(write_toy_task(tmp_path / "t1", name="toy")), str(write_toy_task(tmp_path / "t2", seed=1, name="toy2")),
             str(write_toy_task(tmp_path / "t3", seed=2, name="toy3"))]
    raw = {"backbones": ["tiny-bert"], "tasks": tasks, "methods": REFRESH_METHODS, "sizes": [16, 32, 48], "seeds": [0],
           "staleness": {"max_age_days": 30, "on_version_change": ["task", "torch"]},
           "gates": {"required_fraction": 0.9, "max_failed_fraction": 0.05, "tolerance_points": 1.0}}
    raw.update(over)
    path = tmp_path / "refresh.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def run_refresh(cfg: Path, tmp_path: Path, **kw):
    from bench.refresh import load_config, refresh

    return refresh(load_config(cfg), tmp_path / "results", tmp_path / "cal", device="cpu", threads=1,
                   protocol=TINY_PROTOCOL, progress=False, **kw)


def relocate(template: Path, dest: Path) -> None:
    """Copy a refreshed folder (config, toy tasks, results, calibrations) to `dest`, rewriting the absolute paths its
    text files record: one refresh (~40 s of training and fitting) serves every test that starts from it."""
    import shutil

    shutil.copytree(template, dest, dirs_exist_ok=True)
    old, new = str(template), str(dest)
    for path in dest.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".yaml", ".yml", ".md", ".jsonl", ".txt", ""):
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            if old in text:
                path.write_text(text.replace(old, new), encoding="utf-8")
