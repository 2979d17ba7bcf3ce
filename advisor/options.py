"""The one option registry: every place that names, labels, colours, orders or costs an option reads it here.

Torch-free on purpose: `bench/methods/*` import the shared hyperparameters from here, so the cost model and the
engine cannot drift apart, and `advisor` stays importable without torch. Adding an option takes its method module,
its decision-table rows and one `Option` entry below.
"""

from __future__ import annotations

from dataclasses import dataclass

# Hyperparameters the cost model shares with the engine (bench/methods read these, advisor/costs prices them).
VIRTUAL_TOKENS = 20  # prompt tuning's soft prompt and prefix tuning's key/value positions
LORA_RANK = 8
LORA_ALPHA = 16
LORA_DROPOUT = 0.1
LORA_TARGETS = ("query", "value")  # attention projections (Hu et al. 2022)
BATCH = 8
EPOCHS = 3
# The most rows a trained option holds out for validation: the protocol's val_max (bench/protocol.py; the serving
# path does not import bench, tests/test_costs.py holds the two equal).
VALIDATION_MAX = 256
# The protocol's step budget, which the recipe's max_steps follows and the cost figures price (bench/protocol.py:
# batch_size, epochs, min_steps, max_steps; held equal by tests/test_costs.py).
STEP_BATCH, PROTOCOL_EPOCHS, MIN_STEPS, MAX_STEPS = 16, 5, 100, 320
MAX_DEMOS = 8  # prompt engineering's demonstrations (bench/methods/prompt_engineering.py tries up to 8)


def demonstrations(n: int) -> int:
    """Demonstrations in a prompt built from n labelled examples: up to 8, and never more than half of them — the
    other half is what tells zero-shot from few-shot (8 examples: 4 in the prompt, 4 to check). The cost model's
    extra tokens and the recipe's prompt read this one number."""
    return min(MAX_DEMOS, max(int(n), 0) // 2)


@dataclass(frozen=True)
class Option:
    """One adaptation option as every layer of the project sees it."""

    name: str
    label: str
    glossary: str
    colour: str  # one colour per option in every chart (Tableau 10, colour-blind friendly order)
    trains: bool
    parameter_efficient: bool


_REGISTRY: tuple[Option, ...] = (
    Option("prompt_engineering", "prompt engineering",
           "Writing the input by hand: an instruction and optionally a few labeled examples shown in the prompt "
           "(few-shot / in-context learning). No parameter changes, no training; works even through an API.",
           "#4e79a7", trains=False, parameter_efficient=False),
    Option("prompt_tuning", "prompt tuning",
           f"Learning a short sequence of soft-prompt vectors (e.g. {VIRTUAL_TOKENS} virtual tokens) prepended to the "
           "input embeddings while every model weight stays frozen (Lester et al. 2021). Only those vectors are "
           "trained and stored per task.",
           "#f28e2b", trains=True, parameter_efficient=True),
    Option("prefix_tuning", "prefix tuning",
           "Learned vectors inserted as extra keys and values at every layer's attention, not only at the input "
           "(Li & Liang 2021; P-tuning v2, Liu et al. 2022). Frozen model, more capacity than prompt tuning, still "
           "small per task.",
           "#e15759", trains=True, parameter_efficient=True),
    Option("lora", "LoRA",
           "Low-rank update matrices added to chosen weight matrices (here attention query/value); the backbone "
           "stays frozen and the adapter can be merged into the weights for serving (Hu et al. 2022).",
           "#59a14f", trains=True, parameter_efficient=True),
    Option("full_finetuning", "full fine-tuning",
           "Every weight is updated; each task needs its own full copy of the model.",
           "#76b7b2", trains=True, parameter_efficient=False),
)

OPTIONS: tuple[str, ...] = tuple(o.name for o in _REGISTRY)  # display order
LABELS: dict[str, str] = {o.name: o.label for o in _REGISTRY}
COLOURS: dict[str, str] = {o.name: o.colour for o in _REGISTRY}
GLOSSARY: dict[str, str] = {o.name: o.glossary for o in _REGISTRY}
_BY_NAME: dict[str, Option] = {o.name: o for o in _REGISTRY}


class UnknownOption(ValueError):
    """An option name outside the registry: an error everywhere, never a silent fallback."""


def get(name: str) -> Option:
    """The registry entry for `name`; raises UnknownOption naming the allowed values."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise UnknownOption(f"option={str(name)[:40]!r} (allowed: {', '.join(OPTIONS)})") from None


def label(name: str) -> str:
    return get(name).label


# With a provider's fine-tuning API the "full fine-tuning" option is the provider's job: it trains and hosts, and
# how (all weights or an adapter) it does not say. Every text of such an answer names it so (issue 24 item 3).
PROVIDER_FINETUNING = "the provider's fine-tuning API"


def labels_for(model_access: str) -> dict[str, str]:
    """Each option's name in an answer for `model_access` (LABELS, except the provider's fine-tuning)."""
    return {**LABELS, "full_finetuning": PROVIDER_FINETUNING} if model_access == "api_with_finetuning" else LABELS


# A reason's factor as the page, the CLI and the reports name it (a profile field in words, never "model params b").
FACTOR_WORDS = {"model_params_b": "model size", "ml_expertise": "team experience", "num_tasks": "number of tasks",
                "labeled_examples": "labeled examples", "task_complexity": "task complexity",
                "accuracy_goal": "accuracy goal", "overfitting_risk": "overfitting risk", "domain_shift": "domain shift",
                "preserve_capabilities": "keeping general skills", "iteration_speed": "iteration speed",
                "long_term": "long-term use", "interpretability": "interpretability",
                "data_governance": "data governance", "compute": "compute", "expected_accuracy": "expected accuracy"}


def factor_words(factor: str) -> str:
    return FACTOR_WORDS.get(factor, factor.replace("_", " "))
