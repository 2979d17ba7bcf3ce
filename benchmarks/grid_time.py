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
    "minilm": ((16, 64, 256, 1024), 3, 14),  # data/refresh.yaml: three seeds at n <= 256 (two at 1024)
    "smollm2-135m": ((16, 64, 256), 2, 12),  # 11 classification tasks + en_fr_words; mostly on a lent H100
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
    from bench.tasks import load_task

    df = load(results_dir, include_failed=False)
    df = df[df.status == "ok"].copy()
    figures = pd.DataFrame([_record_figures(p) for p in df.path], index=df.index)
    df = df.join(figures)
    df["overhead_s"] = df.wall_time_s - df.train_time_s
    print(f"{len(df)} measured runs in {results_dir}\n")
    # A GPU trial and a CPU trial of the same cell differ ~25x (SmolLM2 LoRA or full fine-tuning at n=256: ~1 min on
    # the H100, ~23 min here), so every figure is per device.
    table = df.groupby(["backbone", "device", "train_size"]).agg(
        trials=("wall_time_s", "size"), wall_s=("wall_time_s", "mean"), train_s=("train_time_s", "mean"),
        overhead_s=("overhead_s", "mean"), steps=("steps_run", "mean"), race_steps=("race_steps", "mean"),
        threads=("threads", "max"))
    trained = df[df.steps_run > 0]
    per_step = (trained.train_time_s / (trained.steps_run + trained.race_steps)).groupby(
        [trained.backbone, trained.device, trained.train_size]).mean()
    table["s_per_step"] = per_step
    with pd.option_context("display.width", 160, "display.precision", 1):
        print(table.to_string())
    print()
    for backbone, (sizes, seeds, tasks) in GRIDS.items():
        runs = df[(df.backbone == backbone) & df.train_size.isin(sizes)]
        if runs.empty:
            print(f"{backbone}: no runs yet")
            continue
        # The linear probe cannot run a generation task (en_fr_words): those trials never exist.
        generation = sum(load_task(t).generation for t in runs.task.unique())
        cells = len(sizes) * seeds * (METHODS * tasks - generation)
        seen = {(r.task, r.method, int(r.train_size), int(r.seed)) for r in runs.itertuples()}
        task_names = sorted(runs.task.unique())
        spent = ", ".join(f"{d} {w / 3600:.1f} h ({k:.0f} trials)" for d, w, k in
                          runs.groupby("device").wall_time_s.agg(["sum", "size"]).itertuples(name=None))
        print(f"{backbone}: {len(runs)}/{cells} trials measured; trial time by device: {spent} "
              f"(tasks so far: {', '.join(task_names)})")
        for device, timed in runs.groupby("device"):
            # A missing cell is projected at this device's mean wall time of the same method at the same size, else
            # the same method at any size, else the device's mean over all methods (a coarse fallback: a method with
            # no run on this device is priced like the average trial there).
            by_size = timed.groupby(["method", "train_size"]).wall_time_s.mean()
            by_method = timed.groupby("method").wall_time_s.mean()
            missing = 0.0
            for n in sizes:
                for method in runs.method.unique():
                    per_cell = by_size.get((method, n), by_method.get(method, timed.wall_time_s.mean()))
                    have = sum(1 for t, m, nn, _ in seen if m == method and nn == n)
                    possible = (tasks - generation if method == "linear_probe" else tasks) * seeds
                    missing += max(0, possible - have) * per_cell
            share_train = float(timed.train_time_s.sum() / timed.wall_time_s.sum())
            print(f"  on {device} ({len(timed)} trials to time it): the {cells - len(seen)} missing trials project to "
                  f"{missing / 3600:.1f} h of single-worker trial time ({missing / 7200:.1f} h with two one-thread "
                  f"workers); {share_train:.0%} of its trial time is training, the rest evaluation, forgetting probe "
                  f"and loading")

if __name__ == "__main__":
    main(*sys.argv[1:])
