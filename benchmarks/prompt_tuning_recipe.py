"""Does the protocol give prompt tuning its best-known recipe? (issue: causal-LM evidence, item 2)

Lester et al. 2021 trained soft prompts with lr 0.3 and found class-label initialisation best; our protocol races
lr 3e-2 vs 1e-1 on 25% of the budget with the instruction text as init. Here, per backbone, on trec and sst2 at 64
and 256 examples (seed 0): every lr in {3e-2, 1e-1, 3e-1} x init in {text, class_labels, sample_vocab} at the full
budget (one lr: no race), plus the protocol's own race. Prints the table, the best configuration per cell, and
whether the race picked the lr that is best at the end among its own candidates (and how far the protocol's
result is from the best configuration).

Each trial's record (the runner's, with `config.overrides`) goes to OUT/<backbone>__<task>__n<size>__<config>.json;
existing files are skipped (resumable). Runs on CPU or GPU (`--device auto`), `--workers N` processes.

Run: .venv/bin/python benchmarks/prompt_tuning_recipe.py [--out .cache/pt-recipe] [--device auto] [--workers 2]
     [--models minilm,smollm2-135m] [--summary-only]
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

LRS = (3e-2, 1e-1, 3e-1)
INITS = ("text", "class_labels", "sample_vocab")
TASKS = ("trec", "sst2")
SIZES = (64, 256)


def configs() -> list[tuple[str, dict | None]]:
    out: list[tuple[str, dict | None]] = [("protocol-race", None)]
    out += [(f"lr{lr:g}-{init}", {"lrs": [lr], "init": init}) for lr, init in itertools.product(LRS, INITS)]
    return out


def _run(args: tuple) -> tuple[str, dict]:
    backbone, task_name, size, name, overrides, device, data_dir, out, threads = args
    import torch

    torch.set_num_threads(threads)
    from bench.protocol import Protocol
    from bench.tasks import load_task
    from bench.trial import run_trial

    record = run_trial(backbone, load_task(task_name), "prompt_tuning", size, 0, Protocol(), data_dir, device,
                       overrides=overrides)
    path = Path(out) / f"{backbone}__{task_name}__n{size}__{name}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)
    return path.name, record


def summarise(out: Path) -> None:
    rows: dict[tuple, dict[str, dict]] = {}
    for p in sorted(out.glob("*.json")):
        backbone, task, size, name = p.stem.split("__")
        rec = json.loads(p.read_text(encoding="utf-8"))
        if rec.get("status") == "ok":
            rows.setdefault((backbone, task, size), {})[name] = rec
    if not rows:
        print(f"no results in {out}")
        return
    names = [n for n, _ in configs()]
    print("test accuracy of prompt tuning (full budget; 'protocol-race' = the grid's own lr race, text init)\n")
    print(f"{'backbone':<14}{'task':<6}{'n':>6}  " + "  ".join(f"{n:>16}" for n in names))
    race_right = race_total = 0
    gaps = []
    for (backbone, task, size), got in sorted(rows.items()):
        print(f"{backbone:<14}{task:<6}{size[1:]:>6}  " + "  ".join(
            f"{got[n]['accuracy']:>16.3f}" if n in got else f"{'-':>16}" for n in names))
        fixed = {n: r for n, r in got.items() if n != "protocol-race"}
        if fixed:
            best = max(fixed, key=lambda n: fixed[n]["accuracy"])
            race = got.get("protocol-race")
            line = f"    best: {best} ({fixed[best]['accuracy']:.3f})"
            if race:
                picked = race.get("lr")
                cands = {lr: fixed.get(f"lr{lr:g}-text") for lr in (3e-2, 1e-1)}
                if all(cands.values()):
                    end_best = max(cands, key=lambda lr: cands[lr]["accuracy"])
                    race_total += 1
                    race_right += int(abs(picked - end_best) < 1e-12)
                    line += (f"; race picked lr {picked:g}, best at the end of its candidates {end_best:g}"
                             f" ({'same' if abs(picked - end_best) < 1e-12 else 'different'})")
                gaps.append(fixed[best]["accuracy"] - race["accuracy"])
                line += f"; protocol {race['accuracy']:.3f} = {100 * (fixed[best]['accuracy'] - race['accuracy']):.1f} points below the best"
            print(line)
    if race_total:
        print(f"\nthe race picked the lr that is best at the end in {race_right}/{race_total} cells")
    if gaps:
        print(f"the protocol's prompt tuning is on average {100 * sum(gaps) / len(gaps):.1f} points below the best "
              f"configuration per cell (max {100 * max(gaps):.1f}) over {len(gaps)} cells")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=".cache/pt-recipe")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--models", default="minilm,smollm2-135m")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--summary-only", action="store_true")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if not a.summary_only:
        from bench.tasks import resolve_data_dir

        data_dir = str(resolve_data_dir(a.data_dir))
        jobs = [(b, t, int(n), name, ov, a.device, data_dir, str(out), a.threads)
                for b in a.models.split(",") for t in a.tasks.split(",") for n in a.sizes.split(",")
                for name, ov in configs() if not (out / f"{b}__{t}__n{n}__{name}.json").exists()]
        print(f"{len(jobs)} prompt-tuning trials to run into {out}", flush=True)
        with ProcessPoolExecutor(max_workers=a.workers, mp_context=mp.get_context("spawn")) as pool:
            for fut in as_completed([pool.submit(_run, j) for j in jobs]):
                name, rec = fut.result()
                print(f"{name}: {rec['status']} acc={rec.get('accuracy')}", flush=True)
    summarise(out)


if __name__ == "__main__":
    main()
