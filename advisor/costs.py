"""Cost estimates per option: training FLOPs, memory, storage, extra inference tokens.

Formulas (N = parameters, T = training tokens = rows trained on x epochs x tokens/example; the rows are the
labelled examples less the validation split, `training_rows`):

* Full fine-tuning FLOPs ~ 6 N T: forward 2 N T + backward 4 N T (Kaplan et al. 2020).
* PEFT FLOPs ~ 4 N T: the forward pass and the backward pass through the
  activations are still needed (gradients must reach the adapter / the soft
  prompt at the input), but the 2 N T for weight gradients of frozen weights is
  skipped. Prompt tuning also lengthens every sequence by its virtual tokens.
* Memory (issue 22): `plan_memory` sums, per GPU, the weights at their precision, gradients, optimizer state and
  activations for training, and the serving weights + KV cache for every option (constants and sources above
  each of them below). `feasibility` walks `ladder(option)` -- standard configurations, cheapest change first
  (bf16; + gradient checkpointing; 8-bit optimizer or 8/4-bit frozen base = QLoRA; pure bf16; ZeRO-3 when
  sharding across several GPUs: a frozen base at each precision before a coarser one, full fine-tuning after its
  optimizer rungs) -- and names the first that fits. `CostEstimate.train_memory_gb` is that
  configuration's per-GPU total (the smallest one's when none fits); `min_train_memory_gb` the smallest's.
* Training FLOPs add one forward pass (2 N T) when the chosen configuration recomputes activations.
* Storage per task: a full bf16 copy (2 N bytes) vs the trainable parameters
  in fp32 (peft's default save dtype for a float32 base) for adapters/prompts.
* Architecture: a profile that names a catalog model (data/models.yaml) uses that model's documented
  layers and hidden size; otherwise, from N alone: N ~ 12 L h^2 with L ~ h/128 (the depth/width ratio
  of Llama-style models).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from advisor import options
from advisor.models import get_model
from advisor.options import (BATCH, EPOCHS, LORA_RANK, MAX_STEPS, MIN_STEPS, OPTIONS, PROTOCOL_EPOCHS, STEP_BATCH,
                             VALIDATION_MAX, VIRTUAL_TOKENS)
from advisor.profile import ProjectProfile
from advisor.table import DecisionTable, load_table

SOFT_PROMPT_TOKENS = VIRTUAL_TOKENS
PREFIX_TOKENS = VIRTUAL_TOKENS
LORA_TARGETS = len(options.LORA_TARGETS)
# Provider fine-tuning is billed per training token (tokens x epochs) at the provider's price per million tokens:
# the profile's price_per_m_training_tokens, else data/prices.yaml's default entry (source URL and date read).
# `provider_finetuning_cost` itself assumes no price: without one it returns tokens only.
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
    # The memory answer (one computation: the table, the chart and the infeasibility reason all read these).
    feasible_memory: bool = True
    configuration: str = ""
    memory_reason: str = ""
    inference_memory_gb: float = 0.0
    memory_plan: dict[str, Any] | None = None
    gpus: int = 1  # the GPUs training runs on in parallel (advisor.costs.gpu_count)
    # The labelled examples the training figures (FLOPs, hours) assume: the rows it trains on (`rows`), or, under
    # budget_gpu_hours, as many as the budget pays for (`budget_examples`, which may exceed them; None with
    # no budget or nothing of ours to train). GPU-hours grow linearly with examples x epochs, so that count is the
    # same for every number of examples with this model and compute: the counterfactuals read it as it is.
    examples: int = 0
    budget_examples: int | None = None
    # The rows a trained option learns from: the user's examples less the validation split it holds out
    # (training_rows; the recipe's split). The figures price these, not all the examples: the table said "trains on
    # 8,000" beside a recipe that trained on 7,744 (a review, 2026-12-05). A provider trains on every row it is sent.
    rows: int = 0
    # GPU-hours per training sequence (one example, one pass): what the recipe's steps are priced at.
    hours_per_sequence: float = 0.0
    # The training's money, (low, high) dollars: its GPU-hours at `gpu_hour_price` (None on the user's own laptop,
    # through an API, or with nothing to train).
    train_dollars: tuple[float, float] | None = None

    @property
    def train_hours(self) -> float:
        """Wall-clock training time: the GPU-hours spread over the GPUs that train in parallel."""
        return self.train_gpu_hours / max(self.gpus, 1)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "train_hours": self.train_hours}


def architecture(params: float) -> tuple[int, int]:
    """(hidden size, layers) of a Llama-style model with `params` parameters."""
    hidden = max(64, round((params * 128 / 12) ** (1 / 3)))
    return hidden, max(1, round(hidden / 128))


def model_shape(profile: ProjectProfile) -> tuple[int, int]:
    """(hidden size, layers): the named model's documented shape (data/models.yaml), else the guess from N."""
    if profile.model is not None:
        spec = get_model(profile.model)
        return spec.hidden_size, spec.layers
    return architecture(profile.params_b * 1e9)


def available_memory_gb(profile: ProjectProfile, table: DecisionTable | None = None) -> float:
    """Memory of one GPU to train in: `gpu_memory_gb`, else the compute level's assumption."""
    table = table or load_table()
    return profile.gpu_memory_gb if profile.gpu_memory_gb is not None else float(table.compute_memory_gb[profile.compute])


# A job can use about 92% of a GPU's memory: the rest holds the CUDA context, allocator fragmentation and temporary
# buffers that the sums below do not count. vLLM, the most used open serving engine, lets its model executor take
# that share by default (vllm-project/vllm, vllm/config/cache.py@002f10e, `gpu_memory_utilization` default 0.92;
# 0.90 in earlier releases, vllm/engine/arg_utils.py@99d7eb5). Without it, full fine-tuning of a 13B model "fit"
# with 78.3 GB of an 80 GB GPU.
USABLE_SHARE = 0.92


def usable_memory_gb(profile: ProjectProfile, table: DecisionTable | None = None) -> float:
    """What a job can fill on one GPU: USABLE_SHARE of `available_memory_gb` (what every fit is judged against)."""
    return USABLE_SHARE * available_memory_gb(profile, table)


def gpu_count(profile: ProjectProfile, table: DecisionTable | None = None) -> int:
    """How many GPUs a job uses: `num_gpus`, else the compute level's (a multi-GPU node, compute=high: 8) — at most
    STEP_BATCH, since the recipe's global batch of 16 keeps at most 16 data-parallel processes busy (one example
    each): at 32 GPUs the time was divided by 32 beside a recipe whose 32 processes took 1 example each, 32 per step
    (a review, 2026-12-05)."""
    return min(gpus_held(profile, table), STEP_BATCH)


def gpus_held(profile: ProjectProfile, table: DecisionTable | None = None) -> int:
    """The GPUs the team has (`num_gpus`, else the compute level's), all of which can serve: a training job uses at
    most STEP_BATCH of them (`gpu_count`), serving many tasks may use every one (a review, 2026-12-05: 32 GPUs were
    said to hold 1,177.6 GB, the memory of 16)."""
    if profile.num_gpus is not None:
        return profile.num_gpus
    table = table or load_table()
    return int((table.compute_gpus or {}).get(profile.compute, 1))


def sharded(profile: ProjectProfile, table: DecisionTable | None = None) -> bool:
    """Whether the ladder may shard (ZeRO-3 / FSDP): more than one GPU and sharding not turned off."""
    return profile.sharding != "none" and gpu_count(profile, table) > 1


# ---- memory as a sum per configuration (issue 22) ------------------------------------------------------------
# Optimizer state per trainable parameter, bytes, on top of the weights and their gradient:
# * adamw: fp32 master copy 4 + two fp32 moments 8 = 12 with 16-bit weights (Rajbhandari et al. 2020, ZeRO:
#   "16 bytes" per parameter for mixed-precision Adam = 2 + 2 + 12); 8 with fp32 weights (the weight is the master).
# * adamw-8bit: the two moments in 8 bits, 2 bytes instead of 8 (Dettmers et al. 2022, "8-bit Optimizers via
#   Block-wise Quantization"), fp32 master kept: 4 + 2 = 6.
# * pure-bf16 adamw-8bit: no fp32 master (LLaMA-Factory's `pure_bf16` row, README "Hardware Requirement", 8x GB
#   for full fine-tuning = 2 weights + 2 grads + 4 bf16 moments), with 8-bit moments: 2 bytes.
# * pure-bf16-adamw: bf16 moments, no master copy: 4 bytes (LLaMA-Factory's pure_bf16 row: 2 + 2 + 4 = 8x GB).
OPTIMIZER_BYTES = {"adamw": 12.0, "adamw-8bit": 6.0, "pure-bf16-adamw": 4.0, "pure-bf16-adamw-8bit": 2.0}
# Activations per layer and token without recomputation: 34 x hidden bytes at 16-bit (Korthikanti et al. 2022,
# eq. 1 without the attention-score term, which FlashAttention does not store). With full recomputation
# (gradient checkpointing) each layer keeps only its 16-bit input, 2 x hidden bytes, and one layer is recomputed
# at a time (Korthikanti et al. 2022, section 4: "2sbhL").
ACT_BYTES, CKPT_BYTES = 34.0, 2.0
# QLoRA's NF4 with double quantisation stores 4 bits per weight plus 0.127 bits of quantisation constants
# (Dettmers et al. 2023, section 3 "Double Quantization": 32/64 = 0.5 bits cut to 8/64 + 32/(64 x 256); the figure
# read in several secondary copies of the paper via find_string, not in the paper's own PDF). Only Linear layers are
# quantised: the token embedding (an nn.Embedding) and the output head stay 16-bit -- 2 x vocab x hidden
# parameters for an untied model, counted when the catalog gives the vocabulary.
QUANT_BYTES = {"4-bit": 4.127 / 8, "8-bit": 1.0}
# Our CPU benchmark trains in fp32 (bench/train.py: autocast off on CPU): every activation doubles.


@dataclass(frozen=True)
class MemoryConfig:
    """One standard way to run an option: weight precision, optimizer, checkpointing, sharding."""

    precision: str  # fp32 | bf16 | 8-bit | 4-bit (the frozen or trained weights)
    optimizer: str = "adamw"
    checkpointing: bool = False
    sharded: bool = False  # ZeRO-3 / FSDP across the profile's GPUs

    def describe(self, option: str) -> str:
        if option == "prompt_engineering":
            return f"{self.precision} weights" + (" split over the GPUs (tensor parallel)" if self.sharded else "")
        parts = []
        if option == "lora" and self.precision == "4-bit":
            parts.append("QLoRA (4-bit base, bf16 adapters)")
        elif self.precision in ("8-bit", "4-bit"):
            parts.append(f"{self.precision} frozen weights")
        elif option == "full_finetuning" and self.optimizer.startswith("pure-bf16"):
            pass  # the optimizer's name says the weights' dtype
        else:
            parts.append(f"{self.precision} weights")
        if option == "full_finetuning" and self.optimizer != "adamw":
            parts.append({"adamw-8bit": "8-bit (or paged 8-bit) AdamW",
                          "pure-bf16-adamw": "pure-bf16 weights and AdamW state",
                          "pure-bf16-adamw-8bit": "pure-bf16 weights with 8-bit AdamW"}[self.optimizer])
        if self.checkpointing:
            parts.append("gradient checkpointing")
        if self.sharded:
            parts.append("ZeRO-3/FSDP sharding")
        return " and ".join([", ".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else parts[0]


@dataclass(frozen=True)
class MemoryPlan:
    """Memory of one option under one configuration, per GPU, by component (bytes); serving memory beside it."""

    option: str
    config: MemoryConfig
    weights: float
    gradients: float
    optimizer: float
    activations: float
    inference_weights: float
    kv_cache: float
    gpus: int

    @property
    def train_total(self) -> float:
        return self.weights + self.gradients + self.optimizer + self.activations

    @property
    def inference_total(self) -> float:
        return self.inference_weights + self.kv_cache

    @property
    def total(self) -> float:
        """What must fit on one GPU: training memory for trained options, serving memory for every option."""
        return max(self.train_total, self.inference_total)

    def to_dict(self) -> dict[str, Any]:
        c = self.config  # not dataclasses.asdict: its deep copy was a sixth of estimate()'s time
        return {"option": self.option, "configuration": c.describe(self.option), "precision": c.precision,
                # The optimizer's name beside its bytes ("optimizer"): one key held both, and the name was lost.
                "optimizer_name": c.optimizer, "checkpointing": c.checkpointing, "sharded": c.sharded,
                "weights": self.weights, "gradients": self.gradients, "optimizer": self.optimizer,
                "activations": self.activations, "train_total": self.train_total,
                "inference_weights": self.inference_weights, "kv_cache": self.kv_cache,
                "inference_total": self.inference_total, "gpus": self.gpus}


def kv_cache_bytes(layers: int, kv_width: int, context: int, batch: int = 1, bytes_per: float = 2.0) -> float:
    """K and V for every layer and token: 2 x layers x context x kv_width x 2 bytes (bf16). kv_width is
    kv_heads x head_dim: the hidden size under multi-head attention, a fraction of it under grouped-query
    attention (Llama-3.1-70B: 8 key/value heads of 64, an eighth; `ModelSpec.kv_width`, read with a source). A
    model given only by its size gets the hidden size: the multi-head upper bound."""
    return 2.0 * layers * context * kv_width * bytes_per * batch


def plan_memory(option: str, params: float, hidden: int, layers: int, config: MemoryConfig, *, batch: int,
                seq_len: int, context: int, gpus: int = 1, vocab: int | None = None,
                rank: int = LORA_RANK, serve_as_trained: bool = False, lm_loss: bool = True,
                kv_width: int | None = None, q_width: int | None = None) -> MemoryPlan:
    """The sum for one option and configuration (every term in the module text above its constants). `lm_loss`:
    the loss reads the vocabulary's logits at every position (a causal-LM objective: generation, the pilot); the
    recipe's classifier (SEQ_CLS) reads a head num_classes wide on the last token instead. `kv_width`: the KV
    cache's values per token and layer (None: the hidden size, the multi-head upper bound)."""
    options.get(option)
    trainable = trainable_params(option, params, hidden, layers, rank, kv_width, q_width)
    wb = PRECISION_BYTES[config.precision]
    embed = 2.0 * vocab * hidden if vocab else 0.0
    # Quantised bases: Linear weights at QUANT_BYTES, the embedding and head at 2 bytes.
    base = (params - embed) * QUANT_BYTES[config.precision] + embed * 2.0 if config.precision in QUANT_BYTES \
        else params * wb
    shard = gpus if config.sharded and gpus > 1 else 1
    # Serving splits the weights over the GPUs (tensor/pipeline parallel, e.g. vLLM) only in a split configuration: a
    # 13B model that fits one GPU is served on one (8 replicas on a node), not shown as 3.3 GB per GPU.
    serve_split = shard
    # A team serves an fp32-trained model in bf16; the pilot runs it as loaded (`serve_as_trained`: fp32 on a CPU).
    infer_w = (base if config.precision != "fp32" or serve_as_trained else params * 2.0) / serve_split
    extra = 0.0 if option == "prompt_engineering" else {"prompt_tuning": SOFT_PROMPT_TOKENS,
                                                          "prefix_tuning": PREFIX_TOKENS}.get(option, 0)
    kv = kv_cache_bytes(layers, kv_width or hidden, context + extra) / serve_split
    if option == "prompt_engineering":
        return MemoryPlan(option, config, 0.0, 0.0, 0.0, 0.0, infer_w, kv, gpus)
    if option == "full_finetuning":
        weights, grads = params * wb, params * wb
        opt = trainable * (OPTIMIZER_BYTES[config.optimizer] - (4.0 if wb == 4.0 else 0.0))
    else:
        # Frozen base at its precision; adapters / prompts in bf16 with bf16 gradients and AdamW (16 bytes each,
        # QLoRA's "bf16 adapters"), fp32 in fp32 training (4 + 4 + 8).
        weights = base + trainable * (4.0 if wb == 4.0 else 2.0)
        grads = trainable * (4.0 if wb == 4.0 else 2.0)
        opt = trainable * (8.0 if wb == 4.0 else 12.0)
    length = seq_len + (SOFT_PROMPT_TOKENS if option == "prompt_tuning" else 0)
    scale = 2.0 if wb == 4.0 else 1.0
    per_token = (CKPT_BYTES * layers + ACT_BYTES) if config.checkpointing else ACT_BYTES * layers
    act = per_token * batch * length * hidden * scale
    if vocab and lm_loss:
        # fp32 logits and their gradient for the loss. Not for a classification head: charged to one, Llama-3.1-8B
        # (128,256 tokens) at 2,000-token inputs added 16.5 GB, and LoRA did not fit 24 GB when named but fitted
        # when given as 8.03B (a review, 2026-12-05).
        act += 8.0 * batch * length * vocab
    return MemoryPlan(option, config, weights / shard, grads / shard, opt / shard, act, infer_w, kv, gpus)


def ladder(option: str, precision: str = "auto", sharded: bool = False) -> list[MemoryConfig]:
    """The standard configurations of `option`, cheapest change first: what a team tries, in order, to fit."""
    return list(_ladder(option, precision, sharded))


@functools.lru_cache(maxsize=256)
def _ladder(option: str, precision: str, sharded: bool) -> tuple[MemoryConfig, ...]:
    # A pure function of three short strings, asked ~25 times per answer (every option, every counterfactual).
    options.get(option)
    if option == "prompt_engineering":
        steps = [MemoryConfig(p) for p in ("bf16", "8-bit", "4-bit")]
    elif option == "full_finetuning":
        steps = [MemoryConfig("bf16"), MemoryConfig("bf16", checkpointing=True),
                 MemoryConfig("bf16", "adamw-8bit", True), MemoryConfig("bf16", "pure-bf16-adamw-8bit", True)]
        if precision == "fp32":
            steps = [MemoryConfig("fp32"), MemoryConfig("fp32", checkpointing=True)]
    elif option == "prefix_tuning":
        # No gradient checkpointing: PEFT's prefix tuning passes its prefix as a transformers Cache, and PEFT refuses
        # a base with checkpointing on ("PREFIX_TUNING does not work with gradient checkpointing", peft 0.21.2
        # peft_model.py `_setup_prompt_encoder`; huggingface/peft PR #2191). A rung with it would be a recipe that
        # stops at its first line (a review, 2026-12-05).
        steps = [MemoryConfig(p) for p in ("bf16", "8-bit", "4-bit")]
    else:
        steps = [MemoryConfig("bf16"), MemoryConfig("bf16", checkpointing=True),
                 MemoryConfig("8-bit", checkpointing=True), MemoryConfig("4-bit", checkpointing=True)]
    if precision != "auto":
        if option == "full_finetuning" and precision in ("8-bit", "4-bit"):
            steps = []  # quantised weights cannot be updated directly: full fine-tuning has no such configuration
        else:
            steps = [MemoryConfig(precision, c.optimizer, c.checkpointing) for c in steps
                     if c.precision == precision or (precision == "fp32" and option != "full_finetuning"
                                                     and c.precision == "bf16")] or [MemoryConfig(precision)]
    if sharded and option == "prompt_engineering":
        # Serving only: each precision on one GPU, then split over the node's GPUs, before a coarser precision (a
        # team with 8 GPUs serves a 70B model in bf16 over several of them rather than quantising it to fit one).
        steps = [x for c in steps for x in (c, MemoryConfig(c.precision, c.optimizer, c.checkpointing, True))]
    elif sharded and option != "full_finetuning":
        # A frozen base over several GPUs: each precision unsharded, then sharded (ZeRO-3 / FSDP), before a coarser
        # one — a team with 8 GPUs trains LoRA on a 70B model in bf16 over them (17.5 GB of weights each) rather
        # than quantising the base to fit each GPU whole (8-bit: 71.2 GB of 73.6 usable, LLM.int8's slower matmuls).
        by_precision: dict[str, list[MemoryConfig]] = {}
        for c in steps:
            by_precision.setdefault(c.precision, []).append(c)
        steps = [x for group in by_precision.values()
                 for x in group + [MemoryConfig(c.precision, c.optimizer, c.checkpointing, True) for c in group]]
    elif sharded:
        # Full fine-tuning: mixed precision sharded over the GPUs before dropping the fp32 master copy (pure bf16
        # rounds away updates under ~1/256 of a weight, which the recipe warns about): with 8 x 80 GB an 8B model
        # trains sharded with AdamW rather than in pure bf16 on one GPU (a review, 2026-12-04).
        mixed = [c for c in steps if not c.optimizer.startswith("pure")]
        pure = [c for c in steps if c.optimizer.startswith("pure")]
        steps = [x for group in (mixed, pure)
                 for x in group + [MemoryConfig(c.precision, c.optimizer, c.checkpointing, True) for c in group]]
    return tuple(steps)


@dataclass(frozen=True)
class Feasibility:
    """The cheapest standard configuration that fits, or the smallest one and by how much it misses."""

    option: str
    fits: bool
    plan: MemoryPlan
    usable_gb: float  # per GPU: USABLE_SHARE of its memory
    tried: int
    blocked: str = ""  # a configuration the profile asks for that the option cannot use at all
    floor_gb: float = 0.0  # the smallest configuration's per-GPU total: the floor no setting goes below
    micro_batch: int = 0  # the batch per GPU the plan assumes: `batch`, or a smaller one that fits
    batch: int = 0  # one GPU's batch per step (gpu_batch: the profile's, at most its share of the global batch)

    @property
    def configuration(self) -> str:
        smaller = (f" at micro-batch {self.micro_batch} (gradients accumulated to the same steps)"
                   if 0 < self.micro_batch < self.batch else "")
        return self.plan.config.describe(self.option) + smaller

    @property
    def needed_gb(self) -> float:
        return self.plan.total / GB

    def reason(self) -> str:
        if self.blocked:
            return self.blocked
        what = "serve" if self.plan.inference_total >= self.plan.train_total else "train"
        usable = f"{self.usable_gb:,.1f} GB usable per GPU ({USABLE_SHARE:.0%} of {self.gpu_gb:,.0f} GB)"
        if self.fits:
            return f"fits in {usable} with {self.configuration} ({self.needed_gb:,.1f} GB)"
        if self.option == "prompt_engineering":
            return (f"does not fit: even with {self.configuration} serving needs about {self.needed_gb:,.1f} GB per "
                    f"GPU (weights {self.plan.inference_weights / GB:,.1f} GB + KV cache {self.plan.kv_cache / GB:,.1f}"
                    f" GB), {usable}")
        return (f"does not fit: even with {self.configuration} it needs about {self.needed_gb:,.1f} GB per GPU to "
                f"{what} (training {self.plan.train_total / GB:,.1f} GB, serving {self.plan.inference_total / GB:,.1f}"
                f" GB), {usable}")

    @property
    def gpu_gb(self) -> float:
        return self.usable_gb / USABLE_SHARE


def _q_width(profile: ProjectProfile) -> int | None:
    """A catalog model's q_proj width (ModelSpec.q_width); None: the hidden size."""
    return get_model(profile.model).q_width if profile.model is not None else None


def _shape(profile: ProjectProfile) -> tuple[int, int, int | None, int]:
    """(hidden size, layers, vocabulary or None, KV width): the named model's, else the guesses from N."""
    hidden, layers = model_shape(profile)
    spec = get_model(profile.model) if profile.model is not None else None
    return hidden, layers, spec.vocab_size if spec else None, spec.kv_width if spec else hidden


def train_seq_len(profile: ProjectProfile) -> int:
    """The training sequence length every figure assumes (memory, time, the recipe's max_length): the profile's
    seq_len, else its typical input plus the label — never past a catalog model's context window (MiniLM: 512
    positions), where the recipe cuts the input (a review, 2026-12-05: max_length 705 for MiniLM)."""
    seq = profile.seq_len or example_tokens(profile)
    return min(seq, get_model(profile.model).context) if profile.model else seq


def validation_examples(labeled_examples: int, num_classes: int) -> int:
    """The rows a trained option holds out of the user's examples to choose its checkpoint (the recipe's
    `validation_examples`): a fifth, at least 2 per class, at most the protocol's 256, never more than half. The
    protocol held min(256, max(32, n)) rows out *beyond* n; from 16 examples it asked for 32."""
    n = max(labeled_examples, 1)
    return min(max(2 * num_classes, min(VALIDATION_MAX, n // 5)), max(n // 2, 1))


def training_rows(profile: ProjectProfile, examples: int | None = None) -> int:
    """The labelled examples a trained option learns from: the user's, less the validation split. What the table's
    per-class minimums count (advisor.rules): 100 examples in 100 classes train on 50, so some classes never appear
    in training (a review, 2026-12-05). `examples` instead of the profile's: a counterfactual's count."""
    n = profile.labeled_examples if examples is None else examples
    return max(n - validation_examples(n, profile.num_classes), 0) if n > 0 else 0


def train_steps(profile: ProjectProfile, rows: int) -> int:
    """The optimizer steps (of STEP_BATCH sequences) the recipe runs on `rows` without a budget — its max_steps, and
    what the time figures price: the measured protocol's budget (PROTOCOL_EPOCHS passes, at least MIN_STEPS and at
    most MAX_STEPS steps), which every run the expected accuracy is read from trained for, or the profile's epochs
    over the rows where those are more (the protocol's cap was a quarter of one pass over 20,000 examples). The table
    once priced the epochs alone beside a recipe that ran 5 passes (1,000 examples at --epochs 1: 6.4 h priced,
    32 h run; a review, 2026-12-05)."""
    rows = max(rows, 1)
    protocol = min(MAX_STEPS, max(MIN_STEPS, PROTOCOL_EPOCHS * -(-rows // STEP_BATCH)))
    return max(protocol, epoch_steps(rows, profile.epochs))


def epoch_steps(rows: int, epochs: int) -> int:
    """Steps for `epochs` whole passes over `rows` in the recipe's batches of STEP_BATCH (the last one short): what
    the script runs and the time prices for a number of epochs (the two once read 1,456 and 1,458 for 3 passes over
    7,763 rows; a review, 2026-12-05)."""
    return epochs * -(-max(rows, 1) // STEP_BATCH)


def sequences_per_step(rows: int) -> float:
    """Sequences one optimizer step trains on, on average over a pass: the recipe's batches of STEP_BATCH over `rows`,
    the last one short; fewer rows than a batch are one batch of all of them (8 rows: 100 steps are 800 sequences,
    not the 1,600 once priced; a review, 2026-12-05)."""
    rows = max(rows, 1)
    return rows / -(-rows // STEP_BATCH)


def budget_binds(cost: Any, profile: ProjectProfile, examples: int | None = None) -> bool:
    """Whether an option's budget pays for fewer rows than `profile` (with `examples`, if given) would train on
    (`training_rows`). The count the budget pays for is the same for every number of examples with this model and
    compute, so the counterfactuals ask this of the base profile's estimate with each variant's examples. A Fit
    (memory only) carries no budget."""
    covered = getattr(cost, "budget_examples", None)
    return covered is not None and covered < training_rows(profile, examples)


def instruction_tokens(profile: ProjectProfile) -> int:
    """Prompt engineering's instruction: ~50 tokens of task description, plus the label list it names for a
    classification task (each label ~LABEL_TOKENS tokens): 60 tokens for yes/no, 550 for 100 intents."""
    return instruction_tokens_for(profile.num_classes, profile.task_kind)


def prompt_overflow(profile: ProjectProfile) -> tuple[int, int] | None:
    """(tokens, context window) where prompt engineering's instruction and one input alone, with no demonstration,
    are longer than a catalog model's context: 1,000 labels name ~5,000 tokens, past a 4,096-token window, and
    "use fewer demonstrations, or none" could not make that prompt fit (a review, 2026-12-05). None otherwise, and
    for a model not in the catalog (its window is not known)."""
    if not profile.model:
        return None
    m = get_model(profile.model)
    if m.encoder:
        # An encoder's "prompt engineering" (bench/methods/prompt_engineering.py) embeds each label on its own:
        # no label list shares one context (a review, 2026-12-05: MiniLM at clinc150 n = 16, our own evidence for
        # prompting, was called infeasible).
        return None
    window, need = m.context, prompt_tokens(profile, 0)
    return (need, window) if need > window else None


def instruction_tokens_for(num_classes: int, task_kind: str = "classification") -> int:
    """`instruction_tokens` from the label count alone (the pilot knows the user's labels, not a profile)."""
    return INSTRUCTION_TOKENS + (num_classes * LABEL_TOKENS if task_kind == "classification" else 0)


def answer_tokens(profile: ProjectProfile) -> int:
    """The answer's tokens: the profile's avg_output_tokens (what a generation task writes), else a label's."""
    return profile.avg_output_tokens or LABEL_TOKENS


def example_tokens(profile: ProjectProfile) -> int:
    """One example's tokens, input and answer: a training sequence, a demonstration, a request. A generation task's
    answer was counted as a 5-token label whatever it wrote (a review, 2026-12-05: a 900-token summary task)."""
    return profile.avg_input_tokens + answer_tokens(profile)


def prompt_tokens(profile: ProjectProfile, shots: int) -> int:
    """Prompt engineering's prompt with `shots` demonstrations: the instruction (and its label list), each
    demonstration and the input, each with its label."""
    seq = example_tokens(profile)
    return instruction_tokens(profile) + (shots + 1) * seq


def demonstrations_that_fit(profile: ProjectProfile, window: int) -> int:
    """The most demonstrations whose prompt (`prompt_tokens`) fits in `window` tokens (0 when none does)."""
    return max((window - prompt_tokens(profile, 0)) // (example_tokens(profile)), 0)


def encoder_prompting(profile: ProjectProfile) -> bool:
    """Whether prompt engineering is the encoder's kind (a catalog BERT-style model): no text prompt, no generation
    -- the input's embedding against the embedded label descriptions (zero-shot) or the class centroids of the
    examples' embeddings (few-shot), bench/methods/prompt_engineering.py. Nothing is added to a request."""
    return profile.model is not None and get_model(profile.model).encoder


def prompt_demonstrations(profile: ProjectProfile) -> int:
    """The demonstrations prompt engineering's prompt holds: `options.demonstrations` (up to 8, at most half the
    examples), never more than a catalog model's context holds. The tokens, serving memory, price and the recipe's
    prompt all read this number: a review (2026-12-05) found Gemma-2-9B (8,192 tokens) priced and sized for a
    36,115-token prompt it cannot take, beside a caveat saying to use 1 demonstration."""
    k = options.demonstrations(profile.labeled_examples)
    if profile.model is None or not k:
        return k
    if encoder_prompting(profile):
        return 0  # the examples make class centroids; none is sent with a request
    window = get_model(profile.model).context
    return k if prompt_tokens(profile, k) <= window else min(k, demonstrations_that_fit(profile, window))


def serve_context(profile: ProjectProfile, option: str) -> int:
    """Tokens per request: the input and label, plus prompt engineering's instruction and demonstrations."""
    if profile.context_length:
        return profile.context_length
    if option == "prompt_engineering" and not encoder_prompting(profile):
        return prompt_tokens(profile, prompt_demonstrations(profile))
    # A request never holds more than the model's window: 100,000-token inputs on a 4,096-token model sized a 39 GB
    # KV cache beside a caveat saying the model reads the first 4,096 (a review, 2026-12-05).
    return min(example_tokens(profile), get_model(profile.model).context) if profile.model else example_tokens(profile)


def gpu_batch(profile: ProjectProfile, gpus: int) -> int:
    """The batch one GPU holds per step: the profile's, at most its share of the recipe's global batch of STEP_BATCH
    split over the GPUs (8 GPUs take 2 each; memory was sized for 8 per GPU beside a recipe whose processes took 2;
    a review, 2026-12-05)."""
    return max(1, min(profile.batch_size, -(-STEP_BATCH // max(gpus, 1))))


def micro_batches(option: str, batch: int) -> tuple[int, ...]:
    """The batches per GPU a team tries, largest first: `batch` (gpu_batch), then halved down to 1. A smaller
    micro-batch with gradients accumulated trains the same optimizer steps (the recipe reaches the protocol's 16 that way; QLoRA
    trained at micro-batch 1 with accumulation, Dettmers et al. 2023), so it comes after every rung at the
    profile's batch has missed: an 8B model at 8,000-token inputs on 24 GB was "nothing fits" at 8 and fits LoRA
    at 1 (a review, 2026-12-05). Prompting trains nothing: its batch is not the question."""
    if option == "prompt_engineering":
        return (batch,)
    out = [batch]
    while out[-1] > 1:
        out.append(out[-1] // 2)
    return tuple(out)


def _plans(profile: ProjectProfile, option: str, configs: Iterable[MemoryConfig], hidden: int, layers: int,
           vocab: int | None, kv_width: int, gpus: int, batch: int | None = None) -> Iterator[MemoryPlan]:
    """`plan_memory` for each rung of the ladder, lazily (fits_all stops at the first that fits), with everything
    else the profile's (the micro-batch `batch`, else one GPU's share, `gpu_batch`), read once per option rather
    than once per rung."""
    params, seq, ctx = profile.params_b * 1e9, train_seq_len(profile), serve_context(profile, option)
    batch, q_width = batch or gpu_batch(profile, gpus), _q_width(profile)
    for c in configs:
        yield plan_memory(option, params, hidden, layers, c, batch=batch, seq_len=seq, context=ctx, gpus=gpus,
                          vocab=vocab, rank=profile.lora_rank, lm_loss=profile.task_kind == "generation",
                          kv_width=kv_width, q_width=q_width)


def feasibility(profile: ProjectProfile, option: str, table: DecisionTable | None = None) -> Feasibility:
    """Walk `ladder(option)` and stop at the first configuration whose per-GPU total fits in the usable memory."""
    memory = usable_memory_gb(profile, table)
    hidden, layers, vocab, kv_width = _shape(profile)
    steps = ladder(option, profile.precision, sharded(profile, table))
    if not steps:
        steps = [MemoryConfig("bf16", "pure-bf16-adamw-8bit", True)]  # reported as missing, never as fitting
        fixed_out = True
    else:
        fixed_out = False
    gpus = gpu_count(profile, table)
    batches = micro_batches(option, gpu_batch(profile, gpus))
    plans = list(_plans(profile, option, steps, hidden, layers, vocab, kv_width, gpus))
    # The floor is the smallest rung at the smallest micro-batch (activations only shrink with the batch).
    last = plans if len(batches) == 1 else list(_plans(profile, option, steps, hidden, layers, vocab, kv_width, gpus,
                                                        batches[-1]))
    smallest = min(last, key=lambda p: p.total)
    floor, b = smallest.total / GB, batches[0]
    if fixed_out:
        return Feasibility(option, False, plans[0], memory, 0,
                           f"does not fit: precision={profile.precision} weights cannot be updated directly, so full "
                           "fine-tuning has no such configuration (allowed for it: auto, fp32, bf16)",
                           floor, b, b)
    tried = 0
    for mb in batches:
        rungs = plans if mb == b else last if mb == batches[-1] else \
            _plans(profile, option, steps, hidden, layers, vocab, kv_width, gpus, mb)
        for p in rungs:
            tried += 1
            if p.total / GB <= memory:
                return Feasibility(option, True, p, memory, tried, floor_gb=floor, micro_batch=mb, batch=b)
    return Feasibility(option, False, smallest, memory, tried, floor_gb=floor, micro_batch=batches[-1], batch=b)


def _prompting_estimate(profile: ProjectProfile, table: DecisionTable, shots: int, seq: int) -> CostEstimate:
    """Prompt engineering's cost: its extra tokens per request, and the memory to serve it where the weights are
    the user's. An encoder's prompting adds no tokens (embedding similarity, as measured on MiniLM; a review,
    2026-12-05: MiniLM was priced as an 8-demonstration text prompt); through an API the provider serves the model,
    with no memory of the user's to size (the JSON said "fits in 22.1 GB usable per GPU")."""
    rows = dict(examples=profile.labeled_examples, rows=profile.labeled_examples)
    if encoder_prompting(profile):
        extra, note = 0, ("no training; the input's embedding against your labels' embeddings (zero-shot) or your "
                          "examples' class centroids (few-shot): nothing added to a request")
    else:
        extra = instruction_tokens(profile) + shots * seq
        labels = f" and its {profile.num_classes:,} labels" if profile.task_kind == "classification" else ""
        note = f"no training; an instruction naming the task{labels} plus {shots} demonstrations in every request"
    if profile.model_access != "weights":
        return CostEstimate("prompt_engineering", 0, 0.0, 0.0, 0.0, 0.0, extra * 4, extra,
                            note + ", served by your provider",
                            memory_reason="served by your provider: no memory of yours", **rows)
    fe = feasibility(profile, "prompt_engineering", table)
    return CostEstimate("prompt_engineering", 0, 0.0, 0.0, fe.needed_gb, fe.floor_gb, extra * 4, extra, note,
                        feasible_memory=fe.fits, configuration=fe.configuration, memory_reason=fe.reason(),
                        inference_memory_gb=fe.plan.inference_total / GB, memory_plan=fe.plan.to_dict(),
                        gpus=gpu_count(profile, table), **rows)


def estimate(profile: ProjectProfile, option: str, table: DecisionTable | None = None) -> CostEstimate:
    """Cost of `option` for `profile` (see the module docstring for every formula)."""
    options.get(option)  # an unknown option is an error, never priced as another one
    table = table or load_table()
    n = profile.params_b * 1e9
    hidden, layers, _, kv_width = _shape(profile)
    seq = example_tokens(profile)
    # Per GPU: train_gpu_hours are GPU-hours (what a budget and a bill count); the wall-clock time divides them by
    # the GPUs training in parallel (CostEstimate.train_hours).
    tflops = float(table.compute_tflops[profile.compute]) * 1e12

    shots = prompt_demonstrations(profile)  # the recipe's prompt uses the same number
    if profile.model_access == "api_with_finetuning" and options.get(option).trains:
        # The provider trains and hosts: no GPU memory or weights of ours; the bill is tokens x epochs x price.
        # It bills the rows it is sent: the training split, the held-out rows kept to compare it with the prompt
        # (the plan's step) — the same split as a self-hosted option's (a review: all 2,000 rows priced while the
        # plan kept 256 back).
        price, src = provider_price(profile)
        rows = training_rows(profile)
        tokens = rows * profile.epochs * seq
        bill = provider_finetuning_cost(rows, seq, epochs=profile.epochs, price_per_million=price)
        money = (f" = {format_dollars(bill['dollars'])} at ${price:g}/1M tokens ({src})" if price is not None
                 else "; give price_per_m_training_tokens for dollars")
        return CostEstimate(option, 0, 0.0, 0.0, 0.0, 0.0, 0, 0,
                            f"provider fine-tuning: {int(tokens):,} training tokens ({profile.epochs} epochs over the "
                            f"{rows:,} rows of the training split){money}",
                            int(tokens), bill["dollars"], examples=rows, rows=rows)
    if option == "prompt_engineering":
        return _prompting_estimate(profile, table, shots, seq)
    fe = feasibility(profile, option, table)
    smallest = fe.floor_gb  # the same ladder's plans: computing them twice was a quarter of estimate()'s time
    base = dict(feasible_memory=fe.fits, configuration=fe.configuration, memory_reason=fe.reason(),
                inference_memory_gb=fe.plan.inference_total / GB, memory_plan=fe.plan.to_dict(),
                gpus=gpu_count(profile, table))
    # FLOPs per training sequence (one example, one pass: its tokens, an input cut at the training length counting
    # only what is kept); the figures are for the sequences the recipe runs (train_steps), or the budget pays for.
    per_example = min(seq, train_seq_len(profile))
    if option == "full_finetuning":
        flops = 6 * n * per_example
        # Gradient checkpointing recomputes the forward pass: 8 N T instead of 6 N T (Korthikanti et al. 2022).
        flops *= 8 / 6 if fe.plan.config.checkpointing else 1
        trainable, stored, extra = n, 2 * n, 0
        note = "all weights; a full bf16 copy per task"
    else:
        trainable = trainable_params(option, n, hidden, layers, profile.lora_rank, kv_width, _q_width(profile))
        stored = trainable * 4
        if option == "prompt_tuning":
            flops = 4 * n * per_example * (seq + SOFT_PROMPT_TOKENS) / seq
            extra, note = SOFT_PROMPT_TOKENS, f"{SOFT_PROMPT_TOKENS} virtual tokens at the input"
        elif option == "prefix_tuning":
            flops = 4 * n * per_example
            extra, note = PREFIX_TOKENS, f"{PREFIX_TOKENS} key/value positions at every layer"
        else:
            flops = 4 * n * per_example
            # One task: merged into the weights (no extra latency); several: an adapter per task on one base
            # model, as the totals count them ("merged" beside "one base model + N adapters" was a review's find).
            extra, note = 0, (f"rank {profile.lora_rank} on query/value; merged into the weights for serving"
                              if profile.num_tasks <= 1 else
                              f"rank {profile.lora_rank} on query/value; one adapter per task on one base model")
        flops *= 6 / 4 if fe.plan.config.checkpointing else 1  # one more forward pass (2 N T)
    per_sequence = flops / tflops / 3600  # GPU-hours
    hours_per_example = per_sequence * profile.epochs  # what a budget pays for one example at the profile's epochs
    rows = training_rows(profile)
    used, covered = rows, None
    per_step = sequences_per_step(rows)
    sequences = train_steps(profile, rows) * per_step  # the recipe's run
    if profile.budget_gpu_hours is not None and hours_per_example > 0:
        # GPU-hours (the budget's unit) over GPU-hours per example; the small tolerance keeps a budget computed as
        # exactly k examples' hours from flooring to k - 1.
        covered = int(profile.budget_gpu_hours / hours_per_example * (1 + 1e-9))
        used = min(used, covered)
        if used < rows:
            # The recipe trains the epochs over what the budget pays for, and no further (advisor.recipe).
            sequences = used * profile.epochs
            note += (f"; budget_gpu_hours={format_hours(profile.budget_gpu_hours)} pays for {used:,} of the "
                     f"{rows:,} examples it would train on")
        else:
            # Every row, but perhaps not every step: the recipe stops at the steps the budget pays for.
            sequences = min(sequences, max(int(profile.budget_gpu_hours / per_sequence / per_step * (1 + 1e-9)), 1)
                            * per_step)
    if used:
        steps = round(sequences / sequences_per_step(used))
        note += (f"; {sequences / used:.3g} passes over the {used:,} rows it trains on (the recipe's {steps:,} steps "
                 f"of {'up to ' if used % STEP_BATCH else ''}{STEP_BATCH})" if used >= STEP_BATCH else
                 f"; {sequences / used:.3g} passes over the {used:,} rows it trains on (the recipe's {steps:,} steps, "
                 f"each a batch of all {used})")
    money = training_dollars(profile, per_sequence * sequences)
    return CostEstimate(option, int(trainable), flops * sequences, per_sequence * sequences, fe.needed_gb, smallest,
                        int(stored), extra, note, examples=used, budget_examples=covered, rows=rows,
                        hours_per_sequence=per_sequence, train_dollars=money[:2] if money else None, **base)


@dataclass(frozen=True)
class Fit:
    """Only whether an option's memory fits: all the decision table's rules read of a cost
    (rules.scores_and_feasible), for the counterfactual search's model-size variants."""

    feasible_memory: bool


def fits_all(profile: ProjectProfile, table: DecisionTable | None = None) -> dict[str, Fit]:
    """Per option, whether some standard configuration fits — `feasibility`'s verdict, stopping at the first
    configuration that fits instead of pricing the whole ladder and the option's time and storage (a fifth of
    estimate_all's time; the counterfactuals try up to four model sizes per answer)."""
    table = table or load_table()
    memory = usable_memory_gb(profile, table)
    hidden, layers, vocab, kv_width = _shape(profile)
    gpus, may_shard = gpu_count(profile, table), sharded(profile, table)
    return {option: Fit(any(p.total / GB <= memory
                            for mb in micro_batches(option, gpu_batch(profile, gpus))
                            for p in _plans(profile, option, _ladder(option, profile.precision, may_shard), hidden,
                                            layers, vocab, kv_width, gpus, mb)))
            for option in OPTIONS}


def refit(base: ProjectProfile, costs: dict[str, Any], variant: ProjectProfile,
          table: DecisionTable | None = None) -> dict[str, Fit] | None:
    """`fits_all(variant)` read off the base profile's estimates, when the variant differs only in the memory of its
    GPUs (another compute level with as many GPUs, the same sharding and precision): the ladder's plans are then
    the same, and some rung fits exactly when the smallest one does (CostEstimate.min_train_memory_gb). None when
    the plans could differ. The compute counterfactuals ask this twice per answer."""
    table = table or load_table()
    if (gpu_count(base, table) != gpu_count(variant, table) or sharded(base, table) != sharded(variant, table)
            or base.precision != variant.precision or base.model_access != "weights"):
        return None
    memory = usable_memory_gb(variant, table)
    # An option with no rung at all (full fine-tuning of 8/4-bit weights) never fits, whatever the memory.
    return {o: Fit(bool(_ladder(o, variant.precision, sharded(variant, table)))
                   and costs[o].min_train_memory_gb <= memory) for o in OPTIONS}


def feasibility_floor(profile: ProjectProfile, option: str, table: DecisionTable | None = None) -> float:
    """GB of the smallest standard configuration (the floor no setting goes below), per GPU."""
    return feasibility(profile, option, table).floor_gb


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


def trainable_params(option: str, params: float, hidden: int, layers: int, rank: int = LORA_RANK,
                     kv_width: int | None = None, q_width: int | None = None) -> float:
    """Trainable parameters of `option` for a model of this shape (the same counts `estimate` prices). `kv_width`
    (key/value heads x head dim; None: the hidden size) is what a prefix holds per layer for K and for V (peft
    `_prepare_prompt_learning_config` sets the prefix's token_dim to head_dim x num_key_value_heads) and the
    width of v_proj, one of LoRA's two targets (q_proj: hidden -> q_width, the hidden size unless a config states a
    head_dim; v_proj: hidden -> kv_width)."""
    options.get(option)
    kv, q = kv_width or hidden, q_width or hidden
    if option == "prompt_engineering":
        return 0.0
    if option == "full_finetuning":
        return params
    if option == "prompt_tuning":
        return SOFT_PROMPT_TOKENS * hidden
    if option == "prefix_tuning":
        return 2 * layers * PREFIX_TOKENS * kv
    if option == "lora":
        # rank x (in + out) per target; the targets are the query and value projections (advisor.options).
        return layers * rank * ((hidden + q) + (hidden + kv) * (LORA_TARGETS - 1))
    raise options.UnknownOption(f"option={option!r} has no trainable-parameter count")


def memory_breakdown(option: str, params: float, *, precision: str = "bf16", batch: int = BATCH, seq_len: int = 512,
                     hidden: int | None = None, layers: int | None = None) -> MemoryBreakdown:
    """Weights + gradients + AdamW state + activations for training `option` at one precision, without
    checkpointing: `plan_memory`'s components (one computation), for callers that name a precision directly.
    Prompting trains nothing: its weights are the serving weights, with no gradients, state or activations."""
    if precision not in PRECISION_BYTES:
        raise ValueError(f"precision={str(precision)[:20]!r} (allowed: {', '.join(PRECISION_BYTES)})")
    for name, v in (("batch", batch), ("seq_len", seq_len)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}={v!r} (allowed: an integer >= 1)")
    options.get(option)
    if option == "full_finetuning" and precision in ("8-bit", "4-bit"):
        raise ValueError(f"precision={precision!r} for full_finetuning (allowed: fp32, bf16): quantised weights "
                         "cannot be updated directly")
    if hidden is None or layers is None:
        hidden, layers = architecture(params)
    p = plan_memory(option, params, hidden, layers, MemoryConfig(precision), batch=batch, seq_len=seq_len,
                    context=seq_len)
    weights = p.inference_weights if option == "prompt_engineering" else p.weights
    return MemoryBreakdown(option, precision, weights, p.gradients, p.optimizer, p.activations)


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


# ---- money, time and totals (issue 22) -----------------------------------------------------------------------

PRICES_FILE = Path(__file__).resolve().parent.parent / "data" / "prices.yaml"


def load_prices(path: str | Path | None = None) -> dict[str, Any]:
    """data/prices.yaml: provider prices, each with its source URL and the date it was read (cached when default)."""
    return _load_prices(str(path) if path else str(PRICES_FILE))


@functools.lru_cache(maxsize=4)
def _load_prices(path: str) -> dict[str, Any]:
    from advisor.profile import read_yaml_file

    data = read_yaml_file(Path(path), 200_000, "the price list")
    if not isinstance(data, dict) or not isinstance(data.get("prices"), dict) or "default" not in data:
        raise ValueError("prices.yaml: expected 'default' and a 'prices' mapping of name -> fields")
    for name, p in data["prices"].items():
        for field in ("training_per_m", "input_per_m", "source", "read_on"):
            if not isinstance(p, dict) or p.get(field) in (None, ""):
                raise ValueError(f"prices.yaml: {name}.{field} is required (allowed: every price has a source and date)")
    if data["default"] not in data["prices"]:
        raise ValueError(f"prices.yaml: default={data['default']!r} (allowed: {', '.join(data['prices'])})")
    for level, g in (data.get("gpu_hours") or {}).items():
        for field in ("low", "high", "gpu", "source", "read_on"):
            if not isinstance(g, dict) or g.get(field) in (None, ""):
                raise ValueError(f"prices.yaml: gpu_hours.{level}.{field} is required (allowed: every price has a "
                                 "source and date)")
        if not 0 <= float(g["low"]) <= float(g["high"]):
            raise ValueError(f"prices.yaml: gpu_hours.{level}: low={g['low']!r} high={g['high']!r} (allowed: "
                             "0 <= low <= high)")
    return data


def gpu_hour_price(profile: ProjectProfile) -> tuple[float, float, str] | None:
    """Dollars per GPU-hour as (low, high, where from): the profile's own rate, else the on-demand range
    data/prices.yaml gives the compute level's GPU; None on a laptop or CPU (the user's own machine) or through an
    API (the provider bills tokens)."""
    if profile.model_access != "weights":
        return None
    if profile.price_per_gpu_hour is not None:
        return (profile.price_per_gpu_hour, profile.price_per_gpu_hour,
                f"your ${profile.price_per_gpu_hour:,.2f} per GPU-hour")
    g = (load_prices().get("gpu_hours") or {}).get(profile.compute)
    if not g:
        return None
    return (float(g["low"]), float(g["high"]), f"{g['gpu']} on demand, ${float(g['low']):.2f}-"
            f"{float(g['high']):.2f} per GPU-hour ({g['source'].split(' ')[0]}, read {g['read_on']})")


def training_dollars(profile: ProjectProfile, gpu_hours: float) -> tuple[float, float, str] | None:
    """What `gpu_hours` of training cost at `gpu_hour_price` (low, high, where the price is from): the one
    computation of training money the table's figures, the plan and the JSON read."""
    price = gpu_hour_price(profile)
    if price is None or gpu_hours <= 0:
        return None
    return gpu_hours * price[0], gpu_hours * price[1], price[2]


def dollars_range(low: float, high: float) -> str:
    """Money as said after a verb: "about $0.55-0.91", "about $1.20" (one price), "up to $0.02", "under $0.01",
    "$0" (a free GPU) — never "about < $0.01" or "$-0.00" (a review, 2026-12-05)."""
    if high <= 0:
        return "$0"
    if high < 0.01:
        return "under $0.01"
    fmt = (lambda x: f"{x:,.2f}") if high < 100 else (lambda x: f"{x:,.0f}")
    if low < 0.005:
        return f"up to ${fmt(high)}"
    return f"about ${fmt(low)}" if fmt(low) == fmt(high) else f"about ${fmt(low)}-{fmt(high)}"


def provider_price(profile: ProjectProfile) -> tuple[float | None, str]:
    """$ per 1M training tokens: the profile's override, else data/prices.yaml's default entry."""
    if profile.price_per_m_training_tokens is not None:
        return profile.price_per_m_training_tokens, "your price"
    data = load_prices()
    p = data["prices"][data["default"]]
    return float(p["training_per_m"]), f"{data['default']}, {p['source']}, read {p['read_on']}"


def format_params(b: float) -> str:
    """A model size given in billions, as a reader says it: "22.7M", "135M", "8.03B" — never "0.0227137B"."""
    return f"{b * 1000:.3g}M" if b < 1 else f"{b:.3g}B"


def format_hours(x: float) -> str:
    """A GPU-hour budget as typed: "2", "0.25", "1,000,000,000" — never "1e+09" or "-0"."""
    x = x + 0.0
    if abs(x) >= 1e5:
        return f"{x:,.0f}"
    if 0 < abs(x) < 1e-3:  # "0.00001", not "1e-05"
        return f"{x:.12f}".rstrip("0")
    return f"{x:g}"


def format_dollars(x: float | None) -> str:
    if x is None:
        return "—"
    return f"${x:,.2f}" if x >= 0.01 or x == 0 else "< $0.01"


def human_duration(hours: float) -> str:
    """'< 1 min', '40 min', '8.5 h', '3.2 days' — what a person reads; JSON keeps the raw hours."""
    if not hours > 0:
        return "0"
    minutes = hours * 60
    if minutes < 1:
        return "< 1 min"
    if minutes < 60:
        return f"{minutes:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h" if hours < 10 else f"{hours:.0f} h"
    return f"{hours / 24:.1f} days"


def about(shown: str) -> str:
    """'about 3 min', 'about $0.09' — or 'under 1 min', 'under $0.01' for a figure shown as '< ...', never
    'about < ...'."""
    return shown.replace("< ", "under ", 1) if shown.startswith("<") else f"about {shown}"


def about_duration(seconds: float) -> str:
    """'about 45 s', 'about 3 min' — or 'under 1 s'."""
    return about(pilot_duration(seconds))


def pilot_duration(seconds: float) -> str:
    """A pilot stage's time: seconds under 90 s ('45 s'; under half a second '< 1 s', never '0 s'), else what
    human_duration says ('3 min', '1.2 h')."""
    if seconds < 0.5:
        return "< 1 s"
    return f"{seconds:,.0f} s" if seconds < 90 else human_duration(seconds / 3600)


def throughput_source(profile: ProjectProfile, table: DecisionTable | None = None) -> str:
    table = table or load_table()
    t = float(table.compute_tflops[profile.compute])
    n = gpu_count(profile, table)
    gpus = f"{n} GPU" + ("s" if n != 1 else "")
    # What the figure leaves out, said where it is stated (a review, 2026-12-05: 70B LoRA over 8 GPUs under ZeRO-3,
    # whose per-step weight gathers can outlast a small batch's compute, read as 48 min).
    shard = (", as do the weight gathers of a sharded (ZeRO-3/FSDP) run, which at a small batch per GPU can outlast "
             "the compute" if n > 1 else "")
    return (f"{t:g} effective TFLOP/s per GPU x {gpus}, what the decision table assumes for compute level "
            f"“{profile.compute}”, for the arithmetic of the optimizer steps only; loading the model and the "
            f"validation checks come on top{shard}")


# `advisor pilot --quick`: one MiniLM LoRA run on min(n, 256) rows on this CPU. Its wall time is read from our
# own MiniLM LoRA n=256 CPU runs (data/results, median train_time_s), not assumed.
def pilot_quick_hours(results_dir: str | Path | None = None) -> float | None:
    import json
    import statistics

    root = Path(results_dir) if results_dir else PRICES_FILE.parent / "results" / "minilm"
    times = []
    for f in root.glob("*/lora/n256-*.json"):
        try:
            r = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        if r.get("status") == "ok" and str(r.get("device", "cpu")).startswith("cpu") and r.get("train_time_s"):
            times.append(float(r["train_time_s"]))
    return statistics.median(times) / 3600 if times else None


def time_warnings(profile: ProjectProfile, costs: dict[str, CostEstimate], proposed: tuple[str, ...] = (),
                  pilot_quick: bool = False) -> list[str]:
    """A warning for every proposed step that would take an hour or more on the stated hardware."""
    out = []
    for o in proposed:
        c = costs[o]
        if c.train_hours >= 1.0:
            gpu_time = f" ({human_duration(c.train_gpu_hours)} of GPU time)" if c.gpus > 1 else ""
            out.append(f"{options.get(o).label} would take about {human_duration(c.train_hours)}{gpu_time} of "
                       f"training per task on compute={profile.compute} ({throughput_source(profile)})."
                       + _rented(profile, o))
    if pilot_quick:
        h = pilot_quick_hours()
        if h is not None and h >= 1.0:
            out.append(f"`advisor pilot --quick` takes about {human_duration(h)} on a CPU (median of our MiniLM LoRA "
                       "n=256 runs).")
    return out


def _rented(profile: ProjectProfile, option: str) -> str:
    """On a laptop, what one rented GPU of the next level would take and cost for the same run, where it fits (a
    review, 2026-12-05: a 7B LoRA was a 32-hour CPU job with no word on the few-dollar alternative)."""
    if profile.compute != "minimal" or profile.model_access != "weights":
        return ""
    rented = profile.changed(compute="low", gpu_memory_gb=None, num_gpus=None)
    c = estimate(rented, option)
    if not c.feasible_memory or not c.train_gpu_hours:
        return ""
    money = f", {dollars_range(*c.train_dollars)}" if c.train_dollars else ""
    price = gpu_hour_price(rented)
    return (f" On one rented GPU (compute=low: {price[2] if price else 'a 24 GB GPU'}) the same run takes about "
            f"{human_duration(c.train_hours)}{money} ({c.configuration}).")


def pilot_quick_note() -> str:
    """How long `advisor pilot --quick` takes, measured (our MiniLM LoRA n=256 CPU runs), for the tie advice."""
    h = pilot_quick_hours()
    return "" if h is None else (f"`advisor pilot --quick` takes about {human_duration(h)} on a CPU (median of our "
                                 "MiniLM LoRA n=256 CPU runs in data/results)" + (" — hours: plan for it" if h >= 1
                                                                                   else ""))


def totals(profile: ProjectProfile, costs: dict[str, CostEstimate]) -> dict[str, dict[str, float]]:
    """For num_tasks tasks: GPU-hours, storage, and serving memory (one base model + N adapters vs N full copies)."""
    n = profile.num_tasks
    out = {}
    gpus = gpu_count(profile)
    for o, c in costs.items():
        plan = c.memory_plan or {}
        # The weights and one request's KV cache, as the table's serving memory counts them (the totals once left
        # the cache out: 14.0 GB beside the table's 14.5; a review, 2026-12-05).
        base = (plan.get("inference_weights", 0.0) + plan.get("kv_cache", 0.0)) * gpus / GB
        if o == "full_finetuning":
            serving = n * base  # every task is its own model
        else:
            serving = base + n * c.storage_bytes_per_task / GB  # one shared model + each task's adapter/prompt
        out[o] = {"tasks": n, "gpu_hours": c.train_gpu_hours * n, "storage_gb": c.storage_bytes_per_task * n / GB,
                  "serving_memory_gb": serving,
                  "train_dollars": None if c.train_dollars is None else (c.train_dollars[0] * n, c.train_dollars[1] * n),
                  "provider_dollars": None if c.provider_dollars is None else c.provider_dollars * n}
    return out


def _prompt_input_price() -> tuple[float, str]:
    """(dollars per million input tokens, how a reader cites it) for prompting the default provider's *base* model:
    prompt engineering fine-tunes nothing, so its longer prompts pay the base model's input price (gpt-4o-mini:
    $0.15), not the fine-tuned model's ($0.30, which the estimate once used)."""
    data = load_prices()
    name = data["default"]
    entry = data["prices"][name]
    if entry.get("base_input_per_m") is not None:
        return (float(entry["base_input_per_m"]),
                f"{name}, the base model, price read on {entry.get('base_read_on', entry['read_on'])}")
    return float(entry["input_per_m"]), f"{name}, fine-tuned, price read on {entry['read_on']}"


def input_price_note() -> str:
    """The input price the per-request figure uses, as a reader cites it: '$0.15 per million input tokens
    (gpt-4o-mini, the base model, price read on 2026-12-04)' — never a file name."""
    price, what = _prompt_input_price()
    return f"${price:,.2f} per million input tokens ({what})"


def prompt_cost_sentence(profile: ProjectProfile, costs: dict[str, CostEstimate]) -> str | None:
    """What prompt engineering's longer prompts add per 1,000 requests, one sentence for the CLI and the app (None when
    nothing): 'under $0.01', never 'about < $0.01' or '$0.00'. With the model's weights the price is a hosted base
    model's input rate, named as the yardstick it is — a self-hosted model pays in serving time, not per token."""
    extra = prompt_inference_dollars_per_1k(profile, costs)["prompt_engineering"]
    if extra <= 0:
        return None
    dollars = about(format_dollars(extra))
    at = input_price_note()
    if profile.model_access == "weights":
        at = (f"a hosted base model's input price, {at}, as a yardstick (on your own GPUs the extra tokens cost "
              "serving time instead)")
    sentence = f"Prompt engineering's longer prompts: {dollars} more per 1,000 requests at {at}."
    if profile.model_access == "api_with_finetuning":
        # Both sides of the serving bill (a review, 2026-12-05: the fine-tuned model's higher input price was loaded
        # but never used, so only the prompt's tokens were charged): the prompt on the base model, every token at
        # its price, against the input alone at the fine-tuned model's price.
        data = load_prices()
        entry = data["prices"][data["default"]]
        base, tuned = _prompt_input_price()[0], float(entry["input_per_m"])
        sent = profile.avg_input_tokens  # what a request sends; the answer comes back as output tokens
        prompt_all = (costs["prompt_engineering"].extra_inference_tokens + sent) * 1000 / 1e6 * base
        tuned_all = sent * 1000 / 1e6 * tuned
        sentence += (f" All input tokens per 1,000 requests: the prompt on the base model "
                     f"{about(format_dollars(prompt_all))}, the fine-tuned model on the input alone "
                     f"{about(format_dollars(tuned_all))} (${tuned:,.2f} per million input tokens, {data['default']} "
                     f"fine-tuned, read {entry['read_on']}); output tokens come on top of both.")
    return sentence


def prompt_inference_dollars_per_1k(profile: ProjectProfile, costs: dict[str, CostEstimate]) -> dict[str, float]:
    """Extra input tokens per request x 1,000 requests x the base model's input price (data/prices.yaml)."""
    price = _prompt_input_price()[0]
    return {o: c.extra_inference_tokens * 1000 / 1e6 * price for o, c in costs.items()}


QLORA_EVIDENCE = PRICES_FILE.parent / "evidence" / "lit_dettmers2023_qlora.yaml"


def qlora_accuracy_cost(path: str | Path | None = None) -> dict[str, Any]:
    """QLoRA (NF4 + double quantisation) minus 16-bit LoRA, paired by model, task and finetuning data, from
    Dettmers et al. 2023 ("QLoRA", NeurIPS 2023) Tables 3 and 4 as recorded in data/evidence — computed from the
    rows, not typed in. Points on each row's own scale (accuracy / ROUGE-L, 0-100)."""
    import statistics

    from advisor.profile import read_yaml_file

    rows = read_yaml_file(Path(path) if path else QLORA_EVIDENCE, 2_000_000, "the QLoRA evidence")["rows"]

    def key(r: dict) -> tuple:
        detail = r.get("method_detail", "")
        data = "FLAN v2" if "FLAN v2" in detail else "Alpaca" if "Alpaca" in detail else ""
        return r["model"], r["task"], data

    lora16 = {key(r): r["value"] for r in rows if r["method"] == "lora" and "16-bit LoRA" in r.get("method_detail", "")}
    qlora = {key(r): r["value"] for r in rows if r["method"] == "lora" and "NF4" in r.get("method_detail", "")
             .replace("NFloat4", "NF4")}
    pairs = [(k, qlora[k] - lora16[k]) for k in sorted(qlora) if k in lora16]
    diffs = [d for _, d in pairs]
    return {"pairs": len(pairs), "median_points": statistics.median(diffs), "min_points": min(diffs),
            "max_points": max(diffs), "rows": [{"model": k[0], "task": k[1], "data": k[2], "qlora_minus_lora": d}
                                               for k, d in pairs],
            "source": "Dettmers et al. 2023, QLoRA: Efficient Finetuning of Quantized LLMs, NeurIPS 2023, Tables 3-4"}


def qlora_note(configuration: str) -> str:
    """What QLoRA costs in accuracy, from the paper's paired rows, when the configuration is QLoRA ('' otherwise)."""
    if not configuration.startswith("QLoRA"):
        return ""
    q = _qlora_cached()
    return (f" QLoRA vs 16-bit LoRA: median {q['median_points']:+.1f} points (range {q['min_points']:+.1f} to "
            f"{q['max_points']:+.1f}) over {q['pairs']} paired results ({q['source']}).")


@functools.lru_cache(maxsize=1)
def _qlora_cached() -> dict[str, Any]:
    return qlora_accuracy_cost()


# ---- `advisor pilot --model`: will it fit, how long will it take (issue 23 item 5) ------------------------------
MAX_ROWS = 50_000  # rows of a pilot CSV after the header
TEST_SHARE, TEST_CAP = 0.20, 500  # test = 20% of the rows, stratified, at most 500 (standard error <= 2.2 points)
# The probe trains on at most this many examples: beyond the calibration's largest measured n (1024) the answer
# is an extrapolation anyway; the probe embedded ~2,000 texts in 35 s on one busy core here, so 4,096 more
# would add ~70 s.
PROBE_TRAIN_CAP = 4096


# The pilot's smallest training subset: the smallest training size the calibration measured (16 to 1,024).
PILOT_MIN_TRAIN = 16


@functools.lru_cache(maxsize=256)
def pilot_min_rows(num_classes: int) -> int:
    """The fewest usable rows the pilot accepts for `num_classes` classes: a test set, a validation split and a
    training subset of at least max(PILOT_MIN_TRAIN, classes) (60 for 2 classes). The plan proposes the pilot only
    there. Memoised: a search of ~60 splits (0.13 ms), asked by every answer's tie advice and plan."""
    floor = max(PILOT_MIN_TRAIN, num_classes)
    # Test takes at most TEST_CAP rows and validation at most 256, so floor + TEST_CAP + 256 rows always do.
    return next(n for n in range(1, floor + TEST_CAP + 257) if pilot_split(n, num_classes)[0] >= floor)


def pilot_split(n_rows: int, num_classes: int) -> tuple[int, int, int]:
    """(train, validation, test) sizes the pilot uses for `n_rows` usable rows.

    Test: 20% of the rows, at least one per class, at most TEST_CAP. The rest is the pool `bench probe` draws
    from; its protocol carves a validation split of clamp(n, 32, 256) beside a training subset of n, so n is the
    largest value with n + clamp(n, 32, 256) <= pool, capped at PROBE_TRAIN_CAP.
    """
    test = min(TEST_CAP, max(num_classes, round(TEST_SHARE * n_rows)))
    pool = n_rows - test
    if pool >= 512:
        n = pool - 256
    elif pool >= 64:
        n = pool // 2
    else:
        n = pool - 32
    n = max(0, min(n, PROBE_TRAIN_CAP))
    return n, min(256, max(32, n)), test


# The pilot runs the user's model through `bench` as loaded: fp32 weights (bench/models.py casts to float32),
# prompts of at most 768 tokens (bench/methods/prompt_engineering.py FEW_SHOT_MAX_TOKENS), the quick LoRA run at the
# protocol's batch 16 and 256 tokens (bench/protocol.py) beside the pristine copy every trial is copied from.
PILOT_PROMPT_TOKENS = 768
PILOT_BATCH, PILOT_SEQ = 16, 256
# The Python, torch and tokenizer runtime around the weights, measured here: SmolLM2-135M prompting peaked at
# 2,499 MB resident (data/results/smollm2-135m/sst2/prompt_engineering/n128-s0.json peak_rss_mb) of which its fp32
# weights are 538 MB, so ~2 GB is the process itself.
PILOT_RUNTIME_GB = 2.0


@dataclass(frozen=True)
class PilotNeed:
    """Memory the pilot needs for one model, by stage, in GB (what the refusal names)."""

    prompting_gb: float
    lora_gb: float | None  # None without --quick

    @property
    def total_gb(self) -> float:
        return max(self.prompting_gb, self.lora_gb or 0.0)


def pilot_memory(params: float, hidden: int, layers: int, vocab: int | None, quick: bool,
                 tokens: float = PILOT_SEQ) -> PilotNeed:
    """The pilot's peak memory: fp32 weights + KV cache of a few-shot prompt + the runtime; with --quick, a fp32
    LoRA training step (plan_memory, the one memory formula) beside the pristine copy. `tokens`: the typical input;
    a batch is padded to its longest row, so twice that, at most the protocol's 256."""
    cfg = MemoryConfig("fp32")
    prompt = plan_memory("prompt_engineering", params, hidden, layers, cfg, batch=1, seq_len=PILOT_PROMPT_TOKENS,
                         context=PILOT_PROMPT_TOKENS, vocab=vocab, serve_as_trained=True)
    lora = None
    if quick:
        seq = int(min(PILOT_SEQ, 2 * tokens + LABEL_TOKENS))
        train = plan_memory("lora", params, hidden, layers, cfg, batch=PILOT_BATCH, seq_len=seq, context=seq,
                            vocab=vocab)
        lora = (train.train_total + params * PRECISION_BYTES["fp32"]) / GB + PILOT_RUNTIME_GB
    return PilotNeed(prompt.inference_total / GB + PILOT_RUNTIME_GB, lora)


@dataclass(frozen=True)
class StageEstimate:
    """One pilot stage and how long it should take on this kind of machine, with what the estimate rests on."""

    key: str  # reference | prompting | lora
    stage: str
    seconds: float
    basis: str


def _store_rates(backbone: str, method: str, results_dir: str | Path | None = None) -> dict[str, float] | None:
    """Median CPU rates of our runs of `method` on `backbone` (data/results): seconds per evaluated row
    (validation + test, plus the training rows a probe embeds), seconds per optimizer step, tokens per input."""
    import json
    import statistics

    root = Path(results_dir) if results_dir else PRICES_FILE.parent / "results"
    per_row, per_step, tokens = [], [], []
    for f in root.glob(f"{backbone}/*/{method}/*.json"):
        try:
            r = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        cfg = r.get("config") or {}
        if r.get("status") != "ok" or not str(r.get("device", "cpu")).startswith("cpu") or not r.get("wall_time_s"):
            continue
        rows = (cfg.get("val_size") or 0) + (cfg.get("test_size") or 0)
        if method == "linear_probe":
            rows += r.get("train_size") or 0
        steps = r.get("steps") or 0
        if steps:
            per_step.append(float(r["train_time_s"]) / steps)
            rows = rows * 2  # trained runs evaluate the validation split repeatedly; test once: ~2 passes
        if rows:
            per_row.append((float(r["wall_time_s"]) - float(r.get("train_time_s") or 0.0)) / rows)
        if r.get("mean_input_tokens"):
            tokens.append(float(r["mean_input_tokens"]))
    if not per_row:
        return None
    return {"row_s": statistics.median(per_row), "step_s": statistics.median(per_step) if per_step else 0.0,
            "tokens": statistics.median(tokens) if tokens else 64.0, "runs": float(len(per_row))}


def pilot_estimates(params: float, kind: str, n_train: int, n_val: int, n_test: int, tokens: float,
                    quick: bool, quick_steps: int, results_dir: str | Path | None = None,
                    tflops: float | None = None, instruction: int = INSTRUCTION_TOKENS) -> list[StageEstimate]:
    """Seconds per pilot stage. On a CPU (`tflops` None): scaled from our own runs here — the reference backbone
    of the same kind (SmolLM2-135M for a causal LM, MiniLM for an encoder) in proportion to parameters and input
    tokens (a forward pass costs ~2 x parameters x tokens FLOPs). On a GPU of `tflops` effective TFLOP/s (the
    decision table's compute level): that FLOP count divided by the throughput, the training-time model's rule."""
    out = []
    if tflops:
        rows = n_val + n_test
        # Zero-shot and few-shot passes over the validation and test rows (the demonstrations' prefix is cached,
        # so each row costs its own tokens plus the instruction's: ~50, and the label list it names,
        # `instruction_tokens_for`).
        flops = 2 * params * rows * 2 * (tokens + instruction)
        out.append(StageEstimate("prompting", "prompting with your model (zero-shot and with demonstrations)",
                                 flops / (tflops * 1e12), f"2 x parameters x tokens FLOPs at {tflops:g} TFLOP/s"))
        if quick:
            flops = 6 * params * quick_steps * PILOT_BATCH * (tokens + LABEL_TOKENS)
            out.append(StageEstimate("lora", f"quick LoRA run with your model (at most {quick_steps} steps)",
                                     flops / (tflops * 1e12), f"6 x parameters x tokens FLOPs at {tflops:g} TFLOP/s"))
        return out
    ref_pe = _store_rates("minilm", "prompt_engineering", results_dir)
    ref_lp = _store_rates("minilm", "linear_probe", results_dir)
    if ref_pe and ref_lp:
        rows = n_val + n_test
        sec = ref_pe["row_s"] * rows + ref_lp["row_s"] * (rows + n_train)
        out.append(StageEstimate("reference", "reference probe (MiniLM zero-shot and linear probe)", sec,
                                 f"our MiniLM runs here: {(ref_pe['row_s'] + ref_lp['row_s']) * 1000:.0f} ms per "
                                 "row"))
    ref_name, ref_params = ("smollm2-135m", 134_515_008) if kind == "causal" else ("minilm", 22_713_728)
    pe = _store_rates(ref_name, "prompt_engineering", results_dir)
    if pe:
        scale = params / ref_params * max(tokens, 1.0) / pe["tokens"]
        out.append(StageEstimate("prompting", "prompting with your model (zero-shot and with demonstrations)",
                                 pe["row_s"] * (n_val + n_test) * scale,
                                 f"{ref_name} prompting here: {pe['row_s'] * 1000:.0f} ms per row at "
                                 f"{pe['tokens']:.0f} tokens, x{scale:.2g} for your model's size and inputs"))
    lora = _store_rates(ref_name, "lora", results_dir) if quick else None
    if lora and lora["step_s"]:
        scale = params / ref_params * max(tokens, 1.0) / lora["tokens"]
        sec = (lora["step_s"] * quick_steps + lora["row_s"] * 2 * (n_val + n_test)) * scale
        out.append(StageEstimate("lora", f"quick LoRA run with your model (at most {quick_steps} steps)", sec,
                                 f"{ref_name} LoRA here: {lora['step_s']:.1f} s per step, x{scale:.2g} for your "
                                 "model's size and inputs"))
    return out
