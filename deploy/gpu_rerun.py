"""Rerun the SmolLM2 cells that `bench refresh` would call missing or stale, on a lent GPU (deploy/gpu_jobs.sh).

`bench refresh` itself also refits and gates a calibration (~6 min of CPU) — device time we would spend on fitting
nothing new — and runs the protocol's default test cap, while the SmolLM2 store was measured on 500 test examples
(one 135M forward per example and label). So this runs the same cells (`bench.refresh.plan_cells`, the same
staleness rule) with the store's test cap and no fit; the calibration is refitted on CPU once the results are back.

Run: python3 deploy/gpu_rerun.py --results-dir /root/results --workers 10 [--config deploy/refresh-smollm2.yaml]
     [--dry-run]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections import Counter
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from bench.protocol import Protocol
    from bench.refresh import RefreshError, load_config, plan_cells
    from bench.runner import run_grid
    from bench.tasks import resolve_data_dir

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=Path(__file__).with_name("refresh-smollm2.yaml"))
    ap.add_argument("--results-dir", type=Path, default=Path("data/results"))
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    # The SmolLM2 store's cap (deploy/gpu_jobs.sh has always run --test-cap 500): kept so v1 and v2 cells compare.
    ap.add_argument("--test-cap", type=int, default=500)
    ap.add_argument("--dry-run", action="store_true", help="print what would run, run nothing")
    args = ap.parse_args(argv)
    try:
        config = load_config(args.config)
    except RefreshError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    jobs, todo, missing, stale, reasons, invalid = plan_cells(config, args.results_dir)
    why = Counter(reasons.values())
    print(f"{len(jobs)} cells: {len(missing)} missing, {len(stale)} stale ({dict(why)}), {len(invalid)} invalid "
          f"(left as they are), {len(jobs) - len(todo) - len(invalid)} fresh", flush=True)
    for path in invalid:
        print(f"  invalid: {path}", file=sys.stderr)
    if args.dry_run or not todo:
        return 0
    protocol = dataclasses.replace(Protocol(), test_cap=args.test_cap)
    summary = run_grid(todo, args.results_dir, protocol, resolve_data_dir(None), args.device, "process",
                       args.workers, True, threads=1)
    print(f"ran {summary['ran']}, failed {summary['failed']} in {summary['seconds']:.0f} s", flush=True)
    for f in summary["failures"][:20]:
        print(f"  failed: {f['label']}: {f['error']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
