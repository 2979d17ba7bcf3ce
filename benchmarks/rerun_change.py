"""What a rerun changed: the same cells (backbone, task, method, n, seed) before and after a change of the recipe or
the protocol, each task's own metric.

  --change recipe    prompt tuning's recipe v1 (text init, lr race {3e-2, 1e-1}) -> v2 (class-label init, lr race
                     {3e-2, 1e-1, 3e-1}), both under protocol v1: the store at 45b62de against the store at f4044ae
                     (the last commit before protocol v2), read from git.
  --change protocol  protocol v1 (patience before the budget, checkpoints on accuracy) -> v2 (no stop before the
                     budget; the metric, then the validation loss), every trained method: the store at f4044ae (git)
                     against the current store's protocol-v2 runs.

Per backbone and method: how many cells moved up or down by more than the seed noise (the store's mean two-seed
difference, as `advisor evaluate` prints it — the difference two runs of one configuration show by chance), the
mean and median change, and the cells that moved beyond it.

Run: .venv/bin/python benchmarks/rerun_change.py [--change recipe|protocol] [--results-dir data/results]
"""

from __future__ import annotations

import argparse
import json
import subprocess
from collections import Counter
from functools import lru_cache
from pathlib import Path

from prompt_tuning_recipe import store_noise  # one computation of the seed noise for both recipe benchmarks

TRAINED = ("prompt_tuning", "prefix_tuning", "lora", "full_finetuning")
CHANGES = {
    # name: (before commit, after commit or None = the working store, methods, after-record filter, title)
    "recipe": ("45b62de", "f4044ae", ("prompt_tuning",), lambda r: (r.get("config") or {}).get("method_version") == 2,
               "prompt tuning, recipe v1 (text init, lr {3e-2, 1e-1}) -> v2 (class labels, lr {3e-2, 1e-1, 3e-1}), "
               "both under protocol v1"),
    "protocol": ("f4044ae", None, TRAINED, lambda r: _protocol(r) == 2,
                 "protocol v1 (early stop on accuracy) -> v2 (no stop before the budget; metric, then loss)"),
}


def _protocol(rec: dict) -> int:
    from bench.results import protocol_version

    return protocol_version(rec)


@lru_cache(maxsize=None)
def task_metric(task: str) -> str:
    from bench.tasks import load_task

    return load_task(task).metric


def score(rec: dict) -> float:
    """The task's own metric, read from its task file (once per task): version-1 records predate
    `config.task_metric`, and comparing one record's accuracy with another's macro-F1 would compare two numbers."""
    return rec["macro_f1"] if task_metric(rec["task"]) == "macro_f1" else rec["accuracy"]


def records_at(commit: str, paths: list[str]) -> dict[str, dict]:
    """The records at `commit` for `paths` (one `git cat-file --batch` for all of them)."""
    proc = subprocess.run(["git", "cat-file", "--batch"], input="".join(f"{commit}:{p}\n" for p in paths),
                          capture_output=True, text=True, check=True)
    out, rest = {}, proc.stdout
    for p in paths:
        header, _, rest = rest.partition("\n")
        if header.endswith("missing"):
            continue
        size = int(header.split()[2])
        body, rest = rest[:size], rest[size + 1:]  # the object, then its trailing newline
        try:
            out[p] = json.loads(body)
        except ValueError:
            continue
    return out


def files_at(commit: str, results_dir: str) -> list[str]:
    proc = subprocess.run(["git", "ls-tree", "-r", "--name-only", commit, results_dir], capture_output=True,
                          text=True, check=True)
    return [p for p in proc.stdout.splitlines() if p.endswith(".json")]


def main() -> None:
    try:
        _main()
    except subprocess.CalledProcessError as err:  # a checkout without the history these commits are read from
        raise SystemExit(f"git could not read the store's history ({' '.join(err.cmd[:3])}: "
                         f"{(err.stderr or '').strip()[:200]}); run this in a full clone")


def _main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--change", choices=sorted(CHANGES), default="recipe")
    ap.add_argument("--results-dir", default="data/results")
    a = ap.parse_args()
    before, after, methods, keep, title = CHANGES[a.change]
    if after is None:
        paths = sorted(p.as_posix() for p in Path(a.results_dir).glob("*/*/*/n*-s*.json"))
        new_recs = {p: json.loads(Path(p).read_text(encoding="utf-8")) for p in paths
                    if Path(p).parts[-2] in methods}
    else:
        new_recs = records_at(after, [p for p in files_at(after, a.results_dir) if Path(p).parts[-2] in methods])
    new_recs = {p: r for p, r in new_recs.items() if r.get("status") == "ok" and keep(r)}
    old_recs = records_at(before, sorted(new_recs))
    noise = store_noise(Path(a.results_dir))
    threshold = (noise or 3.0) / 100
    rows: dict[tuple[str, str], list[tuple]] = {}
    for p, new in new_recs.items():
        old = old_recs.get(p)
        if not old or old.get("status") != "ok":
            continue
        rows.setdefault((new["backbone"], new["method"]), []).append(
            (new["task"], new["train_size"], new["seed"], score(old), score(new), new.get("lr")))
    if not rows:
        print(f"no cell has a run both before ({before}) and after the change")
        return
    print(f"{title}; each task's own metric; beyond the noise = more than {100 * threshold:.2f} points (the store's "
          "mean two-seed difference)\n")
    for (backbone, method), cells in sorted(rows.items()):
        d = sorted(new - old for *_, old, new, _ in cells)
        up, down = sum(x > threshold for x in d), sum(x < -threshold for x in d)
        lrs = Counter(f"{c[-1]:g}" for c in cells if c[-1] is not None)
        print(f"{backbone} {method}: {len(cells)} cells; mean change {100 * sum(d) / len(d):+.1f} points (median "
              f"{100 * d[len(d) // 2]:+.1f}); up beyond the noise in {up}, down in {down}, within it in "
              f"{len(d) - up - down}; lr picked " + ", ".join(f"{k}: {v}" for k, v in sorted(lrs.items())))
        for task, n, seed, old, new, lr in sorted(cells, key=lambda c: c[4] - c[3]):
            if abs(new - old) > threshold:
                print(f"    {task:<22} n={n:<5} s{seed}  {old:.3f} -> {new:.3f}  ({100 * (new - old):+.1f}"
                      + (f"; lr {lr:g})" if lr is not None else ")"))


if __name__ == "__main__":
    main()
