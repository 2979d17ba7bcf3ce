"""Our trial vs a straightforward HF Trainer + peft reference on the same cell, same steps.

Prints, for MiniLM on sst2 (256 training examples, batch 16, the same step count and lr):
  * wall time of tokenise + train + predict the test subset, ours vs Trainer, and the ratio
    (target: ours <= 0.8x);
  * achieved training FLOP/s (6 N T for full fine-tuning, 4 N T for LoRA, N = non-embedding
    parameters, T = real, non-pad tokens) vs this machine's measured fp32 matmul FLOP/s.

Run: .venv/bin/python benchmarks/trial_speed.py [--steps 128] [--threads 2] [--method lora]
Needs the shared data (../shared/data or $TUNING_ADVISOR_DATA).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def matmul_flops(threads: int, size: int = 1024, repeats: int = 20) -> float:
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(3):
        a @ b
    t0 = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=128)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--method", choices=("lora", "full_finetuning"), default="lora")
    ap.add_argument("--task", default="sst2")
    ap.add_argument("--train-size", type=int, default=256)
    ap.add_argument("--test-size", type=int, default=500)
    args = ap.parse_args()

    import numpy as np
    import torch

    from bench.methods import get_method
    from bench.models import load_backbone
    from bench.protocol import Protocol
    from bench.tasks import load_task
    from bench.train import Head, fit, metrics_from, predict
    from bench.trial import prepare_cell

    torch.set_num_threads(args.threads)
    backbone = load_backbone("minilm")
    task = load_task(args.task)
    method = get_method(args.method)
    lr = method.lrs["encoder"][-1]
    steps, bs = args.steps, 16
    # One lr, a fixed number of steps, no early stopping, one validation check at the end
    # (16 examples): the same work the reference does, plus that check.
    protocol = dataclasses.replace(Protocol(), batch_size=bs, min_steps=steps, max_steps=steps, extend_factor=1.0,
                                   patience=10**6, eval_every_fraction=1.0, test_cap=args.test_size)
    cell = prepare_cell(backbone, task, args.train_size, 0, protocol, None, torch.device("cpu"), False)
    cell.val_idx = cell.val_idx[:16]
    texts_train = [cell.pool.texts[i] for i in cell.train_idx]
    texts_test = [cell.test.texts[i] for i in cell.test_idx]
    y_train = cell.pool.labels[cell.train_idx]
    y_test = cell.test.labels[cell.test_idx]

    # ---- ours ---------------------------------------------------------------------------
    from bench.trial import _ENCODED

    _ENCODED.clear()  # tokenisation is part of the timed trial
    t0 = time.perf_counter()
    cell = prepare_cell(backbone, task, args.train_size, 0, protocol, None, torch.device("cpu"), False)
    cell.val_idx = cell.val_idx[:16]
    head = Head(False)
    result = fit(lambda lr_: method.build(cell, lr_), (lr,), head, cell.pool, cell.train_idx, cell.val_idx,
                 protocol, 0, cell.pad_id, False, cell.device, "accuracy", task.num_classes)
    pred, _ = predict(result.model, head, cell.test, cell.test_idx, cell.pad_id, False, cell.device)
    ours = time.perf_counter() - t0
    ours_acc = metrics_from(pred, y_test, task.num_classes)["accuracy"]
    # Real tokens seen in training: the same stream the loop consumed.
    from bench.train import train_stream

    stream = train_stream(cell.pool, cell.train_idx, bs, np.random.default_rng(0), cell.pad_id, False)
    real_tokens = padded_tokens = 0
    for _ in range(steps):
        b = next(stream)
        real_tokens += int(b.attention_mask.sum())
        padded_tokens += b.attention_mask.numel()

    # ---- reference: HF Trainer + peft, dynamic padding via DataCollatorWithPadding -------
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    tok = backbone.tokenizer
    t1 = time.perf_counter()
    enc_train = tok(texts_train, truncation=True, max_length=protocol.max_length)
    enc_test = tok(texts_test, truncation=True, max_length=protocol.max_length)
    train_ds = [{"input_ids": i, "attention_mask": m, "labels": int(y)}
                for i, m, y in zip(enc_train["input_ids"], enc_train["attention_mask"], y_train)]
    test_ds = [{"input_ids": i, "attention_mask": m, "labels": int(y)}
               for i, m, y in zip(enc_test["input_ids"], enc_test["attention_mask"], y_test)]
    torch.manual_seed(0)
    model, _ = method.build(cell, lr)
    with tempfile.TemporaryDirectory() as tmp:
        targs = TrainingArguments(output_dir=tmp, per_device_train_batch_size=bs, per_device_eval_batch_size=64,
                                  max_steps=steps, learning_rate=lr, warmup_steps=int(steps * protocol.warmup_fraction),
                                  lr_scheduler_type="constant_with_warmup", weight_decay=protocol.weight_decay,
                                  logging_steps=steps, save_strategy="no", report_to=[], use_cpu=True, seed=0,
                                  dataloader_num_workers=0, disable_tqdm=True)
        trainer = Trainer(model=model, args=targs, train_dataset=train_ds, data_collator=DataCollatorWithPadding(tok))
        trainer.train()
        out = trainer.predict(test_ds)
    ref = time.perf_counter() - t1
    ref_acc = float((out.predictions.argmax(-1) == y_test).mean())

    n_nonemb = sum(p.numel() for n, p in backbone.pristine.named_parameters() if "embeddings" not in n)
    factor = 6 if args.method == "full_finetuning" else 4
    machine = matmul_flops(args.threads)
    print(f"cell: minilm/{args.task}, {args.method}, n={args.train_size}, {steps} steps x batch {bs}, "
          f"test {len(y_test)}, threads {args.threads}")
    print(f"ours:      {ours:7.1f} s  (test accuracy {ours_acc:.3f}, trained {result.train_seconds:.1f} s)")
    print(f"reference: {ref:7.1f} s  (HF Trainer + peft, DataCollatorWithPadding; test accuracy {ref_acc:.3f})")
    print(f"ratio ours / reference: {ours / ref:.2f}x  (target <= 0.80x)")
    print(f"padding: {real_tokens:,} real of {padded_tokens:,} batch tokens ({real_tokens / padded_tokens:.0%} useful) "
          f"with length bucketing")
    achieved = factor * n_nonemb * real_tokens / result.train_seconds
    print(f"training FLOP/s ({factor} x {n_nonemb / 1e6:.1f}M non-embedding params x real tokens): "
          f"{achieved / 1e9:.1f} GFLOP/s vs matmul {machine / 1e9:.1f} GFLOP/s ({achieved / machine:.0%})")


if __name__ == "__main__":
    main()
