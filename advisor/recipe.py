"""The configuration to run for an option (issue 23): values from our measured winners or from the protocol every
measured run used, each with its source — and a short runnable transformers + peft script.

Torch-free: the script is text. The learning rate is the one that won most of the protocol's lr races for that
method on the backbone of the user's family (a causal LM: SmolLM2-135M; an encoder: MiniLM), counted in the result
store — or, for a causal model of about 1B and more, the rate published for a 7B model with the same configuration
(LoRA and full fine-tuning; QLoRA: the QLoRA authors' rate for the size). Every other value is the protocol's
(bench/protocol.py) or the method module's (bench/methods/*.py), which is what every measured run used. The script
keeps the protocol's validation-based checkpoint choice, so a rate too high for the user's model shows as no
validation gain, not as silence.
"""

from __future__ import annotations

import functools
import math
import textwrap
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from advisor.options import (LABELS, LORA_ALPHA, LORA_DROPOUT, LORA_RANK, MAX_DEMOS, OPTIONS, VIRTUAL_TOKENS,
                             demonstrations, get)
# The cost table's durations (one formatting for every page) and its sequence length (what the recipe must not cut).
from advisor.costs import (about, budget_binds, epoch_steps, example_tokens, format_hours, human_duration,
                           sequences_per_step,
                           train_seq_len, train_steps, validation_examples)
from advisor.profile import ProjectProfile
from advisor.models import get_model
from bench.protocol import Protocol

PROTOCOL = Protocol()
PROTOCOL_SRC = "the matched protocol every measured run used (bench/protocol.py, version {v})"
# Which measured backbone stands for the user's model family when choosing a learning rate.
FAMILY_BACKBONE = {"causal": "smollm2-135m", "encoder": "minilm"}
# LoRA's target modules per architecture family: the attention query and value projections our runs adapted
# (advisor/options.py LORA_TARGETS), named as each family's implementation names them.
TARGETS = {"causal": ["q_proj", "v_proj"], "encoder": ["query", "value"]}


# QLoRA (Dettmers et al. 2023), copied from the authors' repository: the Guanaco fine-tuning scripts
# (artidoro/qlora scripts/finetune_guanaco_{7b,13b,33b,65b}.sh@86ac601) pass --bits 4 --quant_type nf4 --double_quant
# --bf16 --gradient_checkpointing --max_grad_norm 0.3 --weight_decay 0.0 --lr_scheduler_type constant
# --warmup_ratio 0.03, and --learning_rate 0.0002 for 7B/13B, 0.0001 for 33B/65B; qlora.py@7f4e95a's
# TrainingArguments default the optimizer to 'paged_adamw_32bit'.
QLORA_SRC = "artidoro/qlora scripts/finetune_guanaco_*.sh@86ac601 (Dettmers et al. 2023, QLoRA)"
QLORA_OPTIM_SRC = "artidoro/qlora qlora.py@7f4e95a (TrainingArguments: optim default 'paged_adamw_32bit')"
QLORA_QUANT = {4: {"load_in_4bit": True, "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": True,
                   "bnb_4bit_compute_dtype": "bfloat16"},
               # qlora.py's BitsAndBytesConfig with --bits 8: LLM.int8() (Dettmers et al. 2022) with its defaults.
               8: {"load_in_8bit": True, "llm_int8_threshold": 6.0, "llm_int8_has_fp16_weight": False}}


# Learning rates published for ~7B causal LMs with the configuration the recipe uses, read in the sources:
# * LoRA r=8, alpha=16 on q_proj/v_proj (our measured LoRA): 3e-4 for LLaMA-7B, tloen/alpaca-lora finetune.py@0003a00
#   (train() defaults: learning_rate 3e-4, lora_r 8, lora_alpha 16, lora_target_modules ["q_proj", "v_proj"]);
# * full fine-tuning: 2e-5 for LLaMA-7B, tatsu-lab/stanford_alpaca README.md@000109f ("Fine-tuning" table: batch
#   size 128, learning rate 2e-5, 3 epochs).
# A model nearer (in log size) to those 7B models than to our 135M backbone — from about 1B — gets these; our lr
# races at 135M chose 1e-3 for LoRA, 5x the published 7B rate.
PUBLISHED_LR = {"lora": (3e-4, "tloen/alpaca-lora finetune.py@0003a00 (LLaMA-7B, r=8, alpha=16, q_proj/v_proj)"),
                "full_finetuning": (2e-5, "tatsu-lab/stanford_alpaca README.md@000109f (LLaMA-7B, full fine-tuning)")}
PUBLISHED_LR_PARAMS_B = 7.0


def qlora_lr(params_b: float) -> float:
    """The QLoRA scripts' learning rate for the nearest size they used: 2e-4 up to 13B, 1e-4 for 33B and 65B."""
    return 2e-4 if params_b <= 20 else 1e-4


def lora_bits(profile: ProjectProfile) -> int | None:
    """4 when the cost model's configuration for LoRA here is QLoRA, 8 when it is LoRA on an 8-bit frozen model (the
    cheapest rung that fits, or the precision the profile fixes), else None: the recipe then loads the model that
    way, as the memory figures assume."""
    return _bits(_fitting_config(profile, "lora"))


def _bits(fitted: Any) -> int | None:
    return None if fitted is None else {"4-bit": 4, "8-bit": 8}.get(fitted.precision)


class RecipeError(ValueError):
    """A recipe request names something we cannot build; the message names the field and the allowed values."""


@dataclass(frozen=True)
class Setting:
    name: str
    value: Any
    source: str

    @property
    def shown(self) -> str:
        """The value as a page shows it: "q_proj, v_proj" and "load_in_4bit=True, ..." — not a Python list or dict."""
        v = self.value
        if isinstance(v, (list, tuple)):
            return ", ".join(map(str, v))
        if isinstance(v, dict):
            return ", ".join(f"{k}={x}" for k, x in v.items())
        return str(v)


@dataclass(frozen=True)
class Recipe:
    option: str
    family: str
    settings: tuple[Setting, ...]
    peft: dict[str, Any] | None = None  # {"class": "LoraConfig", "kwargs": {...}} for the PEFT options
    prompt: str | None = None  # prompt engineering: the skeleton
    notes: tuple[str, ...] = field(default_factory=tuple)
    fits: bool = True  # False: no configuration of the memory ladder fits (the answer's reasons say by how much)

    def value(self, name: str) -> Any:
        return next(s.value for s in self.settings if s.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {"option": self.option, "label": LABELS[self.option], "family": self.family,
                "settings": [{"name": s.name, "value": s.value, "source": s.source} for s in self.settings],
                "peft": self.peft, "prompt": self.prompt, "notes": list(self.notes), "fits": self.fits}

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True, width=110)


def family_of(profile: ProjectProfile) -> str:
    """'encoder' for a catalog encoder (BERT-style), else 'causal' — the 1-70B models users adapt are decoders."""
    if profile.model:
        from advisor.models import get_model

        if get_model(profile.model).encoder:
            return "encoder"
    return "causal"


def measured_lrs(results_dir: str | None = None) -> dict[tuple[str, str], dict[float, int]]:
    """(backbone, method) -> {lr: races won}, counted over the store's successful trained runs."""
    from advisor.evidence import results_dir as default_dir

    # Cached by the folder it resolves to, not by None: $TUNING_ADVISOR_RESULTS may point elsewhere by the next call
    # (a test that set it answered from the previous folder's cache: "no measured lora runs").
    return _measured_lrs(str((Path(results_dir) if results_dir else default_dir()).resolve()))


@functools.lru_cache(maxsize=4)
def _measured_lrs(results_dir: str) -> dict[tuple[str, str], dict[float, int]]:
    from bench.results import load, runs_view

    folder = Path(results_dir)
    if not folder.exists():
        return {}
    df = load(folder, include_failed=False)
    if df.empty:
        return {}
    runs = runs_view(df)
    out: dict[tuple[str, str], dict[float, int]] = {}
    for (b, m), g in runs[runs.lr.notna()].groupby(["backbone", "method"]):
        out[(str(b), str(m))] = {float(lr): int(n) for lr, n in g.lr.value_counts().items()}
    return out


measured_lrs.cache_clear = _measured_lrs.cache_clear  # type: ignore[attr-defined]


def published_lr_applies(profile: ProjectProfile, option: str, family: str) -> bool:
    """Whether the user's causal model is nearer, in log size, to the published ~7B rate's model than to our 135M
    backbone (from about 1B)."""
    import math

    from advisor.models import BENCH_BACKBONES, get_model

    if family != "causal" or option not in PUBLISHED_LR:
        return False
    measured_b = get_model(BENCH_BACKBONES[FAMILY_BACKBONE[family]]).params_b  # the catalog's size of our backbone
    return math.log(profile.params_b / measured_b) > math.log(PUBLISHED_LR_PARAMS_B / profile.params_b)


def _lr(option: str, family: str, results_dir: str | None, profile: ProjectProfile) -> Setting:
    backbone = FAMILY_BACKBONE[family]
    wins = measured_lrs(results_dir).get((backbone, option))
    if not wins:
        raise RecipeError(f"no measured {option} runs on {backbone} in the result store to choose a learning rate "
                          "from (run `bench run --backbones " + backbone + f" --methods {option}` first)")
    lr, n = max(wins.items(), key=lambda kv: (kv[1], -kv[0]))
    total = sum(wins.values())
    cands = f"candidates {', '.join(f'{x:g}' for x in sorted(wins))}; data/results"
    if published_lr_applies(profile, option, family):
        rate, src = PUBLISHED_LR[option]
        return Setting("learning_rate", rate, f"published for a {PUBLISHED_LR_PARAMS_B:g}B model with this "
                                              f"configuration: {src}; your {profile.params_b:g}B model is nearer that "
                                              f"size than our {backbone}, where {lr:g} won {n} of {total} lr races "
                                              f"({cands})")
    return Setting("learning_rate", lr, f"measured: won {n} of {total} lr races for {LABELS[option]} on {backbone} "
                                        f"({cands})")


def _embedding_similarity(profile: ProjectProfile) -> Recipe:
    """An encoder's "prompt engineering", as every measured MiniLM run did it: no text prompt (an encoder neither reads
    an instruction nor writes an answer), the input's embedding compared with embeddings (a review, 2026-12-05: the
    recipe gave MiniLM an 8-demonstration "Answer:" prompt)."""
    src = "bench/methods/prompt_engineering.py (what every measured MiniLM prompt engineering run did)"
    settings = (Setting("embedding", "the mean-pooled last hidden states of the frozen model", src),
                Setting("zero_shot", "cosine similarity to each label's description, embedded the same way", src),
                Setting("few_shot", "cosine similarity to each class's centroid of your examples' embeddings", src),
                Setting("measure_on", "held-out examples (validation): keep the better of the two", src))
    return Recipe("prompt_engineering", family_of(profile), settings, None, None,
                  ("No text prompt and nothing added to a request: one embedding per input. The class centroids "
                   "use your labelled examples without training any weight.",))


def _training(profile: ProjectProfile, option: str, family: str, results_dir: str | None,
              fit: Any = None) -> list[Setting]:
    src = PROTOCOL_SRC.format(v=PROTOCOL.version)
    n = max(profile.labeled_examples, 1)
    # The one validation split (advisor.costs.validation_examples): what the table's per-class minimums count.
    val = validation_examples(n, profile.num_classes)
    train = max(n - val, 1)
    budget: list[Setting] = []
    steps = _steps(profile, train, src)
    # The batch per GPU the memory figures assume (`fit`, advisor.costs.feasibility: one GPU's share of the batch, or
    # a smaller one that fits); a provider's job has no micro-batch of ours.
    mb = (fit.micro_batch if fit is not None else 0) or profile.batch_size
    patience = Setting("patience_past_budget", PROTOCOL.patience, src)
    # How far past max_steps a run may go while validation improves: the protocol's cap, or what a budget pays for.
    factor = Setting("max_steps_factor", PROTOCOL.extend_factor, src)
    if profile.budget_gpu_hours is not None and profile.model_access == "weights":
        from advisor.costs import estimate

        c = estimate(profile, option)  # the answer's own cost figure: the examples its time and accuracy are for
        hours = format_hours(profile.budget_gpu_hours)  # never "-0" or "1e+09"
        # Under a budget that binds (examples or steps) the run stops at max_steps.
        budget_patience = Setting("patience_past_budget", 0, "your budget: no training past max_steps (the protocol "
                                                             f"goes on while validation improves, {src})")
        if c.budget_examples is not None and c.examples < train:
            if c.examples < 1:
                full = estimate(profile.changed(budget_gpu_hours=None), option)
                each = full.train_gpu_hours / max(full.examples, 1)
                raise RecipeError(f"budget_gpu_hours={hours} pays for no training of {LABELS[option]} (allowed: at "
                                  f"least {each:.3g} GPU-hours, one example at {profile.epochs} epochs on this "
                                  "model and compute; or option=prompt_engineering)")
            train = c.examples
            budget = [Setting("max_train_examples", train,
                              f"your budget_gpu_hours={hours} pays for {c.examples:,} examples at "
                              f"{profile.epochs} epoch{'s' if profile.epochs != 1 else ''} (advisor.costs); the "
                              "script samples them at random")]
            # The budget pays for these passes and no more: no floor of 100 steps, no training on past it.
            passes = epoch_steps(train, profile.epochs)  # the steps the cost figure prices (advisor.costs)
            steps = Setting("max_steps", passes,
                            f"your budget: {profile.epochs} epoch{'s' if profile.epochs != 1 else ''} over the "
                            f"{train:,} examples it pays for at batch {PROTOCOL.batch_size}"
                            + (f" (the protocol's floor of {PROTOCOL.min_steps} steps, which every measured run "
                               "trained for, would exceed it: the expected accuracy, read off those runs, may be "
                               "optimistic)" if passes < PROTOCOL.steps_for(train) else ""))
            patience = budget_patience
        elif c.train_gpu_hours > 0 and c.examples > 0:
            # The budget pays for every example, but perhaps not for the protocol's floor of steps: 40 examples
            # priced at 0.11 of a 0.2 GPU-hour budget were a 1.5 h recipe (a review, 2026-12-04). At most the
            # steps the budget pays for, at the cost model's time per sequence.
            paid = int(profile.budget_gpu_hours / _hours_per_sequence(profile, c) / sequences_per_step(train)
                       * (1 + 1e-9))
            if paid < steps.value:
                steps = Setting("max_steps", max(paid, 1),
                                f"your budget_gpu_hours={hours} pays for {max(paid, 1):,} steps at batch "
                                f"{PROTOCOL.batch_size} (advisor.costs), fewer than the protocol's {steps.value:,}, "
                                "which every measured run trained for: the expected accuracy, read off those runs, "
                                "may be optimistic")
                patience = budget_patience
            elif paid < PROTOCOL.extend_factor * steps.value:
                # The budget pays for the steps but not for the protocol's whole extension: a 4x cap on a budget
                # that pays for 1.5x would let a run that keeps improving spend 2.7 times the budget (a review,
                # 2026-12-05). Past max_steps only as far as the budget pays.
                factor = Setting("max_steps_factor", math.floor(100 * paid / steps.value) / 100,
                                 f"your budget_gpu_hours={hours} pays for {paid:,} steps at batch "
                                 f"{PROTOCOL.batch_size} (advisor.costs): past max_steps only that far, not the "
                                 f"protocol's {PROTOCOL.extend_factor:g}x ({src})")
    if not patience.value:  # none when the budget binds: the run stops at max_steps
        factor = Setting("max_steps_factor", 1, patience.source)
    return [
        _lr(option, family, results_dir, profile),
        Setting("head_learning_rate", PROTOCOL.head_lr,
                f"{src}: every measured run trained its new classification head at this rate, the method's own "
                "parameters at the learning rate above (bench/methods/base.py param_groups)"),
        Setting("batch_size", PROTOCOL.batch_size, src),
        # Each GPU's share of the global batch (all of it on one GPU), in micro-batches of the batch per GPU the
        # memory figures assume when the share is larger: the profile's, or the smaller one that fits.
        *([Setting("micro_batch_size", mb,
                   (f"your profile's batch per GPU ({mb}), what the memory figures assume" if mb == profile.batch_size
                    else f"{MB_FITS_SRC} (advisor.costs ladder; your profile's batch "
                         f"per GPU, {profile.batch_size}, does not)")
                   + f"; the protocol's batch of {PROTOCOL.batch_size} is reached by accumulating gradients over "
                   f"{-(-_share(profile) // mb)} micro-batches"
                   + (f" on each of {_gpus(profile)} GPUs ({_share(profile)} examples each per step)"
                      if _gpus(profile) > 1 else ""))]
          if mb < _share(profile) else []),
        steps,
        *budget,
        Setting("warmup_fraction", PROTOCOL.warmup_fraction, src),
        # bench/train.py `schedule`: a constant rate after the warm-up, so a run may go on past its budget while
        # validation improves (a decay to 0 at the budget would make those steps train at lr 0).
        Setting("schedule", "linear warmup, then constant", src),
        Setting("weight_decay", PROTOCOL.weight_decay, src),
        Setting("eval_every_fraction", PROTOCOL.eval_every_fraction, src),
        Setting("checkpoint", "best validation accuracy; equal accuracies: lower validation loss (at a perfect "
                              "score, the first perfect check)", src),
        patience,
        # Past the budget while validation improves, up to this multiple of max_steps (none when the budget binds).
        factor,
        Setting("validation_examples", val,
                "tuning-advisor judgement: the protocol held out min(256, max(32, n)) examples beyond n; here a "
                f"fifth of your {n:,}, at most 256 but at least 2 per class, and never more than half — without it "
                "no checkpoint can be chosen; taken class by class, never a class's last row, so every class with "
                "two or more rows is trained on"
                # With a few rows the choice is coarse: 4 rows move validation accuracy in 25-point steps (a review,
                # 2026-12-05: 12 examples trained full fine-tuning on 8 and chose its checkpoint on 4).
                + (f". Only {val} rows to choose on: validation accuracy moves in {100 / val:.0f}-point steps, so "
                   "the checkpoint choice is coarse; judge the result against the prompt on the same rows before "
                   "trusting it" if val < 20 else "")),
        _max_length(profile, PROTOCOL.causal_max_length if family == "causal" else PROTOCOL.max_length, src),
    ]


def _max_length(profile: ProjectProfile, protocol: int, src: str) -> Setting:
    """The recipe's truncation length: the training length the memory and time figures assume
    (advisor.costs.train_seq_len) where the profile sets one or the typical input is longer than the protocol's
    (a review, 2026-12-05: 256 tokens beside 300-token clinical notes; --seq-len 128 beside a max_length of 256),
    else the protocol's. Never past the model's context window (MiniLM: 512 positions)."""
    need, whole = train_seq_len(profile), example_tokens(profile)
    cut = f" Your typical input plus its label ({whole:,} tokens) is cut to it." if whole > need else ""
    if profile.seq_len:
        window = profile.seq_len > need  # train_seq_len capped it at the model's context
        return Setting("max_length", need, (f"your model's context window ({need:,} tokens), below your seq_len "
                                            f"({profile.seq_len:,})" if window else
                                            f"your seq_len ({need:,} tokens), what the memory and time figures "
                                            "assume") + f".{cut} Protocol: {src}")
    if cut:
        return Setting("max_length", need, f"your model's context window ({need:,} tokens).{cut} Protocol: {src}")
    if need <= protocol:
        return Setting("max_length", protocol, src)
    return Setting("max_length", need, f"your typical input plus its label ({need:,} tokens), what the memory and "
                   f"time figures assume, rather than the protocol's {protocol}, which would cut it. Inputs longer "
                   "than the typical one are still cut: the script prints how many, and its --max-length raises the "
                   f"limit where the memory allows (the memory figures assume {need:,}). Protocol: {src}")


def _steps(profile: ProjectProfile, n_train: int, src: str) -> Setting:
    """The protocol's step budget (what every measured run trained for), and never fewer steps than the profile's
    epochs over the training rows: the protocol caps at 320 steps, which for 20,000 examples was a quarter of one
    pass while the time and the expected accuracy assumed three. One count with the time figures
    (advisor.costs.train_steps)."""
    protocol = PROTOCOL.steps_for(n_train)
    passes = train_steps(profile, n_train)  # the one step count (advisor.costs): what the time figures price
    if passes <= protocol:
        return Setting("max_steps", protocol, f"{src}: {PROTOCOL.epochs} epochs, at least {PROTOCOL.min_steps} and at "
                                              f"most {PROTOCOL.max_steps} optimizer steps (what the time and cost "
                                              f"figures price), up to {PROTOCOL.extend_factor:g}x while validation "
                                              "still improves (not priced)")
    # The cost figures price the same epochs over the same rows (advisor.costs.training_rows).
    return Setting("max_steps", passes, f"your {profile.epochs} epochs over {n_train:,} training examples at batch "
                                        f"{PROTOCOL.batch_size} (the protocol's cap of {PROTOCOL.max_steps} steps, "
                                        f"{src}, would stop after "
                                        f"{_passes(PROTOCOL.max_steps * PROTOCOL.batch_size / n_train)}), the "
                                        "passes the time and cost figures price")


def _passes(x: float) -> str:
    """'0.25 of an epoch', '6.4 epochs': a fraction under one pass, a count over it (it read '6.40 of an epoch')."""
    return f"{x:.2f} of an epoch" if x < 1 else f"{x:.3g} epoch{'s' if round(x, 2) != 1 else ''}"


FITS_SRC = "the configuration that fits your memory"
MB_FITS_SRC = "the largest micro-batch that fits your memory"


def recipe(profile: ProjectProfile, option: str, results_dir: str | None = None) -> Recipe:
    """The configuration for `option` on `profile`'s model family. Where no configuration fits the memory, the
    recipe is the smallest one, and its values say so (a review, 2026-12-05: a full fine-tuning recipe for 48.4 GB on a
    24 GB GPU labelled every value "the configuration that fits your memory")."""
    get(option)  # an unknown option is a typed error naming the allowed values
    # The memory configuration the cost figures assume, computed once for the whole recipe (it was computed three
    # times: for the micro-batch, the configuration and this verdict). None with API access.
    fit = None
    if profile.model_access == "weights":
        from advisor.costs import feasibility

        fit = feasibility(profile, option)
    r = _recipe(profile, option, results_dir, fit)
    if fit is None or fit.fits:
        return r
    smallest = "the smallest configuration the memory ladder tries (it does not fit your memory)"
    settings = tuple(Setting(s.name, s.value, s.source.replace(MB_FITS_SRC, f"the micro-batch of {smallest}")
                             .replace(FITS_SRC, smallest)) for s in r.settings)
    return replace(r, settings=settings, fits=False)


def _recipe(profile: ProjectProfile, option: str, results_dir: str | None, fit: Any) -> Recipe:
    family = family_of(profile)
    if option == "prompt_engineering":
        return _prompting(profile)
    settings = _training(profile, option, family, results_dir, fit)
    fitted = fit.plan.config if fit is not None else None  # the memory configuration the cost figures assume
    method_src = f"bench/methods/{option}.py (what every measured {LABELS[option]} run used)"
    # A generation task writes its answer token by token (exact match, as en_fr_words is measured here): the PEFT
    # config is a causal LM's, not a classifier's.
    generation = profile.task_kind == "generation"
    task_type = "CAUSAL_LM" if generation else "SEQ_CLS"
    notes = [("The learning rate is the one published for a 7B model with this configuration, not one measured "
              "here; " if published_lr_applies(profile, option, family) else
              "Learning rates were measured on 23M-135M models; ")
             + "the checkpoint rule above keeps a rate that is too high for your model from passing unnoticed "
               "(validation accuracy then never improves)."]
    if generation:
        settings = [Setting("task_kind", "generation", "your profile: the answer is written, scored by exact match "
                                                       "(how en_fr_words is measured here)")] + settings
        notes.append("A generation task: train the causal LM on prompt + answer with the loss on the answer tokens "
                     "only and pick the checkpoint by validation exact match, as `bench run --task-file my.yaml` "
                     "does (bench add-task writes the YAML; kind: generation). The --script here trains "
                     "classifiers and refuses a generation recipe.")
    if option == "lora":
        # The rank the cost figures assume: the measured one unless the user changed it on the answer page, and then
        # alpha keeps the measured ratio (16/8 = 2), so the learning rate's effective scale stays the measured one.
        rank = profile.lora_rank
        alpha = LORA_ALPHA if rank == LORA_RANK else LORA_ALPHA * rank // LORA_RANK
        rank_src = method_src if rank == LORA_RANK else "your assumption (answer page → Assumptions; lora_rank)"
        alpha_src = method_src if rank == LORA_RANK else f"alpha/r = {LORA_ALPHA}/{LORA_RANK} as in {method_src}"
        kwargs = {"r": rank, "lora_alpha": alpha, "lora_dropout": LORA_DROPOUT,
                  "target_modules": TARGETS[family], "task_type": task_type}
        settings += [Setting("r", rank, rank_src), Setting("lora_alpha", alpha, alpha_src),
                     Setting("lora_dropout", LORA_DROPOUT, method_src),
                     Setting("target_modules", TARGETS[family], "the attention query/value projections every "
                                                               "measured LoRA run adapted (advisor/options.py "
                                                               "LORA_TARGETS; Hu et al. 2022)")]
        bits = _bits(fitted)
        settings += _frozen_bf16(fitted)
        if bits:
            settings = _qlora(profile, settings, bits)
            what = ("QLoRA: the frozen model is loaded in 4-bit NF4" if bits == 4 else
                    "LoRA on an 8-bit frozen model (LLM.int8, the QLoRA code's --bits 8)")
            notes = [f"{what} (bitsandbytes, a CUDA GPU); the adapters train in "
                     "bf16. The learning rate is the QLoRA authors' for your size, not one measured here. Their runs "
                     "used r=64, alpha=16 on every linear layer with dropout 0.1 (7B) or 0.05 (13B and larger); the "
                     "rank here is the one the memory and storage figures assume (change it on the answer page's Assumptions or with --lora-rank).",
                     "Without a CUDA GPU the script runs unquantised with --no-quantize (for a smoke test)."]
        settings += _checkpointing(fitted, settings)
        shard, shard_notes = _sharding(profile, fitted)
        return Recipe(option, family, tuple(settings + shard), {"class": "LoraConfig", "kwargs": kwargs},
                      notes=tuple(notes + shard_notes))
    if option == "prompt_tuning":
        kwargs = {"num_virtual_tokens": VIRTUAL_TOKENS, "prompt_tuning_init": "TEXT", "task_type": task_type}
        settings += [Setting("num_virtual_tokens", VIRTUAL_TOKENS, method_src),
                     Setting("init", "the class label words as text",
                             "recipe version 2 (bench/methods/prompt_tuning.py): Lester et al. 2021's class-label "
                             "init; in our recipe benchmark the text init was never the best of three")]
        settings += _frozen_quantisation(fitted) + _frozen_bf16(fitted)
        settings += _checkpointing(fitted, settings)
        shard, shard_notes = _sharding(profile, fitted)
        return Recipe(option, family, tuple(settings + shard), {"class": "PromptTuningConfig", "kwargs": kwargs},
                      notes=tuple(notes + shard_notes))
    if option == "prefix_tuning":
        kwargs = {"num_virtual_tokens": VIRTUAL_TOKENS, "task_type": task_type}
        settings += [Setting("num_virtual_tokens", VIRTUAL_TOKENS, method_src)]
        settings += _frozen_quantisation(fitted) + _frozen_bf16(fitted)
        settings += _checkpointing(fitted, settings)
        shard, shard_notes = _sharding(profile, fitted)
        return Recipe(option, family, tuple(settings + shard), {"class": "PrefixTuningConfig", "kwargs": kwargs},
                      notes=tuple(notes + shard_notes))
    src = PROTOCOL_SRC.format(v=PROTOCOL.version)
    if fitted is not None and fitted.optimizer.endswith("8bit"):
        settings.append(Setting("optimizer", "adamw_8bit", "the configuration that fits your memory (advisor.costs "
                                                           "ladder): 8-bit AdamW, Dettmers et al. 2022, '8-bit "
                                                           "Optimizers via Block-wise Quantization'"))
    else:
        settings.append(Setting("optimizer", "AdamW", src))
    if fitted is not None and fitted.precision == "bf16" and not fitted.optimizer.startswith("pure-bf16"):
        # Mixed precision: fp32 weights as the master copy, bf16 compute (4 + 4 bytes of weights and gradients,
        # the plan's 2 + 2 bf16 bytes plus a 4-byte master copy: the same sum). Without it the script trained in
        # fp32 at a fraction of the throughput the time assumes (a review, 2026-12-05).
        settings.append(Setting("autocast_dtype", "bfloat16", "the configuration that fits your memory (advisor.costs "
                                                              "ladder): bf16 mixed precision with an fp32 master copy, "
                                                              "Micikevicius et al. 2018, 'Mixed Precision Training'"))
    if fitted is not None and fitted.optimizer.startswith("pure-bf16"):
        settings.append(Setting("weights_dtype", "bfloat16", "the configuration that fits your memory: pure bf16 "
                                                             "weights, no fp32 master copy (LLaMA-Factory's pure_bf16)"))
        notes.append("Pure bf16 weights keep no fp32 master copy: bf16 holds 8 significant bits, so an update smaller "
                     "than about 1/256 of a weight is rounded away, and at this learning rate many are. Use an "
                     "optimizer with Kahan summation or stochastic rounding, or the mixed-precision configuration "
                     "on more GPUs (sharded), if validation accuracy stalls.")
    settings += _checkpointing(fitted, settings)
    shard, shard_notes = _sharding(profile, fitted)
    return Recipe(option, family, tuple(settings + shard), None, notes=tuple(notes + shard_notes))


def _hours_per_sequence(profile: ProjectProfile, c: Any) -> float:
    """GPU-hours per training sequence (one example, one pass) in the cost estimate `c` — what the recipe's steps
    are priced at, and what a budget pays them at."""
    return c.hours_per_sequence


def _gpus(profile: ProjectProfile) -> int:
    from advisor.costs import gpu_count

    return gpu_count(profile) if profile.model_access == "weights" else 1


def _share(profile: ProjectProfile) -> int:
    """Examples per GPU per step: the protocol's global batch split over the GPUs that train in parallel."""
    return -(-PROTOCOL.batch_size // _gpus(profile))


def _fitting_config(profile: ProjectProfile, option: str) -> Any:
    """The memory configuration the answer's cost figures assume for `option` (None with API access)."""
    if profile.model_access != "weights":
        return None
    from advisor.costs import feasibility

    return feasibility(profile, option).plan.config


def _sharding(profile: ProjectProfile, fitted: Any) -> tuple[list[Setting], list[str]]:
    """When the configuration that fits shards weights, gradients and optimizer state across the GPUs (ZeRO-3 /
    FSDP), the recipe says so and how to launch it: the generated script is a single-process loop."""
    from advisor.costs import gpu_count

    n = gpu_count(profile)
    # max_steps counts steps of the recipe's global batch: each of n processes takes its share, or a step sees n
    # times the examples and "3 epochs" trains 3n (a review: 8 GPUs read as 12 epochs).
    share = (f" Keep the global batch at batch_size={PROTOCOL.batch_size}: each of the {n} processes takes "
             f"{_share(profile)} per step"
             + (" (no gradient accumulation)" if _share(profile) <= profile.batch_size else
                " (micro_batch_size above)")
             + f", or every step sees {n}x the examples and max_steps trains {n}x the epochs."
             + (f" A batch of {PROTOCOL.batch_size} keeps {n} of your {profile.num_gpus:,} GPUs busy, and the time "
                "assumes those." if profile.num_gpus and profile.num_gpus > n else "")) if n > 1 else ""
    if fitted is not None and not fitted.sharded and n > 1:
        # The time on the answer page divides the GPU-hours by the GPUs: data parallel, a full copy on each.
        return [], [f"The training time assumes the {n} GPUs train in parallel (data parallel, a full copy of the "
                    "model on each). The generated script is a single-process loop: launch the recipe's values with `accelerate launch "
                    f"--num_processes {n}` (or torchrun with DDP); on one GPU it takes the GPU time shown, not the "
                    "wall-clock time." + share]
    if fitted is None or not fitted.sharded:
        return [], []
    setting = Setting("sharding", f"FSDP FULL_SHARD (ZeRO-3) over {n} GPUs",
                      "the configuration that fits your memory (advisor.costs ladder): weights, gradients and "
                      "optimizer state split across the GPUs, Rajbhandari et al. 2020 (ZeRO stage 3)")
    note = (f"The memory figures assume the model sharded over {n} GPUs. The generated script is a single-process "
            "loop and does not shard: run the recipe's values with a sharding launcher (Hugging Face Trainer with "
            f"`fsdp='full_shard auto_wrap'` under `torchrun --nproc_per_node {n}`, or DeepSpeed ZeRO-3); on one "
            "GPU the script needs the unsharded memory." + share)
    return [setting], [note]


def _checkpointing(fitted: Any, settings: list[Setting]) -> list[Setting]:
    """Gradient checkpointing when the configuration that fits the memory uses it (and the recipe does not say)."""
    if fitted is None or not fitted.checkpointing or any(s.name == "gradient_checkpointing" for s in settings):
        return []
    return [Setting("gradient_checkpointing", True, "the configuration that fits your memory (advisor.costs ladder): "
                                                    "activations recomputed, Korthikanti et al. 2022")]


def _frozen_quantisation(fitted: Any) -> list[Setting]:
    """Soft prompts on a quantised frozen model when that is the configuration the memory figures found to fit (a
    13B model on 24 GB: 8-bit); the script then loads it that way (bitsandbytes, a CUDA GPU)."""
    bits = _bits(fitted)
    if not bits:
        return []
    return [Setting("quantization", dict(QLORA_QUANT[bits]),
                    f"the configuration that fits your memory (advisor.costs ladder: {bits}-bit frozen weights); "
                    f"bitsandbytes as in artidoro/qlora qlora.py@7f4e95a (--bits {bits}); only the virtual tokens "
                    "train, in bf16")]


def _frozen_bf16(fitted: Any) -> list[Setting]:
    """A frozen model in bf16 when that is the configuration the memory figures assume: without it the script loads
    fp32 weights (transformers 4.x's default), twice the memory the page said fits (an 8B model: 32 GB on a 24 GB
    card)."""
    if fitted is None or fitted.precision != "bf16" or _bits(fitted):
        return []
    return [Setting("weights_dtype", "bfloat16", "the configuration that fits your memory (advisor.costs ladder: "
                                                 "bf16 frozen weights, 2 bytes per parameter)")]


def _qlora(profile: ProjectProfile, settings: list[Setting], bits: int = 4) -> list[Setting]:
    """The LoRA recipe as QLoRA: 4-bit NF4 base with double quantisation and bf16 compute, paged AdamW, gradient
    checkpointing, gradient clipping at 0.3, no weight decay, and the authors' learning rate for the size."""
    replaced = {"learning_rate": Setting("learning_rate", qlora_lr(profile.params_b),
                                         f"{QLORA_SRC}: 2e-4 for 7B/13B, 1e-4 for 33B/65B"),
                "weight_decay": Setting("weight_decay", 0.0, QLORA_SRC)}
    out = [replaced.get(s.name, s) for s in settings]
    quant_src = (f"{QLORA_SRC}: --bits 4 --quant_type nf4 --double_quant --bf16" if bits == 4 else
                 "artidoro/qlora qlora.py@7f4e95a: BitsAndBytesConfig(load_in_8bit=args.bits == 8, llm_int8_threshold="
                 "6.0, llm_int8_has_fp16_weight=False)")
    return out + [Setting("quantization", dict(QLORA_QUANT[bits]), quant_src),
                  Setting("optimizer", "paged_adamw_32bit", QLORA_OPTIM_SRC),
                  Setting("gradient_checkpointing", True, f"{QLORA_SRC}; the memory figures assume it"),
                  Setting("max_grad_norm", 0.3, QLORA_SRC)]


def _prompting(profile: ProjectProfile) -> Recipe:
    from advisor.costs import encoder_prompting, prompt_demonstrations

    if encoder_prompting(profile):
        return _embedding_similarity(profile)

    k = prompt_demonstrations(profile)  # what the model's context holds, as the costs price it
    per_class = max(1, k // max(profile.num_classes, 1)) if k else 0
    src = "bench/methods/prompt_engineering.py: the protocol's prompt engineering picks zero-shot or up to 8 " \
          "demonstrations on validation"
    demos = "\n".join(f"Input: {{example_{i + 1}_text}}\nAnswer: {{example_{i + 1}_label}}\n" for i in range(k))
    skeleton = ("{instruction: one sentence saying what to decide}\n"
                "Answer with exactly one of: {label_1}, {label_2}, ...\n\n"
                + (demos + "\n" if k else "")
                + "Input: {text}\nAnswer:")
    capped = k < demonstrations(profile.labeled_examples)
    settings = (Setting("demonstrations", k, f"{src}; Brown et al. 2020 (few-shot: K demonstrations in the context); "
                                            "at most half your examples, the rest to measure on"
                                            + (f"; no more than {profile.model}'s context of "
                                               f"{get_model(profile.model).context:,} tokens holds" if capped else "")),
                Setting("per_class", per_class,
                        "tuning-advisor judgement: balanced across classes" if k >= profile.num_classes or not k else
                        f"tuning-advisor judgement: {k} demonstration{'s' if k != 1 else ''} cannot show all "
                        f"{profile.num_classes} classes "
                        f"(the measured protocol used at most {MAX_DEMOS}): one each for {k} of them, the commonest; the "
                        "instruction still names every label"),
                Setting("measure_on", "the examples not used as demonstrations (validation)", src))
    return Recipe("prompt_engineering", family_of(profile), settings, None, skeleton,
                  ("Compare zero-shot with the demonstrations on the held-out examples and keep the better one, as "
                   "the protocol does.",))


SCRIPT = '''\
"""{title}

Generated by tuning-advisor (`advisor recipe`). Every value below comes from the recipe: {sources}.
Run: python {name} --model MODEL --csv data.csv --text-column text --label-column label [--max-steps N]
"""

import argparse
import contextlib
import csv
import math
import random

import torch
from torch.nn import functional as F
from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_constant_schedule_with_warmup

RECIPE = {recipe}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--text-column", default="text")
    ap.add_argument("--label-column", default="label")
    ap.add_argument("--max-steps", type=int, default=RECIPE["max_steps"])
    ap.add_argument("--max-train-examples", type=int, default=RECIPE.get("max_train_examples"))
    ap.add_argument("--max-length", type=int, default=RECIPE["max_length"],
                    help="tokens per input, longer ones cut (the recipe's: what its memory figures assume)")
    ap.add_argument("--output", default="tuned")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-quantize", action="store_true",
                    help="No bitsandbytes: load the model unquantised and use torch's AdamW (no CUDA GPU: a smoke "
                         "test only)")
    args = ap.parse_args()
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    with open(args.csv, newline="", encoding="utf-8") as f:
        rows = [(r[args.text_column], r[args.label_column]) for r in csv.DictReader(f)]
    labels = sorted({{y for _, y in rows}})
    random.shuffle(rows)
    n_val = min(RECIPE["validation_examples"], len(rows) // 2)
    # Stratified: validation takes rows class by class in turn and never a class's last row, so every class with
    # two or more rows is seen in training (what the advisor's per-class minimum counts on).
    pools = {{}}
    for i, (_, y) in enumerate(rows):
        pools.setdefault(y, []).append(i)
    pools = [ids[:-1] for ids in pools.values()]
    held = []
    while len(held) < n_val and any(pools):
        for ids in pools:
            if ids and len(held) < n_val:
                held.append(ids.pop())
    held = set(held)
    val = [r for i, r in enumerate(rows) if i in held]
    train = [r for i, r in enumerate(rows) if i not in held]
    if args.max_train_examples:  # what the budget pays for (a random sample: the rows were shuffled)
        train = train[:args.max_train_examples]
    tok = AutoTokenizer.from_pretrained(args.model)
    if tok.pad_token is None:  # causal LMs ship without one
        tok.pad_token = tok.eos_token
    # How many inputs max_length cuts (on up to 2,000 rows): the recipe sizes it at the typical input, so the longer
    # half of a spread of lengths loses its end; raise --max-length where the memory allows.
    sample = [t for t, _ in rows[:2000]]
    lengths = sorted(len(tok(t)["input_ids"]) for t in sample)
    if lengths:
        cut = sum(n > args.max_length for n in lengths)
        print(f"max_length {{args.max_length}}: {{cut}} of {{len(lengths)}} inputs are longer and are cut (95th "
              f"percentile: {{lengths[int(0.95 * (len(lengths) - 1))]}} tokens)")
    quant = RECIPE.get("quantization") if not args.no_quantize else None
    if quant:  # QLoRA: the frozen model in 4-bit NF4 or 8-bit (bitsandbytes needs a CUDA GPU)
        from transformers import BitsAndBytesConfig

        q = dict(quant)
        if "bnb_4bit_compute_dtype" in q:
            q["bnb_4bit_compute_dtype"] = getattr(torch, q["bnb_4bit_compute_dtype"])
        model = AutoModelForSequenceClassification.from_pretrained(
            args.model, num_labels=len(labels), quantization_config=BitsAndBytesConfig(**q), device_map="auto")
    else:
        dtype = getattr(torch, RECIPE["weights_dtype"]) if RECIPE.get("weights_dtype") else None
        model = AutoModelForSequenceClassification.from_pretrained(args.model, num_labels=len(labels),
                                                                   torch_dtype=dtype)
        # One GPU when there is one (a quantised model is placed by device_map): without this the loop trained on
        # the CPU (a review, 2026-12-05).
        model.to("cuda" if torch.cuda.is_available() else "cpu")
    model.config.pad_token_id = tok.pad_token_id
    # Mixed precision where the memory figures assume it: fp32 weights (the master copy), bf16 compute.
    amp = (getattr(torch, RECIPE["autocast_dtype"]) if RECIPE.get("autocast_dtype") and torch.cuda.is_available()
           else None)

    def autocast():
        return torch.autocast("cuda", dtype=amp) if amp is not None else contextlib.nullcontext()
    if RECIPE.get("gradient_checkpointing"):
        if quant:
            import peft

            model = peft.prepare_model_for_kbit_training(model, use_gradient_checkpointing=True)
        else:
            model.gradient_checkpointing_enable()
            model.enable_input_require_grads()  # frozen embeddings: checkpointed layers still need input grads
    peft_spec = RECIPE["peft"]
    if peft_spec:
        import peft

        kwargs = dict(peft_spec["kwargs"])
        if kwargs.get("prompt_tuning_init") == "TEXT":  # the class-label init: your label words as the start text
            kwargs.update(prompt_tuning_init_text=" ".join(labels), tokenizer_name_or_path=args.model)
        model = peft.get_peft_model(model, getattr(peft, peft_spec["class"])(**kwargs))
    # The new classification head trains at its own rate, the method's parameters at the learning rate (as every
    # measured run did: a head at a soft prompt's 0.3 oscillates, at full fine-tuning's 5e-5 it barely moves).
    own, head = [], []
    for n, p in model.named_parameters():
        if p.requires_grad:
            is_head = ("classifier" in n or ".score." in n or n.startswith("score.") or "pooler" in n) \
                and "lora_" not in n
            (head if is_head else own).append(p)
    params = own + head
    groups = [{{"params": own, "lr": RECIPE["learning_rate"]}}]
    if head:
        groups.append({{"params": head, "lr": RECIPE["head_learning_rate"]}})
    bnb_optim = {{"paged_adamw_32bit": "PagedAdamW32bit", "adamw_8bit": "AdamW8bit"}}.get(RECIPE.get("optimizer"))
    if bnb_optim and not args.no_quantize:
        import bitsandbytes as bnb  # paged: state moves to CPU memory under pressure; 8-bit: block-wise quantised

        opt = getattr(bnb.optim, bnb_optim)(groups, weight_decay=RECIPE["weight_decay"])
    else:
        opt = torch.optim.AdamW(groups, weight_decay=RECIPE["weight_decay"])
    # Linear warm-up, then a constant rate (the protocol's): training past the budget while validation improves
    # keeps learning.
    sched = get_constant_schedule_with_warmup(opt, max(1, int(RECIPE["warmup_fraction"] * args.max_steps)))
    index = {{y: i for i, y in enumerate(labels)}}

    def batches(data, size, shuffle):
        order = list(range(len(data)))
        if shuffle:
            random.shuffle(order)
        for i in range(0, len(order), size):
            chunk = [data[j] for j in order[i:i + size]]
            enc = tok([t for t, _ in chunk], truncation=True, max_length=args.max_length, padding=True,
                      return_tensors="pt")
            yield enc, torch.tensor([index[y] for _, y in chunk])

    def evaluate():
        model.eval()
        right, loss, n = 0, 0.0, 0
        with torch.inference_mode():
            # Evaluated in the micro-batch the memory figures size a training step for (without gradients, it
            # needs less): 64 rows of 4,005 tokens ran a 9B model out of memory at its first check (a review).
            for enc, y in batches(val, RECIPE.get("micro_batch_size") or RECIPE["batch_size"], False):
                dev = next(p for p in params).device
                enc, y = {{k: v.to(dev) for k, v in enc.items()}}, y.to(dev)
                with autocast():
                    logits = model(**enc).logits.float()
                loss += float(F.cross_entropy(logits, y, reduction="sum"))
                right += int((logits.argmax(-1) == y).sum())
                n += len(y)
        model.train()
        return right / max(n, 1), loss / max(n, 1)

    every = max(1, int(RECIPE["eval_every_fraction"] * args.max_steps))
    best, since, step = (-1.0, math.inf), 0, 0

    def done():
        # Never stop before the budget; past it, stop after `patience_past_budget` checks without a gain, and at
        # `max_steps_factor` times the budget in any case.
        return (step >= RECIPE["max_steps_factor"] * args.max_steps
                or (step >= args.max_steps and since >= RECIPE["patience_past_budget"]))

    model.train()
    while not done():
        for enc, y in batches(train, RECIPE["batch_size"], True):
            dev = next(p for p in params).device
            enc, y = {{k: v.to(dev) for k, v in enc.items()}}, y.to(dev)
            # The protocol's batch in micro-batches of the size the memory figures assume, gradients accumulated:
            # the same optimizer step as one batch (each part's loss weighted by its share of the batch).
            mb = RECIPE.get("micro_batch_size") or len(y)
            total = 0.0
            for i in range(0, len(y), mb):
                with autocast():
                    logits = model(**{{k: v[i:i + mb] for k, v in enc.items()}}).logits.float()
                part = F.cross_entropy(logits, y[i:i + mb], reduction="sum") / len(y)
                part.backward()
                total += float(part)
            loss = torch.tensor(total)
            if RECIPE.get("max_grad_norm"):
                torch.nn.utils.clip_grad_norm_(params, RECIPE["max_grad_norm"])
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % every == 0 or step == args.max_steps:
                acc, vloss = evaluate()
                # The metric, ties by validation loss; at a perfect score the loss only measures over-confidence.
                if acc > best[0] or (acc == best[0] and acc < 1 and vloss < best[1]):
                    best, since = (acc, vloss), 0
                    model.save_pretrained(args.output)
                else:
                    since += 1
                print(f"step {{step}}: train loss {{float(loss):.4f}}, validation accuracy {{acc:.3f}}, "
                      f"loss {{vloss:.4f}}")
            if done():
                break
    print(f"best validation accuracy {{best[0]:.3f}}; saved to {{args.output}}")


if __name__ == "__main__":
    main()
'''


def to_script(r: Recipe, name: str = "tune.py") -> str:
    """A runnable transformers (+ peft) training script for a trained option's recipe."""
    if r.option == "prompt_engineering":
        raise RecipeError("option='prompt_engineering' has no training script (allowed: prompt_tuning, "
                          "prefix_tuning, lora, full_finetuning); use its prompt skeleton")
    if any(s.name == "task_kind" and s.value == "generation" for s in r.settings):
        raise RecipeError("task_kind='generation' has no training script here (the script trains classifiers; "
                          "allowed: task_kind=classification); train a generation task with `bench run --task-file "
                          "my.yaml` (bench add-task writes it)")
    import pprint

    values = {s.name: s.value for s in r.settings}
    values["peft"] = r.peft
    sources = "; ".join(sorted({s.source.split(":")[0] for s in r.settings}))
    title = f"{LABELS[r.option]} for sequence classification ({r.family} model family)"
    return SCRIPT.format(title=title, sources=textwrap.shorten(sources, 300), name=name,
                         recipe=pprint.pformat(values, sort_dicts=False, width=100))


def recipes_for(profile: ProjectProfile, options: list[str], results_dir: str | None = None) -> list[Recipe]:
    return [recipe(profile, o, results_dir) for o in options if o in OPTIONS]


# ---------------------------------------------------------------- the plan

@dataclass(frozen=True)
class Step:
    title: str
    command: str  # what to run (an existing command, or the recipe's script)
    cost: str  # in human units, from advisor.costs (the one cost computation)
    proceed_if: str  # when to go on to the next step

    def to_dict(self) -> dict[str, str]:
        return {"title": self.title, "command": self.command, "cost": self.cost, "proceed_if": self.proceed_if}




def _pilot_cost(p: Any) -> str:
    """How long `advisor pilot --model` takes for this profile on a CPU: the same per-stage estimates the pilot
    prints (advisor.costs.pilot_estimates, scaled from our own runs here)."""
    from advisor.costs import MAX_ROWS, about_duration, instruction_tokens, pilot_estimates, pilot_split
    from advisor.table import load_table

    rows = min(p.labeled_examples, MAX_ROWS)  # a larger file is sampled first
    n_train, n_val, n_test = pilot_split(rows, min(p.num_classes, max(rows // 3, 2)))
    # A laptop runs the pilot on its CPU (our measured rates); a GPU at the compute level's throughput.
    # One process on one GPU: the pilot does not spread over a node's GPUs.
    tflops = None if p.compute == "minimal" else float(load_table().compute_tflops[p.compute])
    stages = pilot_estimates(p.params_b * 1e9, "causal", max(n_train, 0), n_val, n_test, p.avg_input_tokens,
                             False, 0, tflops=tflops, instruction=instruction_tokens(p))
    if not stages:
        return ""
    total = sum(e.seconds for e in stages)
    where = ("on a CPU core (scaled from our SmolLM2 and MiniLM runs here)" if tflops is None else
             f"of GPU time at compute '{p.compute}' plus model loading")
    return f"{about_duration(total)} {where} for {n_val + n_test:,} validation and held-out rows"


def _training_time(c: Any, scale: float = 1.0) -> str:
    """Wall-clock training time of `scale` x the run `c` prices, with the GPU-hours behind it when several GPUs
    share the work."""
    wall = about(human_duration(c.train_hours * scale))
    if c.gpus > 1:
        return f"{wall} ({human_duration(c.train_gpu_hours * scale)} of GPU time on {c.gpus} GPUs)"
    return wall


def _money(p: Any, gpu_hours: float) -> str:
    """What the plan's training costs at the GPU-hour price (advisor.costs.training_dollars, the one computation):
    hours and money, so a team can budget the step."""
    from advisor.costs import dollars_range, training_dollars

    money = training_dollars(p, gpu_hours)
    return f"; {dollars_range(*money[:2])} at {money[2]}" if money else ""


def _recipe_time(p: Any, option: str, c: Any) -> tuple[str, float]:
    """The training time of the run the recipe writes — its max_steps x batch sequences at the cost model's time
    per sequence (advisor.costs, the one cost computation). With few examples the recipe's floor of steps, which
    every measured run trained for, is many more passes than the answer's table prices (its epochs over the
    examples): 40 examples on a 1B model said "about 7 min" here for a recipe of 50 passes (a review, 2026-12-04)."""
    try:
        r = recipe(p, option)
        steps, factor = int(r.value("max_steps")), float(r.value("max_steps_factor"))
    except RecipeError:  # no recipe to price (e.g. no measured runs to choose its learning rate): the table's figure
        return f"{_training_time(c)} of training (over {c.examples:,} examples)", c.train_gpu_hours
    per_step = sequences_per_step(c.examples)  # the script's batches of 16, or one of all the rows when fewer
    gpu_hours = steps * per_step * _hours_per_sequence(p, c)
    f = gpu_hours / c.train_gpu_hours  # the recipe's run over the one the table prices: one step count, so ~1
    more = (f", and up to {factor:g}x that if validation keeps improving past max_steps" if factor > 1 else "")
    if f <= 1.05:
        return (f"{_training_time(c)} of training (the recipe's {steps:,} steps of "
                + (f"{PROTOCOL.batch_size}" if c.examples >= PROTOCOL.batch_size else f"all {c.examples}")
                + f": {steps * per_step / max(c.examples, 1):.3g} passes over {c.examples:,} examples{more})",
                c.train_gpu_hours)
    return (f"{_training_time(c, f)} of training for the recipe's {steps:,} steps of {PROTOCOL.batch_size}, {f:.1f}x "
            f"the {p.epochs} epochs over {c.examples:,} examples the answer's table prices ({_training_time(c)}; the "
            "recipe's max_steps says why)"), gpu_hours


def _generation_title(option: str) -> str:
    """What `bench run` does for a generation task, said where the plan sends a user to it: the measured protocol, not
    the recipe's memory configuration (a review, 2026-12-05: the plan priced 8-bit AdamW and 905-token sequences
    beside a command that trains plain AdamW on prompts cut to 256 tokens and writes answers of a few tokens)."""
    return (f"Train {LABELS[option]} as the measured protocol does — `bench run`: plain AdamW, its learning-rate "
            f"race, prompts cut to their last {PROTOCOL.causal_max_length} tokens, answers of a few tokens "
            "(bench/methods/generation.py), exact match on validation. For longer texts, or a model that needs the "
            "recipe's memory configuration, train with the recipe's values in your own causal-LM trainer; keep the "
            "best validation checkpoint")


def _bench_sizes(rows: int) -> list[int]:
    """Training sizes `bench run` can take from `rows` labelled rows, each with its validation split beside it."""
    return [n for n in (rows - PROTOCOL.val_max, rows // 2, rows - PROTOCOL.val_min)
            if n >= 1 and n + PROTOCOL.val_size(n) <= rows]


def _train_command(p: ProjectProfile, option: str, script: str = "tune.py") -> str:
    """What to type to train `option`: the generated script for a classifier; for a generation task (the script
    refuses it) the bench runner, which trains the causal LM with the loss on the answer tokens (a review, 2026-12-05:
    the plan's own `--script` command failed for generation)."""
    if p.task_kind == "generation":
        # bench holds its validation rows out of the same file (Protocol.val_size: min(256, max(32, n))): the largest
        # size that leaves them (a review, 2026-12-05: --sizes 2000 on 2,000 rows "exceeds the pool").
        n = max((k for k in _bench_sizes(p.labeled_examples)), default=0)
        return (f"bench add-task my_task --train train.csv --test test.csv (then kind: generation in my_task.yaml); "
                f"bench run --task-file my_task.yaml --models hf:/path/to/YOUR_MODEL --methods {option} "
                f"--sizes {n} --seeds 0 --device cuda")
    return (f"advisor recipe --option {option} --script {script}; python {script} --model YOUR_MODEL --csv your.csv"
            if script == "tune.py" else f"advisor recipe --option {option} --script {script}")


def plan(rec: Any) -> list[Step]:
    """The ordered steps that fit the answer: measure first, the cheapest option that may meet the goal, then the
    pick, then the escalation — each with its cost from the answer's own cost estimates (advisor.costs)."""
    p = rec.profile
    costs = {r.option: r.cost for r in rec.ranking}
    feasible = [r.option for r in rec.ranking if r.feasible]
    steps: list[Step] = []
    goal = {"acceptable": "an acceptable", "high": "your", "critical": "your critical"}.get(p.accuracy_goal, "your")
    from advisor.costs import encoder_prompting, prompt_demonstrations

    k, encoder = prompt_demonstrations(p), encoder_prompting(p)
    held_out = ("held-out examples" if encoder else "the examples not in the prompt") if p.labeled_examples \
        else "a few hand-labelled examples"
    if "prompt_engineering" in feasible:
        tokens = f"no training; +{costs['prompt_engineering'].extra_inference_tokens:,} tokens per request"
        # The command is only what to type (a page shows it as code); what it does goes in the title.
        from advisor.costs import pilot_min_rows as min_rows

        # The pilot refuses fewer rows than a test set, a validation split and a training subset need (60 for two
        # classes): below that the prompt is measured by hand (a plan once proposed a pilot on 40 examples).
        # The pilot measures a classifier's accuracy over the label set; a generation task is scored by hand.
        if (p.model_access == "weights" and p.task_kind != "generation"
                and p.labeled_examples >= min_rows(p.num_classes)):
            # Step 1 is a command that exists: the pilot runs the user's own model on their rows (issue 23 item 5).
            command = "advisor pilot --data your.csv --text TEXT --label LABEL --model YOUR_MODEL"
            how = (" with `advisor pilot` (YOUR_MODEL: a local Hugging Face folder or a downloaded catalog model; "
                   "your model's zero-shot and few-shot accuracy on held-out rows, filled into the answer)")
            est = _pilot_cost(p)
            cost = tokens + (f"; the pilot: {est}" if est else "")
        else:
            command = "advisor recipe --option prompt_engineering"
            where = ("send it through your provider" if p.model_access != "weights" else
                     "run it with your model and score exact match (the pilot measures classifiers)"
                     if p.task_kind == "generation" else
                     f"run it with your model (`advisor pilot` needs at least {min_rows(p.num_classes)} rows)")
            how = (f" (the recipe gives {'the method' if encoder else 'the prompt skeleton'}): {where} on held-out "
                   "rows, then give the accuracy to "
                   "`advisor recommend --prompt-accuracy A --prompt-accuracy-n N`")
            cost = tokens
        steps.append(Step(
            ("Classify by embedding similarity to your labels or your examples' class centroids (no training)"
             if encoder else "Prompt with an instruction"
             + (f" and {k} demonstration{'s' if k != 1 else ''}" if k else ""))
            + f"; measure it on {held_out}{how}",
            command, cost, f"stop here if it meets {goal} accuracy goal; else go on"))
    trained = [o for o in feasible if o != "prompt_engineering"]
    tied = set((rec.extra.get("decision") or {}).get("tied") or ())
    if len(trained) > 1 and trained[1] in tied | {rec.best} and trained[0] in tied | {rec.best}:
        # Two trained options the measured part cannot separate: try the cheaper first (a review, 2026-12-05:
        # "only if full fine-tuning plateaus: LoRA", where the page called them tied and LoRA cost half as much).
        a, b = costs[trained[0]].train_gpu_hours or 0.0, costs[trained[1]].train_gpu_hours or 0.0
        if 0.0 < b < 0.9 * a:  # a real difference: under a budget both cost about the budget (rounding noise)
            trained[0], trained[1] = trained[1], trained[0]
    if trained:
        first = trained[0]
        c = costs[first]
        if c.train_gpu_hours:
            text1, gpu_hours1 = _recipe_time(p, first, c)
            cost = (f"{text1} on compute '{p.compute}'"
                    + (f", {c.configuration}" if c.configuration else "")
                    + _money(p, gpu_hours1)
                    + (f", on the {c.examples:,} of the {c.rows:,} examples it would train on that your budget "
                       "pays for" if budget_binds(c, p) else ""))
        else:
            from advisor.costs import format_dollars, provider_price

            price = provider_price(p)[0]  # the cost figure's own price: the user's, else data/prices.yaml's default
            where = "your price" if p.price_per_m_training_tokens is not None else "the price in data/prices.yaml"
            cost = (f"{c.training_tokens:,} training tokens, {format_dollars(c.provider_dollars)} at {where} "
                    f"(${price:,.2f} per 1M tokens)" if c.training_tokens and price is not None
                    else f"{c.training_tokens:,} training tokens, billed by your provider" if c.training_tokens
                    else "billed by your provider")
        steps.append(Step(
            (_generation_title(first) if p.task_kind == "generation" else
             f"Train {LABELS[first]} with the recipe; keep the best validation checkpoint")
            if p.model_access == "weights"
            else "Fine-tune through your provider (scored as full fine-tuning); keep a held-out split to compare",
            _train_command(p, first) if p.model_access == "weights"
            else "your provider's fine-tuning job with the same data split",
            cost, "compare its validation accuracy with step 1's; keep the better"))
        if len(trained) > 1:
            second = trained[1]
            c2 = costs[second]
            hours2, gpu_hours2 = _recipe_time(p, second, c2) if c2.train_gpu_hours else ("billed per token", 0.0)
            hours2 += _money(p, gpu_hours2)
            capped = any(budget_binds(costs[o], p) for o in (first, second))
            # The two recipes' own runs (the times the steps show), against the budget.
            both = (gpu_hours1 if c.train_gpu_hours else 0.0) + gpu_hours2
            budget = (f"; with step 2, {both:,.3g} GPU-hours in all, against your budget of "
                      f"{format_hours(p.budget_gpu_hours)} per task"
                      + (" — more than it, so this step needs a budget of its own"
                         if both > p.budget_gpu_hours * 1.001 else "")
                      if p.budget_gpu_hours is not None and c2.train_gpu_hours else "")
            # Which way to fall back follows capacity (OPTIONS orders them least to most trained): a plateau calls
            # for more of it, an overfit (validation accuracy falling while the training loss falls) for less.
            more = OPTIONS.index(second) > OPTIONS.index(first)
            when = (f"Only if {LABELS[first]} plateaus below the goal" if more else
                    f"If {LABELS[first]} overfits (validation accuracy falls while the training loss still falls)")
            steps.append(Step(
                f"{when}: {LABELS[second]}",
                _train_command(p, second, "tune2.py"),
                hours2 + budget,
                (("the runner-up of this answer" if rec.ranking[1].option == second else
                  f"the next trained option of this answer (rank {rec.option(second).rank})")
                 if second != rec.best else "the pick of this answer, tried second "
                 "because the measured part cannot separate the two and it costs more")
                + ("; with less to train it overfits less, but it will not lift a plateau" if not more else "")
                + "; " + (("a larger budget, or fewer epochs, trains on more of your examples and usually helps "
                           "more") if capped else "more labelled data usually helps more")
                # Pointed to only where that section has a change to show (it said "no realistic single change"
                # beside this pointer; a review, 2026-12-05).
                + (" (see 'What would change the answer')" if rec.counterfactuals and not
                   rec.counterfactuals[0].startswith("No realistic single change") else "")))
    return steps
