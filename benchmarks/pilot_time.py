"""Time `advisor pilot` end to end on a 2,000-row CSV (issue 14's budget: answered in <= 5 minutes on 2 cores).

The CSV is built from ../shared/data/ag_news/train.csv (4 classes, 1,520 rows each; research use, see its
SOURCE.md) — the first 500 rows of each class, shuffled with a fixed seed — into a temporary folder: no data is
copied into the repository. Then the pilot runs as a user would run it: `python -m advisor.cli pilot --data ...`
in a fresh process (imports, the subprocess, model loading and the recommendation included), once plain and once
with --quick. Prints each wall time and whether it meets the 300 s budget.

    python benchmarks/pilot_time.py [--rows 2000] [--no-quick] [--threads N] [--model smollm2-135m]

With --model the pilot also measures that model's prompting (`advisor pilot --model`), and each stage's measured
time is printed beside the estimate the pilot announced for it (advisor.costs.pilot_estimates).

State the machine's load with the figures: on the development machine a background benchmark grid used both
cores while this ran.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUDGET_S = 300.0


def build_csv(rows: int, out: Path) -> Path:
    src = Path(os.environ.get("TUNING_ADVISOR_DATA", REPO.parent / "shared" / "data")) / "ag_news" / "train.csv"
    if not src.exists():
        sys.exit(f"no {src}: the benchmark needs ../shared/data (or $TUNING_ADVISOR_DATA)")
    with open(src, encoding="utf-8", newline="") as f:
        data = list(csv.DictReader(f))
    by_class: dict[str, list[dict]] = {}
    for r in data:
        by_class.setdefault(r["label"], []).append(r)
    per = rows // len(by_class)
    picked = [r for rs in by_class.values() for r in rs[:per]]
    random.Random(0).shuffle(picked)
    path = out / "tickets.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "body", "topic"])  # other column names than the source's: the pickers must be used
        w.writerows((i, r["text"], r["label"]) for i, r in enumerate(picked))
    return path


def run(path: Path, quick: bool, threads: int | None, model: str | None = None) -> tuple[float, int, str]:
    cmd = [sys.executable, "-m", "advisor.cli", "pilot", "--data", str(path), "--text", "body", "--label", "topic",
           "--compute", "minimal"] + (["--quick"] if quick else []) \
        + (["--threads", str(threads)] if threads else []) + (["--model", model, "--device", "cpu"] if model else [])
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    return time.perf_counter() - t0, res.returncode, res.stdout + res.stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--no-quick", action="store_true", help="Skip the --quick (one LoRA run) timing.")
    ap.add_argument("--threads", type=int, default=None, help="Torch threads for the measuring subprocesses.")
    ap.add_argument("--model", default=None, help="Also measure this model's prompting (advisor pilot --model).")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at start "
          f"(a background grid may be using the cores)")
    with tempfile.TemporaryDirectory(prefix="pilot-bench-") as tmp:
        path = build_csv(args.rows, Path(tmp))
        for quick in ([False] if args.no_quick else [False, True]):
            seconds, rc, out = run(path, quick, args.threads, args.model)
            measured = [ln for ln in out.splitlines()
                        if ln.startswith(("  zero-shot accuracy:", "  linear-probe accuracy:", "  LoRA, quick pilot:",
                                          "    advisor's prediction", "  prompting, your model:", "  stage: "))]
            print(f"\nadvisor pilot{' --quick' if quick else ''} on {args.rows:,} rows: {seconds:.1f} s wall "
                  f"(exit {rc}); budget {BUDGET_S:.0f} s: {'MET' if rc == 0 and seconds <= BUDGET_S else 'NOT MET'}")
            for ln in measured:
                print("   ", ln.strip())
            if rc != 0:
                print(out[-2000:])
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
