"""How far from converged the step budget leaves each method, per backbone and training size (from the result files).

The protocol's rule (bench/protocol.py): 5 epochs, at least 100 and at most 320 optimizer steps, extended while
validation still improves up to the cap (4x the budget; 2x in the runs recorded before that revision), stopped after
3 checks without a gain. A run is *cut off* when it reached the extended cap while its last validation check was still
its best (`converged: false` in the record). For cut-off
runs the last validation gain (last check minus the one before) says how much was still being gained per check.

The opposite failure is also counted: a run *stopped flat* ended before its budget with its best validation check
at the first one (step ~10 of 100): patience ended it after ~45 steps without one validation gain. Some of these
peaked early and then overfit (SmolLM2 sst2 LoRA n=16: 0.94 validation at step 10, then 0.81); others never left a
plateau — validation accuracy moves in steps of 1/32 at n <= 32 (the protocol's smallest validation set), so a run
sitting at the majority class shows no gain while its training loss still falls, and measures the stopping rule
rather than the method's ceiling.

Run: .venv/bin/python benchmarks/convergence.py [RESULTS_DIR]
"""

from __future__ import annotations

import sys
from collections import defaultdict

from bench.results import iter_results


def main(results_dir: str = "data/results") -> None:
    stats: dict[tuple, list] = defaultdict(list)
    flat: dict[tuple, list[bool]] = defaultdict(list)
    # Per protocol version (issue 21): under v2 no run stops before its budget, so "stopped flat" is 0 by
    # construction; what still says whether a run learned is whether its kept checkpoint is the first check.
    first: dict[tuple, list[bool]] = defaultdict(list)
    for _, rec in iter_results(results_dir):
        if not rec or rec.get("status") != "ok" or rec.get("method") in ("prompt_engineering", "linear_probe"):
            continue
        m = rec.get("metrics", {})
        curve = m.get("loss_curve") or []
        version = ((rec.get("config") or {}).get("protocol") or {}).get("version", 1)
        if curve:
            flat[(version, rec["backbone"], rec["method"])].append(
                int(rec.get("steps") or 0) < int(m.get("budget_steps") or 0) and m.get("best_step") == curve[0][0])
            first[(version, rec["backbone"])].append(m.get("best_step") == curve[0][0])
        last_gain = (curve[-1][2] - curve[-2][2]) if len(curve) >= 2 and len(curve[-1]) > 2 else 0.0
        cap = (rec.get("config", {}).get("protocol", {}) or {}).get("max_steps")
        stats[(rec["backbone"], rec["method"], rec["train_size"], cap)].append(
            (bool(rec.get("converged", True)), int(rec.get("steps") or 0), int(m.get("budget_steps") or 0), last_gain))
    print(f"{'backbone':<14}{'method':<17}{'n':>6}{'cap':>6}{'runs':>6}{'cut off':>9}{'steps':>8}{'budget':>8}"
          f"{'last val gain (cut-off runs)':>30}")
    for (b, meth, n, cap), rows in sorted(stats.items(), key=lambda kv: tuple(map(str, kv[0]))):
        cut = [r for r in rows if not r[0]]
        gain = f"{100 * sum(r[3] for r in cut) / len(cut):+.1f} pts" if cut else "-"
        print(f"{b:<14}{meth:<17}{n:>6}{cap!s:>6}{len(rows):>6}{len(cut):>5}/{len(rows):<3}"
              f"{sum(r[1] for r in rows) / len(rows):>8.0f}{sum(r[2] for r in rows) / len(rows):>8.0f}{gain:>30}")
    total = sum(len(v) for v in stats.values())
    cut = sum(1 for v in stats.values() for r in v if not r[0])
    # Under v2 a check "improves" on the metric, or on the validation loss at an equal metric: a run at 100%
    # validation accuracy whose loss still falls by 1e-6 per check is extended to the cap without gaining anything.
    gaining = sum(1 for v in stats.values() for r in v if not r[0] and r[3] > 0)
    print(f"\n{cut} of {total} trained runs were cut off by the step cap while still improving on validation "
          f"({gaining} still gaining on the metric at the last check, {cut - gaining} on the loss tie-break alone).")
    print("\nStopped flat (ended before the budget, no validation gain after the first check), per protocol version:")
    for (v, b, meth), rows in sorted(flat.items()):
        print(f"  v{v} {b:<14}{meth:<17}{sum(rows):>4}/{len(rows):<4}({sum(rows) / len(rows):.0%})")
    for v in sorted({k[0] for k in flat}):
        every = [x for k, rows in flat.items() if k[0] == v for x in rows]
        print(f"protocol v{v}: {sum(every)} of {len(every)} trained runs ({sum(every) / len(every):.0%}) stopped flat.")
    print("\nKept checkpoint = the first validation check (the run never improved on its first check):")
    for (v, b), rows in sorted(first.items()):
        print(f"  v{v} {b:<14}{sum(rows):>4}/{len(rows):<4}({sum(rows) / len(rows):.0%})")


if __name__ == "__main__":
    main(*sys.argv[1:])
