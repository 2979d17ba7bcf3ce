"""Measured-vs-predicted memory: advisor.costs.plan_memory against our runs and against published tables.

    PYTHONPATH=. python benchmarks/memory_validation.py

Ours (data/results, CPU runs, fp32, peak process RSS): Python, torch and the data dominate the absolute RSS, so a
run is compared with the run of another method on the same task, size and seed, and the prediction is the
difference of what the two hold. What they hold follows the benchmark's protocol (bench/train.py `fit`): two
learning-rate candidates race; while the second trains, the first is kept alive (model, AdamW state and its
best-weights copy, `_trainable_state`), so the process peak holds one full training state plus a second one
without gradients. The prediction sums plan_memory's components for exactly that (`race_state`).

Published (7B-70B): LLaMA-Factory's "Hardware Requirement" table (README.md, marked "estimated" there), the PEFT
README's measured table (A100 80GB, fp32), and the QLoRA paper's abstract (65B in < 48 GB). The batch and sequence
length behind those figures are not stated; we use batch 1, 512 tokens and gradient checkpointing, where the
weights and optimizer terms dominate (activations are < 1 GB at 7B there).
"""

from __future__ import annotations

import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from advisor.costs import GB, MemoryConfig, architecture, plan_memory  # noqa: E402
from advisor.models import get_model  # noqa: E402

RESULTS = ROOT / "data" / "results"
MIB = 2**20
LLAMA_FACTORY = "hiyouga/LLaMA-Factory README.md@ff6d4d12eeb035d6ce06805a5733dd7b29f2ac30, 'Hardware Requirement' (estimated)"
PEFT_README = "huggingface/peft README.md@5d602fdbff04c33c1c4de55cda9d4ae1d7cb7e40, 'High performance on consumer hardware' (A100 80GB)"
QLORA = "Dettmers et al. 2023, QLoRA, NeurIPS 2023 (arXiv:2305.14314), abstract: 65B finetuning in < 48 GB"
M7 = "Mistral-7B-v0.1"  # the catalog's 7B (7.24B, untied 32k vocabulary): the shape for LLaMA-Factory's "7B" column
SHAPES = {"minilm": "MiniLM-L6", "smollm2-135m": "SmolLM2-135M"}
BENCH_BATCH = 16  # bench/protocol.py batch_size, recorded in every run's config.protocol


def race_state(method: str, params: float, hidden: int, layers: int, seq_len: int, vocab: int | None) -> float:
    """Bytes the benchmark holds at its peak for `method`, beyond the pristine model (fp32 on CPU)."""
    p = plan_memory(method, params, hidden, layers, MemoryConfig("fp32"), batch=BENCH_BATCH, seq_len=seq_len,
                    context=seq_len, vocab=vocab)
    if method == "prompt_engineering":
        return 0.0  # on CPU prompting reads the pristine model itself (bench/models.py pristine_on): no copy
    trainable_copy = p.gradients  # the best-weights copy is one fp32 tensor per trainable parameter, like a gradient
    first = p.weights + p.optimizer + trainable_copy  # the race's first candidate, alive while the second trains
    second = p.weights + p.gradients + p.optimizer + trainable_copy + p.activations
    return first + second


def _runs() -> dict[tuple, dict[str, dict[str, Any]]]:
    from bench.results import iter_results, protocol_version

    by: dict[tuple, dict[str, dict[str, Any]]] = defaultdict(dict)
    for _, r in iter_results(RESULTS):
        if (r and r["status"] == "ok" and r.get("peak_rss_mb") and r["backbone"] in SHAPES
                and str(r.get("device", "cpu")).startswith("cpu")):
            # Pairs compare runs under one protocol: while the store is rerun, a cell's LoRA run may be v2 (the whole
            # step budget) beside a v1 run of another method, whose peak the early stop could have cut short.
            by[(r["backbone"], r["task"], r["train_size"], r["seed"], protocol_version(r))][r["method"]] = r
    return by


def ours(against: str = "lora") -> list[dict[str, Any]]:
    """Per backbone and method: median over paired runs of (method peak - `against` peak), measured vs predicted."""
    rows = []
    by = _runs()
    for backbone, name in SHAPES.items():
        spec = get_model(name)
        methods = sorted({m for k, v in by.items() if k[0] == backbone for m in v} - {against, "linear_probe"})
        for method in methods:
            meas, pred, phase, probed, peaks = [], [], 0, 0, []
            for k, v in by.items():
                if k[0] != backbone or method not in v or against not in v:
                    continue
                r, a = v[method], v[against]
                seq = int(round(r.get("mean_input_tokens") or 64)) + 5
                vocab = spec.vocab_size if (r.get("config") or {}).get("backbone_kind") == "causal" else None
                params = float(r["total_params"])
                meas.append((r["peak_rss_mb"] - a["peak_rss_mb"]) * MIB)
                peaks.append(r["peak_rss_mb"] * MIB)
                pred.append(race_state(method, params, spec.hidden_size, spec.layers, seq, vocab)
                            - race_state(against, params, spec.hidden_size, spec.layers, seq, vocab))
                lp = v.get("linear_probe")  # the same cell's probe run under the same protocol, when there is one
                probed += lp is not None
                phase += bool(lp and abs(a["peak_rss_mb"] - lp["peak_rss_mb"]) < 1.0)
            if not meas:
                continue
            m, p = statistics.median(meas), statistics.median(pred)
            rows.append({"source": f"ours: data/results {backbone}, CPU fp32, {len(meas)} paired runs",
                         "case": f"{method} minus {against}", "measured_gb": m / GB, "predicted_gb": p / GB,
                         "ratio": m / p if abs(p) >= 0.1 * GB else None, "pairs": len(meas),
                         # The method's own peak across its runs (same model): how far phases other than training
                         # move it (prompting's few-shot inference grows with the demonstrations' length).
                         "own_peak_range_gb": (max(peaks) - min(peaks)) / GB,
                         "against_peak_is_probe_peak": phase, "pairs_with_probe": probed})
    return rows


def _plan(params_b: float, option: str, config: MemoryConfig, name: str | None = None) -> float:
    if name:
        spec = get_model(name)
        params_b = spec.params_b
        hidden, layers, vocab = spec.hidden_size, spec.layers, spec.vocab_size
    else:
        (hidden, layers), vocab = architecture(params_b * 1e9), None
    return plan_memory(option, params_b * 1e9, hidden, layers, config, batch=1, seq_len=512, context=512,
                       vocab=vocab).train_total / GB


def published() -> list[dict[str, Any]]:
    """Each published figure beside plan_memory's total for the configuration it describes."""
    ck = dict(checkpointing=True)
    cases = [  # (source, case, published GB, params_b, option, config, catalog model for the shape)
        (LLAMA_FACTORY, "7B full, bf16 mixed (AdamW)", 120, 7, "full_finetuning", MemoryConfig("bf16", **ck), M7),
        (LLAMA_FACTORY, "70B full, bf16 mixed (AdamW)", 1200, 70, "full_finetuning", MemoryConfig("bf16", **ck),
         "Llama-3.1-70B"),
        (LLAMA_FACTORY, "7B full, pure_bf16", 60, 7, "full_finetuning", MemoryConfig("bf16", "pure-bf16-adamw", True),
         M7),
        (LLAMA_FACTORY, "70B full, pure_bf16", 600, 70, "full_finetuning",
         MemoryConfig("bf16", "pure-bf16-adamw", True), "Llama-3.1-70B"),
        (LLAMA_FACTORY, "7B LoRA, 16-bit", 16, 7, "lora", MemoryConfig("bf16", **ck), M7),
        (LLAMA_FACTORY, "70B LoRA, 16-bit", 160, 70, "lora", MemoryConfig("bf16", **ck), "Llama-3.1-70B"),
        (LLAMA_FACTORY, "7B QLoRA, 8-bit", 10, 7, "lora", MemoryConfig("8-bit", **ck), M7),
        (LLAMA_FACTORY, "70B QLoRA, 8-bit", 80, 70, "lora", MemoryConfig("8-bit", **ck), "Llama-3.1-70B"),
        (LLAMA_FACTORY, "7B QLoRA, 4-bit", 6, 7, "lora", MemoryConfig("4-bit", **ck), M7),
        (LLAMA_FACTORY, "70B QLoRA, 4-bit", 48, 70, "lora", MemoryConfig("4-bit", **ck), "Llama-3.1-70B"),
        (PEFT_README, "T0_3B (3B) full fine-tuning, fp32", 47.14, 3, "full_finetuning", MemoryConfig("fp32"), None),
        (PEFT_README, "T0_3B (3B) LoRA, fp32", 14.4, 3, "lora", MemoryConfig("fp32"), None),
        (PEFT_README, "bloomz-7b1 (7B) LoRA, fp32", 32, 7, "lora", MemoryConfig("fp32"), None),
        (PEFT_README, "mt0-xxl (12B) LoRA, fp32", 56, 12, "lora", MemoryConfig("fp32"), None),
        (QLORA, "65B QLoRA (4-bit), upper bound", 48, 65, "lora", MemoryConfig("4-bit", **ck), None),
    ]
    rows = []
    for source, case, gb, params_b, option, config, name in cases:
        pred = _plan(params_b, option, config, name)
        rows.append({"source": source, "case": case, "measured_gb": float(gb), "predicted_gb": pred,
                     "ratio": gb / pred})
    return rows


def main() -> None:
    print(f"{'case':<46}{'published/measured':>20}{'predicted':>12}{'ratio':>8}  source")
    for r in published() + ours():
        extra = (f"; against-run peak = its linear probe's in {r['against_peak_is_probe_peak']}/"
                 f"{r['pairs_with_probe']} pairs with a probe run; own peak range {r['own_peak_range_gb']:.2f} GB"
                 if "pairs" in r else "")
        ratio = f"{r['ratio']:>8.2f}" if r["ratio"] is not None else f"{'~0':>8}"
        print(f"{r['case']:<46}{r['measured_gb']:>18.2f}GB{r['predicted_gb']:>10.2f}GB{ratio}  {r['source']}{extra}")


if __name__ == "__main__":
    main()
