"""Print recommend()'s warm latency (p50 / p95) on the example profiles.

Quality bar: warm p50 under 2 ms for the rules-only advisor (counterfactuals included).
Run: .venv/bin/python benchmarks/recommend_latency.py
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from advisor import ProjectProfile, recommend


def main(repeats: int = 300) -> None:
    examples = sorted(Path(__file__).resolve().parent.parent.joinpath("data", "examples").glob("*.yaml"))
    profiles = [ProjectProfile.load(p) for p in examples]
    for p in profiles:  # warm: table parsed and cached
        recommend(p, calibration=None)
    from advisor.calibration import load_calibration

    cal = load_calibration()
    cases = [("rules-only, with counterfactuals", {"calibration": None}),
             ("rules-only, without counterfactuals", {"calibration": None, "with_counterfactuals": False})]
    # Calibrated calls predict with the outcome models and look up evidence: fewer repeats.
    if cal is not None:
        cases += [(f"calibrated on {cal.n_runs} runs, with counterfactuals", {"calibration": cal}),
                  (f"calibrated on {cal.n_runs} runs, without counterfactuals",
                   {"calibration": cal, "with_counterfactuals": False})]
    for label, kwargs in cases:
        times = []
        for _ in range(repeats if kwargs.get("calibration") is None else max(1, repeats // 30)):
            for p in profiles:
                t0 = time.perf_counter()
                recommend(p, **kwargs)
                times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        print(f"recommend() {label}: p50 {statistics.median(times):.3f} ms, "
              f"p95 {times[int(0.95 * len(times))]:.3f} ms over {len(times)} calls")


if __name__ == "__main__":
    main()
