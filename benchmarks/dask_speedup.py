"""Speed-up of a small MiniLM grid on a local Dask cluster: 1 worker vs 2 (one thread each).

Same trials both times (LoRA on sst2 and trec, 16 examples, seeds 0-1, a 30-step budget, 200 test
examples), fresh result folders, cluster start-up and model loading included — the wall time a
user waits. Run: .venv/bin/python benchmarks/dask_speedup.py   (needs the shared data)
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
import warnings

warnings.filterwarnings("ignore")


def main() -> None:
    from bench.protocol import Protocol
    from bench.runner import expand, parse_tasks, run_grid

    protocol = dataclasses.replace(Protocol(), min_steps=30, max_steps=30, extend_factor=1.0, test_cap=200)
    jobs = expand(["minilm"], parse_tasks("sst2,trec"), ["lora"], [16], [0, 1])
    times = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            out = run_grid(jobs, tmp, protocol, executor="dask", workers=workers, threads=1, progress=False,
                           device="cpu")
            times[workers] = time.perf_counter() - t0
            print(f"{workers} worker(s): {len(jobs)} trials in {times[workers]:.1f} s ({out['failed']} failed)")
    print(f"speed-up 1 -> 2 workers: {times[1] / times[2]:.2f}x")


if __name__ == "__main__":
    main()
