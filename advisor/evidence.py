"""Measured evidence for a profile: the benchmark cells most like the user's task.

Reads the result store through the torch-free `bench.results`. Similarity is plain and
stated: same pair/single input kind first, then the closest number of classes (log
scale), then the declared task complexity; the train size is the measured size nearest
to `labeled_examples` on a log scale.
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path
from typing import Any

from advisor.options import OPTIONS
from advisor.profile import ProjectProfile

# Complexity the bench task files declare (bench/tasks/<name>.yaml: complexity).
LEVEL = {"simple": 0, "moderate": 1, "complex": 2}


def results_dir() -> Path:
    """$TUNING_ADVISOR_RESULTS, else the repository's data/results."""
    from bench.results import DEFAULT_RESULTS_DIR

    return Path(os.environ.get("TUNING_ADVISOR_RESULTS", DEFAULT_RESULTS_DIR))


def load_results(path: str | Path | None = None):
    """Successful runs as a DataFrame (empty when there are none)."""
    from bench.results import load

    df = load(path or results_dir(), include_failed=False)
    return df


@functools.lru_cache(maxsize=1)
def task_complexities() -> dict[str, str]:
    """Task name -> the complexity its bench task file declares (read once)."""
    import yaml

    from bench.tasks import TASK_DIR

    out = {}
    for p in TASK_DIR.glob("*.yaml"):
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
        out[raw["name"]] = raw.get("complexity", "moderate")
    return out


def similar_tasks(profile: ProjectProfile, df: Any, limit: int = 2) -> list[str]:
    """Measured tasks ranked by likeness to the profile (see the module docstring)."""
    if df.empty:
        return []
    complexity = task_complexities()
    shape = df.groupby("task").agg(num_classes=("num_classes", "first"), is_pair=("is_pair", "first")).reset_index()

    def distance(row: Any) -> tuple:
        return (bool(row.is_pair) != profile.pair_input,
                abs(math.log(max(2, row.num_classes)) - math.log(profile.num_classes)) + 0.5 * abs(
                    LEVEL.get(complexity.get(row.task, "moderate"), 1) - LEVEL[profile.task_complexity]),
                row.task)

    ranked = sorted(shape.itertuples(index=False), key=distance)
    return [r.task for r in ranked[:limit]]


def nearest_evidence(profile: ProjectProfile, df: Any, limit: int = 2) -> list[dict[str, Any]]:
    """For the most similar measured tasks: per-method accuracy (mean over seeds) at the nearest size."""
    out = []
    if df.empty or profile.labeled_examples == 0:
        return out
    for task in similar_tasks(profile, df, limit):
        sub = df[df.task == task]
        sizes = sorted(sub.train_size.unique())
        size = min(sizes, key=lambda s: abs(math.log(s) - math.log(profile.labeled_examples)))
        cell = sub[sub.train_size == size]
        per_method = {}
        for method, group in cell.groupby("method"):
            per_method[method] = {"accuracy": float(group.accuracy.mean()), "seeds": int(len(group)),
                                  "train_time_s": float(group.train_time_s.mean()),
                                  "runs": sorted(group.path.tolist())}
        ordered = sorted(per_method.items(), key=lambda kv: -kv[1]["accuracy"])
        text = ", ".join(f"{m} {v['accuracy']:.2f}" for m, v in ordered if m in OPTIONS or m == "linear_probe")
        out.append({"task": task, "train_size": int(size), "backbone": str(cell.backbone.iloc[0]),
                    "methods": per_method, "sentence": f"on {task} with {size} examples: {text}"})
    return out


def learning_curves(df: Any, tasks: list[str]) -> Any:
    """Mean test accuracy per (task, method, train size) for charts."""
    if df.empty:
        return df
    sub = df[df.task.isin(tasks)]
    return (sub.groupby(["backbone", "task", "method", "train_size"], as_index=False)
            .agg(accuracy=("accuracy", "mean"), train_time_s=("train_time_s", "mean"),
                 stored_bytes=("stored_bytes", "mean"), seeds=("seed", "nunique")))
