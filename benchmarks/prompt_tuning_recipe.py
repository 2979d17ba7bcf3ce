"""Prompt-tuning recipe study: learning rate x soft-prompt init at the full budget, vs the protocol's race.

Per backbone x task x train size (seed 0): every lr in --lrs x every init in --inits trains with that one
rate (no race; the protocol's budget and early stopping as usual), plus one run of the protocol as it is
(init=text, the lr race over the method's default candidates). One result JSON per configuration under
RESULTS_DIR/<backbone>/<task>/n<size>/<config>.json (written atomically; existing files are reused, so an
interrupted study resumes). Prints a table and, per cell, whether the race picked the configuration that
is best on test at the end (and the best one among init=text, the only init the race uses).

GPU:  python benchmarks/prompt_tuning_recipe.py --device auto --workers 4
CPU (tiny check): python benchmarks/prompt_tuning_recipe.py .cache/pt-tiny --backbones tiny-bert \
      --tasks path/to/task.yaml --sizes 16 --lrs 0.1 --inits text,class_labels --max-steps 10 --test-cap 32
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.filterwarnings("ignore")

RACE = "race"


def config_name(lr: float | None, init: str | None) -> str:
    return RACE if lr is None else f"lr{lr:g}-{init}"


def run_one(job: dict) -> dict:
    """One configuration in a worker process: overrides go through $BENCH_OVERRIDES like `bench run --override`."""
    import torch

    from bench.protocol import Protocol
    from bench.results import read_result, write_result
    from bench.tasks import load_task
    from bench.trial import OVERRIDES_ENV, run_trial, write_artifacts

    path = Path(job["path"])
    done = read_result(path) if path.exists() else None
    if done is not None:
        return done
    if job["threads"]:
        torch.set_num_threads(job["threads"])
    parts = []
    if job["lr"] is not None:
        parts = [f"prompt_tuning.lrs={job['lr']!r}", f"prompt_tuning.init={job['init']}"]
    os.environ[OVERRIDES_ENV] = ";".join(parts)
    protocol = dataclasses.replace(Protocol(), **job["protocol"])
    record = run_trial(job["backbone"], load_task(job["task"]), "prompt_tuning", job["size"], job["seed"], protocol,
                       device=job["device"])
    record["recipe_config"] = job["config"]
    write_artifacts(path, record)
    write_result(path, record, force=True)
    return record


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results_dir", nargs="?", default=".cache/pt-recipe")
    ap.add_argument("--backbones", default="minilm,smollm2-135m")
    ap.add_argument("--tasks", default="trec,sst2", help="task names or task YAML paths, comma-separated")
    ap.add_argument("--sizes", default="64,256")
    ap.add_argument("--lrs", default="0.03,0.1,0.3")
    ap.add_argument("--inits", default="text,class_labels,sample_vocab")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--max-steps", type=int, default=None, help="override the protocol's step cap (tiny checks)")
    ap.add_argument("--test-cap", type=int, default=None, help="override the protocol's test cap (tiny checks)")
    args = ap.parse_args(argv)

    from bench.methods.prompt_tuning import INITS

    lrs = [float(x) for x in args.lrs.split(",") if x.strip()]
    inits = [x.strip() for x in args.inits.split(",") if x.strip()]
    bad = [i for i in inits if i not in INITS]
    if bad or not lrs or any(lr <= 0 for lr in lrs) or args.workers < 1:
        ap.error(f"--inits {bad} (allowed: {', '.join(INITS)}); --lrs must be positive; --workers >= 1")
    protocol = {k: v for k, v in (("max_steps", args.max_steps), ("test_cap", args.test_cap)) if v is not None}
    if "max_steps" in protocol:
        protocol["min_steps"] = min(protocol["max_steps"], 100)
    threads = 0 if args.device != "cpu" else max(1, (os.cpu_count() or 1) // args.workers)
    root = Path(args.results_dir)
    jobs = []
    for backbone in args.backbones.split(","):
        for task in args.tasks.split(","):
            for size in (int(s) for s in args.sizes.split(",")):
                cell = root / backbone / Path(task).stem / f"n{size}"
                for lr, init in [(lr, init) for lr in lrs for init in inits] + [(None, None)]:
                    name = config_name(lr, init)
                    jobs.append({"backbone": backbone, "task": task, "size": size, "seed": args.seed, "lr": lr,
                                 "init": init, "config": name, "path": str(cell / f"{name}.json"),
                                 "device": args.device, "protocol": protocol, "threads": threads})
    print(f"{len(jobs)} runs -> {root} (workers={args.workers}, device={args.device})", flush=True)
    records: dict[str, dict] = {}
    if args.workers == 1:
        for job in jobs:
            records[job["path"]] = run_one(job)
            _progress(job, records[job["path"]])
    else:
        import multiprocessing as mp

        # spawn: CUDA cannot be re-initialised in a forked child
        with ProcessPoolExecutor(args.workers, mp_context=mp.get_context("spawn")) as pool:
            futures = {pool.submit(run_one, job): job for job in jobs}
            for fut in as_completed(futures):
                job = futures[fut]
                try:
                    records[job["path"]] = fut.result()
                except Exception as err:  # a lost worker: report it, keep the rest
                    records[job["path"]] = {"status": "failed", "error": f"{type(err).__name__}: {err}"}
                _progress(job, records[job["path"]])
    return report(jobs, records)


def _progress(job: dict, r: dict) -> None:
    state = f"{r['accuracy']:.3f}" if r.get("status") == "ok" else f"failed: {r.get('error')}"
    print(f"  {job['backbone']}/{Path(job['task']).stem}/n{job['size']}/{job['config']}: {state}", flush=True)


def report(jobs: list[dict], records: dict[str, dict]) -> int:
    cells: dict[tuple, dict[str, dict]] = {}
    for job in jobs:
        cells.setdefault((job["backbone"], Path(job["task"]).stem, job["size"]), {})[job["config"]] = records[job["path"]]
    failed = 0
    print("\nbackbone/task/n | config | test acc | val | lr | steps")
    for (backbone, task, size), runs in cells.items():
        ok = {k: r for k, r in runs.items() if r.get("status") == "ok"}
        failed += len(runs) - len(ok)
        for name, r in runs.items():
            if name in ok:
                print(f"{backbone}/{task}/n{size} | {name} | {r['accuracy']:.3f} | {r['val_accuracy']:.3f} | "
                      f"{r['lr']:g} | {r['steps']}")
            else:
                print(f"{backbone}/{task}/n{size} | {name} | failed: {r.get('error')}")
        fixed = {k: r for k, r in ok.items() if k != RACE}
        if RACE not in ok or not fixed:
            continue
        race = ok[RACE]
        best = max(fixed, key=lambda k: fixed[k]["accuracy"])
        text = {k: r for k, r in fixed.items() if k.endswith("-text")}
        best_text = max(text, key=lambda k: text[k]["accuracy"]) if text else None
        picked = config_name(race["lr"], "text")
        # Ties count as a match: the question is whether the race's choice ends up as good as the best.
        top = fixed[best]["accuracy"]
        is_best = picked in fixed and fixed[picked]["accuracy"] >= top
        print(f"  -> {backbone}/{task}/n{size}: race picked lr {race['lr']:g} (test {race['accuracy']:.3f}); "
              f"best at the end: {best} ({top:.3f}); race picked a best configuration: "
              f"{is_best if picked in fixed else 'n/a (its lr is not in --lrs)'}"
              + (f"; best among init=text: {best_text} ({text[best_text]['accuracy']:.3f}), race matched it: "
                 f"{picked in text and text[picked]['accuracy'] >= text[best_text]['accuracy']}" if best_text else ""))
    print(f"\n{failed} failed run(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
