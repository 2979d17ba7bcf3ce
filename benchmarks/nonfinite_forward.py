"""Is a diverged cell's data the cause? The pristine model's forward pass over the cell's training set, in fp32 and
under bf16 autocast, on this CPU (README, "Cells that exist": six SmolLM2 LoRA / full fine-tuning runs diverged at every
lr on the lent H100 under CUDA bf16 autocast).

Prints, per precision, how many training examples give non-finite next-token logits (0 means the data alone does not
make the loss non-finite). Needs the shared data and the SmolLM2 wheel; ~1 minute per cell on one thread.

Run: .venv/bin/python benchmarks/nonfinite_forward.py [--task rte] [--size 64] [--seed 1]
"""

from __future__ import annotations

import argparse


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backbone", default="smollm2-135m")
    ap.add_argument("--task", default="rte")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    import torch

    from bench.models import load_backbone
    from bench.protocol import Protocol
    from bench.tasks import load_task
    from bench.train import Head, eval_batches
    from bench.trial import prepare_cell

    torch.set_num_threads(1)
    backbone = load_backbone(a.backbone)
    # The SmolLM2 grid's protocol (test cap 500); the training subset does not depend on the test cap.
    cell = prepare_cell(backbone, load_task(a.task), a.size, a.seed, Protocol(test_cap=500), None,
                        torch.device("cpu"), False)
    head = Head(cell.causal, cell.label_token_ids)
    model = backbone.pristine.eval()
    print(f"{a.backbone}/{a.task} n={a.size} seed {a.seed}: {len(cell.train_idx)} training examples, longest "
          f"{int(cell.pool.lengths[cell.train_idx].max())} tokens (cap {cell.protocol.causal_max_length})")
    for autocast in (False, True):
        bad = 0
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            for batch in eval_batches(cell.pool, cell.train_idx, cell.protocol.batch_size, cell.pad_id, True):
                logits, _, _ = head(model, batch)
                bad += int((~torch.isfinite(logits).all(-1)).sum())
        print(f"  {'bf16 autocast' if autocast else 'fp32'}: {bad} of {len(cell.train_idx)} examples with non-finite logits")


if __name__ == "__main__":
    main()
