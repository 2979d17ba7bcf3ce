"""Prompt tuning before and after the recipe change (issue: causal-LM evidence, item 2).

Every prompt-tuning cell the store held under recipe version 1 (text init, lr race {3e-2, 1e-1}) was rerun under
version 2 (class-label init, lr race {3e-2, 1e-1, 3e-1}). This reads the version-1 records from git at `--before`
(the last commit before the change) and the current ones from the store, and prints, per backbone, how many cells
moved up or down by more than the 3-point seed noise, the mean change (each task's own metric), and which lr the
version-2 race picked.

Run: .venv/bin/python benchmarks/prompt_tuning_rerun.py [--before 45b62de] [--results-dir data/results]
"""

from __future__ import annotations

import argparse
import json
import subprocess
from collections import Counter
from functools import lru_cache
from pathlib import Path

NOISE = 0.03  # two seeds of a cell differ by ~3 points on average (README, "Measured so far")


@lru_cache(maxsize=None)
def task_metric(task: str) -> str:
    from bench.tasks import load_task

    return load_task(task).metric


def score(rec: dict) -> float:
    """The task's own metric, read from its task file (once per task): version-1 records predate
    `config.task_metric`, and comparing one record's accuracy with another's macro-F1 would compare two numbers."""
    return rec["macro_f1"] if task_metric(rec["task"]) == "macro_f1" else rec["accuracy"]


def old_record(commit: str, path: Path) -> dict | None:
    out = subprocess.run(["git", "show", f"{commit}:{path.as_posix()}"], capture_output=True, text=True)
    return json.loads(out.stdout) if out.returncode == 0 else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", default="45b62de", help="the last commit with version-1 prompt-tuning runs")
    ap.add_argument("--results-dir", default="data/results")
    a = ap.parse_args()
    rows: dict[str, list[tuple]] = {}
    for path in sorted(Path(a.results_dir).glob("*/*/prompt_tuning/n*-s*.json")):
        new = json.loads(path.read_text(encoding="utf-8"))
        if new.get("status") != "ok" or (new.get("config") or {}).get("method_version") != 2:
            continue
        old = old_record(a.before, path)
        if not old or old.get("status") != "ok":
            continue
        rows.setdefault(new["backbone"], []).append(
            (new["task"], new["train_size"], new["seed"], score(old), score(new), old.get("lr"), new.get("lr")))
    if not rows:
        print("no cell has both a version-1 and a version-2 prompt-tuning run")
        return
    print("prompt tuning, recipe v1 (text init, lr {3e-2, 1e-1}) -> v2 (class labels, lr {3e-2, 1e-1, 3e-1}); "
          "each task's own metric\n")
    for backbone, cells in sorted(rows.items()):
        d = [new - old for *_, old, new, _, _ in cells]
        up, down = sum(x > NOISE for x in d), sum(x < -NOISE for x in d)
        lrs = Counter(f"{c[-1]:g}" for c in cells)
        print(f"{backbone}: {len(cells)} cells; mean change {100 * sum(d) / len(d):+.1f} points "
              f"(median {100 * sorted(d)[len(d) // 2]:+.1f}); up > 3 points in {up}, down > 3 points in {down}, "
              f"within the noise in {len(d) - up - down}; v2 race picked lr " + ", ".join(f"{k}: {v}" for k, v in sorted(lrs.items())))
        for task, n, seed, old, new, _, lr in sorted(cells, key=lambda c: c[4] - c[3]):
            if abs(new - old) > NOISE:
                print(f"    {task:<22} n={n:<5} s{seed}  {old:.3f} -> {new:.3f}  ({100 * (new - old):+.1f}; v2 lr {lr:g})")


if __name__ == "__main__":
    main()
