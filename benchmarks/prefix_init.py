"""Prefix tuning with peft's random init vs the instruction's key/value activations (Li & Liang 2021).

Prints test accuracy and forgetting (LM-loss change on data/probe_text.txt) for both inits on
one cell. Default: SmolLM2-135M on sst2, 16 examples, a 30-step budget, 200 test examples.
Run: .venv/bin/python benchmarks/prefix_init.py [--backbone minilm] [--n 64] [--steps 100]
"""

from __future__ import annotations

import argparse
import dataclasses
import warnings

warnings.filterwarnings("ignore")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backbone", default="smollm2-135m")
    ap.add_argument("--task", default="sst2")
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--test-cap", type=int, default=200)
    args = ap.parse_args()

    from bench.methods import METHODS
    from bench.protocol import Protocol
    from bench.tasks import load_task
    from bench.trial import run_trial

    protocol = dataclasses.replace(Protocol(), test_cap=args.test_cap, min_steps=args.steps, max_steps=args.steps,
                                   extend_factor=1.0)
    method = METHODS["prefix_tuning"]
    for init in ("random", "activations"):
        method.init = init
        r = run_trial(args.backbone, load_task(args.task), "prefix_tuning", args.n, 0, protocol, device="cpu")
        if r["status"] != "ok":
            print(f"init={init}: failed: {r['error']}")
            continue
        print(f"{args.backbone}/{args.task} n={args.n}, init={init:<11}: test accuracy {r['accuracy']:.3f}, "
              f"forgetting {r['forgetting']:+.3f}, lr {r['lr']:g}, {r['steps']} steps, train {r['train_time_s']:.0f} s")


if __name__ == "__main__":
    main()
