"""Rerun the cells that `bench refresh` would call missing or stale, on a lent GPU (deploy/gpu_jobs.sh).

`bench refresh` itself also refits and gates a calibration (~6 min of CPU) — device time we would spend on fitting
nothing new. So this runs the same cells (`bench.refresh.plan_cells`, the same staleness rule) and no fit; the
calibration is refitted on CPU once the results are back. The SmolLM2 store was measured on 500 test examples (one
135M forward per example and label): run its config with --test-cap 500 so its cells compare.

Run: python3 deploy/gpu_rerun.py --results-dir /root/results --workers 10 [--config deploy/refresh-smollm2.yaml]
     [--device cuda | cuda-fp32] [--test-cap 500] [--reverse] [--stale-first] [--dry-run]
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
    from bench.results import read_result
    from bench.runner import run_grid
    from bench.tasks import resolve_data_dir
    from bench.trial import DEVICES

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=Path(__file__).with_name("refresh-smollm2.yaml"))
    ap.add_argument("--results-dir", type=Path, default=Path("data/results"))
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--device", default="auto", choices=DEVICES)
    ap.add_argument("--test-cap", type=int, default=None, help="the protocol's test cap unless given (SmolLM2: 500)")
    # The CPU refresh works through the same cells from the front; from the back, the two meet in the middle.
    ap.add_argument("--reverse", action="store_true", help="run the cells from the end of the refresh's order")
    # A revised stopping rule makes a few recorded runs stale among hundreds of missing cells: rerun those first.
    ap.add_argument("--stale-first", action="store_true", help="run the stale cells before the missing ones")
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
    protocol = Protocol() if args.test_cap is None else dataclasses.replace(Protocol(), test_cap=args.test_cap)
    todo = todo[::-1] if args.reverse else todo
    if args.stale_first:  # those stale for a revised stopping rule (a handful) before any other stale, then missing
        # Only a revised stopping rule (a current-version record the current rules do not reproduce) ranks first,
        # not every reason but the version: an age, package or recipe-version reason is an ordinary stale cell.
        def revised(job) -> bool:
            rec = read_result(job.path(args.results_dir))
            return rec is not None and reasons[job.label] == Protocol().reproduces(rec) and \
                ((rec.get("config") or {}).get("protocol") or {}).get("version", 1) == Protocol().version

        rank = {id(j): 0 if revised(j) else 1 for j in stale}
        todo = sorted(todo, key=lambda j: rank.get(id(j), 2))  # stable: each group keeps its order
    summary = run_grid(todo, args.results_dir, protocol, resolve_data_dir(None), args.device, "process",
                       args.workers, True, threads=1)
    print(f"ran {summary['ran']}, failed {summary['failed']} in {summary['seconds']:.0f} s", flush=True)
    for f in summary["failures"][:20]:
        print(f"  failed: {f['label']}: {f['error']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
