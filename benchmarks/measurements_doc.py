"""Regenerate docs/measurements.md: every measured figure, each under the command that prints it.

Nothing here is typed by hand: the store's counts and per-method accuracies come from the result files
(`bench.results.load`), the evaluation and the claims audit are the served calibration's own files (written by
`advisor evaluate` / `advisor claims` at refresh time), and the benchmark sections are the stdout of the scripts in
benchmarks/, run now. Scripts that take minutes (they train, or time the app in a browser) run only with --all; by
default their section names the command instead of a stale number.

    python benchmarks/measurements_doc.py [--all] [--skip-benchmarks] [--out docs/measurements.md]
    make measurements
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "docs" / "measurements.md"

# (script, what it measures, seconds it took here) — fast ones run by default (each under ~30 s on 2 cores).
FAST = [
    ("convergence.py", "Whether trained runs used their step budget: runs cut off early, steps taken, budget (the "
                       "protocol-v2 check of issue 21)."),
    ("grid_time.py", "What the committed grid cost, read from the run records: seconds per trial and per step, and "
                     "the projected time of the configured grids."),
    ("memory_validation.py", "Predicted memory (advisor.costs) against published figures and our measured peaks."),
    ("answers_at_scale.py", "The answers at the sizes users adapt: the four example profiles and the issue-20 "
                            "cases."),
    ("prompt_tuning_rerun.py", "Prompt tuning before and after the recipe change (records from git vs the store)."),
    ("recommend_latency.py", "Serving speed: warm recommend() p50/p95 with and without counterfactuals, cold CLI."),
]
SLOW = [
    ("pilot_time.py", "`advisor pilot` end to end on a 2,000-row CSV (with --quick: one LoRA run); several minutes."),
    ("evidence_first_paint.py", "The Evidence page's first paint in a browser."),
    ("app_first_answer.py", "The app's first answer after start."),
    ("trial_speed.py", "Seconds per training step of each method on this CPU."),
    ("prompt_tuning_recipe.py", "Prompt-tuning recipe v1 vs v2 on fixed cells (trains; long)."),
    ("dask_speedup.py", "The grid on a local Dask cluster vs serial."),
    ("fault_injection.py", "What every reader does with a corrupted store, artifact, profile or CSV."),
]


class SourceMissing(RuntimeError):
    pass


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def fenced(text: str) -> str:
    return "```text\n" + text.rstrip() + "\n```"


def run_script(name: str, timeout: int) -> tuple[str, float]:
    path = REPO / "benchmarks" / name
    if not path.exists():
        raise SourceMissing(f"benchmarks/{name} is missing")
    t0 = time.perf_counter()
    try:
        res = subprocess.run([sys.executable, str(path)], cwd=REPO, capture_output=True, text=True, timeout=timeout,
                             env={**os.environ, "PYTHONWARNINGS": "ignore"})
    except subprocess.TimeoutExpired:
        return f"(did not finish within {timeout} s: run `python benchmarks/{name}` on its own)", timeout
    out = res.stdout if res.returncode == 0 else res.stdout + "\n" + "\n".join(res.stderr.strip().splitlines()[-3:])
    return out.strip() or "(no output)", time.perf_counter() - t0


# ---------------------------------------------------------------- the result store

def task_kinds() -> dict[str, str]:
    """Task name -> classification | generation, from the task YAMLs (bench/tasks/*.yaml); the records do not say."""
    from bench.tasks import load_task, task_names

    return {name: load_task(name).kind for name in task_names()}


def store_sections(results: Path) -> list[str]:
    from bench.results import load

    df = load(results, include_failed=False)
    if df.empty:
        raise SourceMissing(f"no run records under {results}")
    out = ["## The result store", "",
           f"Every run the calibration learns from (`data/results/`, one JSON per run; `bench status` lists the cells). "
           f"{len(df):,} finished runs.", ""]
    version = "protocol_version" if "protocol_version" in df.columns else None
    out.append("| backbone | runs | tasks | methods | training sizes | seeds | devices |"
               + (" protocol versions (runs) |" if version else ""))
    out.append("|---|---|---|---|---|---|---|" + ("---|" if version else ""))
    for backbone, g in df.groupby("backbone"):
        devices = ", ".join(f"{d} ({n})" for d, n in g["device"].fillna("cpu").value_counts().sort_index().items())
        row = (f"| {backbone} | {len(g):,} | {g.task.nunique()} | {g.method.nunique()} | "
               f"{', '.join(map(str, sorted(g.train_size.unique())))} | "
               f"{', '.join(map(str, sorted(g.seed.unique())))} | {devices} |")
        if version:
            row += " " + ", ".join(f"v{v} ({n})" for v, n in g[version].fillna(1).astype(int).value_counts()
                                   .sort_index().items()) + " |"
        out.append(row)
    out += ["", "### Mean accuracy per method and training size", "",
            "Mean test accuracy over the tasks measured at that size (each task's seeds averaged first), "
            "classification tasks only; the number of tasks in brackets.", ""]
    kind = df["task"].map(task_kinds())
    cls = df[kind == "classification"]
    from advisor.options import LABELS

    methods = ["prompt_engineering", "prompt_tuning", "prefix_tuning", "lora", "full_finetuning"]
    for backbone, g in cls.groupby("backbone"):
        per_task = g.groupby(["method", "train_size", "task"])["accuracy"].mean().reset_index()
        out.append(f"**{backbone}**")
        out.append("")
        out.append("| n | " + " | ".join(LABELS[m] for m in methods) + " |")
        out.append("|---|" + "---|" * len(methods))
        for n in sorted(per_task.train_size.unique()):
            cells = []
            for m in methods:
                v = per_task[(per_task.method == m) & (per_task.train_size == n)]
                cells.append(f"{v.accuracy.mean():.3f} ({len(v)})" if len(v) else "—")
            out.append(f"| {n} | " + " | ".join(cells) + " |")
        out.append("")
    if (kind == "generation").any():
        gen = df[kind == "generation"]
        out += ["### The generation task", "",
                "Exact match on the written answer, per method and training size (seeds in brackets).", "",
                "| task | backbone | n | " + " | ".join(LABELS[m] for m in methods) + " |",
                "|---|---|---|" + "---|" * len(methods)]
        for (task, backbone, n), g in gen.groupby(["task", "backbone", "train_size"]):
            cells = []
            for m in methods:
                v = g[g.method == m]
                cells.append(f"{v.accuracy.mean():.3f} ({len(v)})" if len(v) else "—")
            out.append(f"| {task} | {backbone} | {n} | " + " | ".join(cells) + " |")
        out.append("")
    return out


# ---------------------------------------------------------------- the served calibration

def calibration_sections() -> list[str]:
    root = REPO / "data" / "calibration"
    pointer = root / "SERVED"
    if not pointer.exists():
        raise SourceMissing(f"{pointer} is missing (no served calibration)")
    served = pointer.read_text().strip()
    folder = root / served if not Path(served).is_absolute() else Path(served)
    out = ["## The served calibration", "",
           f"Calibration `{folder.name}` (`data/calibration/SERVED`). Its evaluation was written by `advisor "
           "evaluate` when `bench refresh` fitted it; the claims audit by `advisor claims`.", ""]
    for name, title in (("evaluation.md", "Evaluation"), ("claims.md", "Claims audit")):
        path = folder / name if (folder / name).exists() else root / name
        if not path.exists():
            out += [f"### {title}", "", f"(no {name}: run `advisor {name.split('.')[0].rstrip('s')}`)", ""]
            continue
        text = path.read_text(encoding="utf-8").strip().splitlines()
        if text and text[0].startswith("#"):
            text = text[1:]  # the file's own title: this section's heading replaces it
        while text and not text[0].strip():
            text = text[1:]
        # Demote the file's other headings under this section's.
        text = ["##" + ln if ln.startswith("#") else ln for ln in text]
        where = path.relative_to(REPO)
        out += [f"### {title} (`{where}`)", "", *text, ""]
    return out


# ---------------------------------------------------------------- the benchmark scripts

def benchmark_sections(run_all: bool, skip: bool) -> list[str]:
    out = ["## Benchmarks", "",
           "Each block is the output of the script named above it, run when this page was generated (timings depend "
           "on what else the machine was doing: the load average is printed where it matters).", ""]
    for name, what in FAST + (SLOW if run_all else []):
        cmd = f"python benchmarks/{name}"
        if skip:
            out += [f"### `{cmd}`", "", what, "", "(not run: generated with --skip-benchmarks)", ""]
            continue
        text, seconds = run_script(name, timeout=1800 if run_all else 120)
        out += [f"### `{cmd}`", "", what, "", fenced(text), ""]
        print(f"  {name}: {seconds:.1f} s", file=sys.stderr)
    if not run_all:
        out += ["### Slower benchmarks", "",
                "These train models or drive a browser for minutes, so they run only with `make measurements "
                "ARGS=--all` (or one by one):", ""]
        out += [f"- `python benchmarks/{name}` — {what}" for name, what in SLOW]
        out.append("")
    return out


def build(run_all: bool = False, skip_benchmarks: bool = False, results: Path | None = None) -> str:
    load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    head = ["# Measurements", "",
            "<!-- Generated by `make measurements` (benchmarks/measurements_doc.py): do not edit by hand. -->", "",
            f"Generated {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC at commit {git('rev-parse', '--short', 'HEAD')} "
            f"on {os.cpu_count()} cores (load average {load_avg:.1f}). The headline figures are in the "
            "[README](../README.md#measured-so-far); this page holds them all, each under the command that prints "
            "it.", ""]
    body = store_sections(results or REPO / "data" / "results") + calibration_sections() \
        + benchmark_sections(run_all, skip_benchmarks)
    return "\n".join(head + body).rstrip() + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--all", action="store_true", help="Also run the slow benchmarks (minutes to hours).")
    ap.add_argument("--skip-benchmarks", action="store_true", help="Store and calibration sections only.")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--results", type=Path, default=None, help="The result store (default data/results).")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    try:
        text = build(args.all, args.skip_benchmarks, args.results)
    except SourceMissing as err:
        sys.exit(f"error: {err}")
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, args.out)  # a reader never sees half a page
    print(f"wrote {args.out} ({len(text.splitlines())} lines)", file=sys.stderr)


if __name__ == "__main__":
    main()
