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
* Architecture: a profile that names a catalog model (data/models.yaml) uses that model's documented
  layers and hidden size; otherwise, from N alone: N ~ 12 L h^2 with L ~ h/128 (the depth/width ratio
  of Llama-style models).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from advisor import options
from advisor.models import get_model
from advisor.options import BATCH, EPOCHS, LORA_RANK, OPTIONS, VIRTUAL_TOKENS
from advisor.profile import ProjectProfile
from advisor.table import DecisionTable, load_table

SOFT_PROMPT_TOKENS = VIRTUAL_TOKENS
PREFIX_TOKENS = VIRTUAL_TOKENS
LORA_TARGETS = len(options.LORA_TARGETS)
# Provider fine-tuning is billed per training token (tokens x epochs) at the provider's price per million tokens.
# No default price: prices change and differ by provider and model, and no number is typed in here without a
# source — the estimate gives the training tokens, and dollars once a price is passed.
PROVIDER_PRICE_PER_M_TOKENS: float | None = None
# Bytes per weight for each storage precision of the (frozen) weights.
PRECISION_BYTES = {"fp32": 4.0, "bf16": 2.0, "8-bit": 1.0, "4-bit": 0.5}
INSTRUCTION_TOKENS = 50
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
    # Provider fine-tuning (model_access=api_with_finetuning) is billed per training token, not in GPU memory.
    training_tokens: int = 0
    provider_dollars: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def architecture(params: float) -> tuple[int, int]:
    """(hidden size, layers) of a Llama-style model with `params` parameters."""
    hidden = max(64, round((params * 128 / 12) ** (1 / 3)))
    return hidden, max(1, round(hidden / 128))


def model_shape(profile: ProjectProfile) -> tuple[int, int]:
    """(hidden size, layers): the named model's documented shape (data/models.yaml), else the guess from N."""
    if profile.model is not None:
        spec = get_model(profile.model)
        return spec.hidden_size, spec.layers
    return architecture(profile.model_params_b * 1e9)


def available_memory_gb(profile: ProjectProfile, table: DecisionTable | None = None) -> float:
    """GPU memory to train in: `gpu_memory_gb`, else the compute level's assumption."""
    table = table or load_table()
    return profile.gpu_memory_gb if profile.gpu_memory_gb is not None else float(table.compute_memory_gb[profile.compute])


def estimate(profile: ProjectProfile, option: str, table: DecisionTable | None = None) -> CostEstimate:
    """Cost of `option` for `profile` (see the module docstring for every formula)."""
    options.get(option)  # an unknown option is an error, never priced as another one
    table = table or load_table()
    n = profile.model_params_b * 1e9
    hidden, layers = model_shape(profile)
    seq = profile.avg_input_tokens + LABEL_TOKENS
    tokens = profile.labeled_examples * EPOCHS * seq
    tflops = float(table.compute_tflops[profile.compute]) * 1e12

    def activations(length: int) -> float:
        return 34.0 * BATCH * length * hidden * layers

    shots = options.demonstrations(profile.labeled_examples)  # the recipe's prompt uses the same number
    if profile.model_access == "api_with_finetuning" and options.get(option).trains:
        # The provider trains and hosts: no GPU memory or weights of ours; the bill is tokens x epochs x price.
        bill = provider_finetuning_cost(profile.labeled_examples, seq)
        return CostEstimate(option, 0, 0.0, 0.0, 0.0, 0.0, 0, 0,
                            f"provider fine-tuning: {int(tokens):,} training tokens ({EPOCHS} epochs); multiply by "
                            "your provider's price per 1M training tokens", int(tokens), bill["dollars"])
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
    elif option == "lora":
        trainable = layers * LORA_TARGETS * 2 * hidden * LORA_RANK
        length = seq
        flops = 4 * n * tokens
        extra, note = 0, f"rank {LORA_RANK} on query/value; merged into the weights for serving"
    else:
        raise options.UnknownOption(f"option={option!r} has no cost formula (add one here with its registry entry)")
    act = activations(length)
    mem = (2 * n + 16 * trainable + act) / GB
    mem4 = (0.5 * n + 16 * trainable + act) / GB
    return CostEstimate(option, int(trainable), flops, flops / tflops / 3600, mem, mem4, int(trainable * 4), extra,
                        note + "; frozen bf16 backbone (4-bit QLoRA-style loading lowers the floor)")


def estimate_all(profile: ProjectProfile, table: DecisionTable | None = None) -> dict[str, CostEstimate]:
    """`estimate` for every option."""
    return {o: estimate(profile, o, table) for o in OPTIONS}


@dataclass(frozen=True)
class MemoryBreakdown:
    """Training memory of one option in bytes, by component (a stacked bar in the app)."""

    option: str
    precision: str
    weights: float
    gradients: float
    optimizer: float
    activations: float

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer + self.activations

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total": self.total}


def trainable_params(option: str, params: float, hidden: int, layers: int) -> float:
    """Trainable parameters of `option` for a model of this shape (the same counts `estimate` prices)."""
    options.get(option)
    if option == "prompt_engineering":
        return 0.0
    if option == "full_finetuning":
        return params
    if option == "prompt_tuning":
        return SOFT_PROMPT_TOKENS * hidden
    if option == "prefix_tuning":
        return 2 * layers * PREFIX_TOKENS * hidden
    if option == "lora":
        return layers * LORA_TARGETS * 2 * hidden * LORA_RANK
    raise options.UnknownOption(f"option={option!r} has no trainable-parameter count")


def memory_breakdown(option: str, params: float, *, precision: str = "bf16", batch: int = BATCH, seq_len: int = 512,
                     hidden: int | None = None, layers: int | None = None) -> MemoryBreakdown:
    """Weights + gradients + AdamW state + activations for training `option` on a `params`-parameter model.

    Weights are stored at `precision` (4-bit = QLoRA's NF4, Dettmers et al. 2023). Trainable parameters carry
    a gradient in the weights' dtype (fp32 for 8/4-bit bases, whose adapters train in fp32/bf16) and 12 bytes of
    AdamW state (fp32 master copy + two moments) unless the weights are fp32 themselves, when the master copy is
    the weight (8 bytes: two moments). Activations: 34 x batch x seq x hidden bytes per layer (Korthikanti et al.
    2022) at 16-bit, doubled for fp32; prompting stores none (inference only, no backward pass).
    """
    if precision not in PRECISION_BYTES:
        raise ValueError(f"precision={str(precision)[:20]!r} (allowed: {', '.join(PRECISION_BYTES)})")
    for name, v in (("batch", batch), ("seq_len", seq_len)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}={v!r} (allowed: an integer >= 1)")
    if hidden is None or layers is None:
        hidden, layers = architecture(params)
    trainable = trainable_params(option, params, hidden, layers)
    wbytes = PRECISION_BYTES[precision]
    if option == "full_finetuning" and precision in ("8-bit", "4-bit"):
        raise ValueError(f"precision={precision!r} for full_finetuning (allowed: fp32, bf16): quantised weights "
                         "cannot be updated directly")
    # Trainable parameters outside a frozen base (adapters, prompts) are extra weights in 16/32-bit.
    extra_weights = 0.0 if option == "full_finetuning" else trainable * (4.0 if wbytes == 4.0 else 2.0)
    grad_bytes = 4.0 if wbytes == 4.0 else 2.0
    opt_bytes = 8.0 if wbytes == 4.0 else 12.0
    act = 0.0 if option == "prompt_engineering" else 34.0 * batch * seq_len * hidden * layers * (2.0 if wbytes == 4.0 else 1.0)
    if option == "prompt_tuning":
        act *= (seq_len + SOFT_PROMPT_TOKENS) / seq_len
    return MemoryBreakdown(option, precision, params * wbytes + extra_weights, trainable * grad_bytes,
                           trainable * opt_bytes, act)


def provider_finetuning_cost(labeled_examples: int, tokens_per_example: int, *, epochs: int = EPOCHS,
                             price_per_million: float | None = PROVIDER_PRICE_PER_M_TOKENS) -> dict[str, float | None]:
    """A provider's fine-tuning bill: training tokens = examples x tokens x epochs, priced per million tokens."""
    for name, v in (("labeled_examples", labeled_examples), ("tokens_per_example", tokens_per_example), ("epochs", epochs)):
        if not isinstance(v, int) or v < 0:
            raise ValueError(f"{name}={v!r} (allowed: an integer >= 0)")
    if price_per_million is not None and (not isinstance(price_per_million, (int, float)) or not price_per_million >= 0):
        raise ValueError(f"price_per_million={price_per_million!r} (allowed: a number >= 0, in dollars, or null)")
    tokens = labeled_examples * tokens_per_example * epochs
    return {"training_tokens": float(tokens), "epochs": float(epochs),
            "price_per_million": None if price_per_million is None else float(price_per_million),
            "dollars": None if price_per_million is None else tokens / 1e6 * price_per_million}
