"""What the committed grid cost, read from the result files themselves (no new runs).

For each backbone and training size: trials, mean wall time per trial (training + evaluation +
forgetting probe + model loading), mean optimizer steps actually taken (race + main run + any
extension), and seconds per step; then the projected wall time of the configured grids on this
machine and which part of a trial dominates. Every figure is a sum or mean over measured runs.

Run: .venv/bin/python benchmarks/grid_time.py [RESULTS_DIR]
"""

from __future__ import annotations

import sys

import pandas as pd

GRIDS = {  # backbone -> (sizes, seeds, tasks) of the configured grid (Makefile: grid, grid-llm)
    "minilm": ((16, 64, 256, 1024), 2, 14),
    "smollm2-135m": ((16, 64, 256), 1, 11),  # measured on a lent H100 (device cuda+bf16 in each record)
}
METHODS = 6


def _record_figures(path: str) -> dict[str, float]:
    """Wall time, threads, steps of the winner (incl. extension) and steps of the losing race candidates."""
    from bench.results import read_result

    rec = read_result(path) or {}
    race = rec.get("metrics", {}).get("lr_race") or {}
    budget = rec.get("metrics", {}).get("budget_steps") or 0
    fraction = rec.get("config", {}).get("protocol", {}).get("race_fraction", 0.25)
    race_steps = int(budget * fraction) * (len(race) - 1) if len(race) > 1 else 0
    return {"wall_time_s": float(rec.get("wall_time_s") or 0.0), "threads": rec.get("env", {}).get("threads"),
            "steps_run": int(rec.get("steps") or 0), "race_steps": race_steps}


def main(results_dir: str = "data/results") -> None:
    from bench.results import load

    df = load(results_dir, include_failed=False)
    df = df[df.status == "ok"].copy()
    figures = pd.DataFrame([_record_figures(p) for p in df.path], index=df.index)
    df = df.join(figures)
    df["overhead_s"] = df.wall_time_s - df.train_time_s
    print(f"{len(df)} measured runs in {results_dir}\n")
    table = df.groupby(["backbone", "train_size"]).agg(
        trials=("wall_time_s", "size"), wall_s=("wall_time_s", "mean"), train_s=("train_time_s", "mean"),
        overhead_s=("overhead_s", "mean"), steps=("steps_run", "mean"), race_steps=("race_steps", "mean"),
        threads=("threads", "max"))
    trained = df[df.steps_run > 0]
    per_step = (trained.train_time_s / (trained.steps_run + trained.race_steps)).groupby(
        [trained.backbone, trained.train_size]).mean()
    table["s_per_step"] = per_step
    with pd.option_context("display.width", 160, "display.precision", 1):
        print(table.to_string())
    print()
    for backbone, (sizes, seeds, tasks) in GRIDS.items():
        runs = df[(df.backbone == backbone) & df.train_size.isin(sizes)]
        if runs.empty:
            print(f"{backbone}: no runs yet")
            continue
        cells = len(sizes) * METHODS * tasks * seeds
        spent = runs.wall_time_s.sum()
        # A missing cell is projected at the mean wall time of the same method at the same size (else the
        # same method at any size, else the backbone's mean): measured, never assumed.
        by_size = runs.groupby(["method", "train_size"]).wall_time_s.mean()
        by_method = runs.groupby("method").wall_time_s.mean()
        seen = {(r.task, r.method, int(r.train_size), int(r.seed)) for r in runs.itertuples()}
        task_names = sorted(runs.task.unique())
        missing = 0.0
        for n in sizes:
            for method in by_method.index.union(pd.Index(["prompt_engineering"])):
                per_cell = by_size.get((method, n), by_method.get(method, runs.wall_time_s.mean()))
                have = sum(1 for t, m, nn, _ in seen if m == method and nn == n)
                missing += max(0, tasks * seeds - have) * per_cell
        share_train = float(runs.train_time_s.sum() / spent)
        print(f"{backbone}: {len(runs)}/{cells} trials measured in {spent / 3600:.1f} h of trial time; the rest "
              f"projects to {missing / 3600:.1f} h -> whole grid {(spent + missing) / 3600:.1f} h of single-worker "
              f"trial time ({(spent + missing) / 7200:.1f} h with two one-thread workers on 2 cores); "
              f"{share_train:.0%} of trial time is training, the rest evaluation, forgetting probe and loading "
              f"(tasks so far: {', '.join(task_names)})")


if __name__ == "__main__":
    main(*sys.argv[1:])
