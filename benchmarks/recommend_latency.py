"""Print recommend()'s warm latency (p50 / p95) on the example profiles.

Quality bar: warm p50 under 2 ms (counterfactuals included).
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
        recommend(p)
    for label, kwargs in (("with counterfactuals", {}), ("without counterfactuals", {"with_counterfactuals": False})):
        times = []
        for _ in range(repeats):
            for p in profiles:
                t0 = time.perf_counter()
                recommend(p, **kwargs)
                times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        print(f"recommend() {label}: p50 {statistics.median(times):.3f} ms, "
              f"p95 {times[int(0.95 * len(times))]:.3f} ms over {len(times)} calls")


if __name__ == "__main__":
    main()
