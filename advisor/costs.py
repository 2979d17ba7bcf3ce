"""Cost estimates per option: training FLOPs, memory, storage, extra inference tokens.

Formulas (N = parameters, T = training tokens = examples x epochs x tokens/example):

* Full fine-tuning FLOPs ~ 6 N T: forward 2 N T + backward 4 N T (Kaplan et al. 2020).
* PEFT FLOPs ~ 4 N T: the forward pass and the backward pass through the
  activations are still needed (gradients must reach the adapter / the soft
  prompt at the input), but the 2 N T for weight gradients of frozen weights is
  skipped. Prompt tuning also lengthens every sequence by its virtual tokens.
* Training memory, full FT with mixed-precision AdamW: 16 bytes/parameter
  (2 bf16 weights + 2 grads + 12 fp32 master weights and Adam moments;
  Rajbhandari et al. 2020, ZeRO) plus activations.
* PEFT memory: frozen bf16 weights (2 bytes/param; 0.5 with 4-bit QLoRA,
  Dettmers et al. 2023) + 16 bytes per trainable parameter + activations.
* Activations: ~34 bytes x batch x seq x hidden per layer in bf16 without
  recomputation (Korthikanti et al. 2022), attention-score term ignored.
* Storage per task: a full bf16 copy (2 N bytes) vs the trainable parameters
  in fp32 (peft's default save dtype for a float32 base) for adapters/prompts.
* Architecture from N alone: N ~ 12 L h^2 with L ~ h/128 (the depth/width ratio
  of Llama-style models), used only when the real shape is unknown.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from advisor.profile import OPTIONS, ProjectProfile
from advisor.table import DecisionTable, load_table

EPOCHS = 3
BATCH = 8
SOFT_PROMPT_TOKENS = 20
PREFIX_TOKENS = 20
LORA_RANK = 8
LORA_TARGETS = 2  # query and value projections (Hu et al. 2022)
INSTRUCTION_TOKENS = 50
MAX_SHOTS = 8
LABEL_TOKENS = 5
GB = 1e9


@dataclass(frozen=True)
class CostEstimate:
    """Estimated cost of one option for one task."""

    option: str
    trainable_params: int
    train_flops: float
    train_gpu_hours: float
    train_memory_gb: float
    min_train_memory_gb: float
    storage_bytes_per_task: int
    extra_inference_tokens: int
    notes: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def architecture(params: float) -> tuple[int, int]:
    """(hidden size, layers) of a Llama-style model with `params` parameters."""
    hidden = max(64, round((params * 128 / 12) ** (1 / 3)))
    return hidden, max(1, round(hidden / 128))


def available_memory_gb(profile: ProjectProfile, table: DecisionTable | None = None) -> float:
    """GPU memory to train in: `gpu_memory_gb`, else the compute level's assumption."""
    table = table or load_table()
    return profile.gpu_memory_gb if profile.gpu_memory_gb is not None else float(table.compute_memory_gb[profile.compute])


def estimate(profile: ProjectProfile, option: str, table: DecisionTable | None = None) -> CostEstimate:
    """Cost of `option` for `profile` (see the module docstring for every formula)."""
    if option not in OPTIONS:
        raise ValueError(f"option={option!r} (allowed: {', '.join(OPTIONS)})")
    table = table or load_table()
    n = profile.model_params_b * 1e9
    hidden, layers = architecture(n)
    seq = profile.avg_input_tokens + LABEL_TOKENS
    tokens = profile.labeled_examples * EPOCHS * seq
    tflops = float(table.compute_tflops[profile.compute]) * 1e12

    def activations(length: int) -> float:
        return 34.0 * BATCH * length * hidden * layers

    shots = min(MAX_SHOTS, profile.labeled_examples)
    if option == "prompt_engineering":
        extra = INSTRUCTION_TOKENS + shots * seq
        # Inference only: bf16 weights + the K/V cache of one request (2 tensors x layers x tokens x hidden x 2 bytes).
        mem = (2 * n + 4 * layers * (seq + extra) * hidden) / GB
        return CostEstimate(option, 0, 0.0, 0.0, mem, mem, extra * 4, extra,
                            f"no training; an instruction plus {shots} demonstrations in every request")
    if option == "full_finetuning":
        flops = 6 * n * tokens
        mem = (16 * n + activations(seq)) / GB
        return CostEstimate(option, int(n), flops, flops / tflops / 3600, mem, mem, int(2 * n), 0,
                            f"all weights, AdamW, {EPOCHS} epochs; a full bf16 copy per task")
    if option == "prompt_tuning":
        trainable = SOFT_PROMPT_TOKENS * hidden
        length = seq + SOFT_PROMPT_TOKENS
        flops = 4 * n * tokens * length / seq
        extra, note = SOFT_PROMPT_TOKENS, f"{SOFT_PROMPT_TOKENS} virtual tokens at the input"
    elif option == "prefix_tuning":
        trainable = 2 * layers * PREFIX_TOKENS * hidden
        length = seq
        flops = 4 * n * tokens
        extra, note = PREFIX_TOKENS, f"{PREFIX_TOKENS} key/value positions at every layer"
    else:  # lora
        trainable = layers * LORA_TARGETS * 2 * hidden * LORA_RANK
        length = seq
        flops = 4 * n * tokens
        extra, note = 0, f"rank {LORA_RANK} on query/value; merged into the weights for serving"
    act = activations(length)
    mem = (2 * n + 16 * trainable + act) / GB
    mem4 = (0.5 * n + 16 * trainable + act) / GB
    return CostEstimate(option, int(trainable), flops, flops / tflops / 3600, mem, mem4, int(trainable * 4), extra,
                        note + "; frozen bf16 backbone (4-bit QLoRA-style loading lowers the floor)")


def estimate_all(profile: ProjectProfile, table: DecisionTable | None = None) -> dict[str, CostEstimate]:
    """`estimate` for every option."""
    return {o: estimate(profile, o, table) for o in OPTIONS}
