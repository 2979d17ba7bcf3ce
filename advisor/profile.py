"""The project profile: what a team tells the advisor about its situation.

`ProjectProfile` is a frozen dataclass. Every field is validated on construction;
all problems are collected and raised together as one `ProfileError` that names
each bad field, the value it got and what is allowed.
"""

from __future__ import annotations

import dataclasses
import decimal
import json
import math
import numbers
import re
import reprlib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

import yaml

from advisor.files import FileRefused, read_bounded
from advisor.models import CatalogError, UnknownModel, get_model, model_names
from advisor.options import EPOCHS, LORA_RANK, OPTIONS  # noqa: E402 - the one option registry

CHOICES: dict[str, tuple[str, ...]] = {
    "task_complexity": ("simple", "moderate", "complex"),
    "compute": ("minimal", "low", "medium", "high"),
    "accuracy_goal": ("acceptable", "high", "critical"),
    "overfitting_risk": ("low", "medium", "high"),
    "domain_shift": ("none", "moderate", "large"),
    "iteration_speed": ("slow_ok", "fast"),
    "model_access": ("weights", "api_with_finetuning", "api_only"),
    "ml_expertise": ("none", "some", "expert"),
    "task_kind": ("classification", "generation"),
    # Memory inputs (advisor.costs): "auto" lets the advisor pick the cheapest standard configuration that fits.
    "precision": ("auto", "fp32", "bf16", "8-bit", "4-bit"),
    "sharding": ("auto", "none", "zero3"),
}

# (minimum, inclusive?, maximum) for numeric fields; None = unbounded.
INT_RANGES: dict[str, tuple[int, int | None]] = {
    "labeled_examples": (0, 1_000_000_000),
    "num_tasks": (1, 1_000_000),
    "num_classes": (2, 100_000),
    "avg_input_tokens": (1, 1_000_000),
    "avg_output_tokens": (0, 1_000_000),
    "batch_size": (1, 65_536),
    "seq_len": (0, 10_000_000),
    "context_length": (0, 10_000_000),
    "num_gpus": (1, 100_000),
    "epochs": (1, 1_000),
    "lora_rank": (1, 4_096),
    "prompt_accuracy_n": (1, 1_000_000),
}
# What applies only to open weights (your GPUs train and serve): not asked, and not compared, with API access.
WEIGHTS_ONLY_FIELDS = ("compute", "gpu_memory_gb", "budget_gpu_hours", "num_gpus", "sharding", "precision",
                       "batch_size", "seq_len", "context_length", "price_per_gpu_hour")
# Integer fields that may be left empty (None).
OPTIONAL_INTS = ("prompt_accuracy_n", "num_gpus")
# float fields: (lower bound, lower bound inclusive, upper bound)
FLOAT_RANGES: dict[str, tuple[float, bool, float]] = {
    "model_params_b": (0.0, False, 10_000.0),
    "gpu_memory_gb": (0.0, False, 1_000_000.0),
    "budget_gpu_hours": (0.0, True, 1e9),
    "zero_shot_accuracy": (0.0, True, 1.0),
    "probe_accuracy": (0.0, True, 1.0),
    "price_per_m_training_tokens": (0.0, True, 1e6),
    "price_per_gpu_hour": (0.0, True, 1e5),
    "prompt_accuracy": (0.0, True, 1.0),
}
OPTIONAL_FLOATS = ("gpu_memory_gb", "budget_gpu_hours", "zero_shot_accuracy", "probe_accuracy",
                   "price_per_m_training_tokens", "price_per_gpu_hour", "prompt_accuracy", "model_params_b")
# An API model's size is often undisclosed: model_params_b may be left empty (None) unless you hold the weights, and
# the computations then assume 1B — neutral for the decision table (neither its "small model" rule, < 1B, nor its
# "large model" rule, >= 10B, fires) — while every sentence says the size was assumed (issue 24 item 3).
ASSUMED_UNKNOWN_PARAMS_B = 1.0
BOOL_FIELDS = (
    "preserve_capabilities",
    "long_term",
    "interpretability",
    "data_governance",
    "pair_input",
)

# One line of help per field: used by the CLI, the app and the README.
HELP: dict[str, str] = {
    "labeled_examples": "How many labeled input/output examples you have (e.g. 500).",
    "task_complexity": "simple (sentiment, spam), moderate (topic, intent), complex (reasoning, entailment, domain QA).",
    "compute": "minimal = laptop/CPU, low = one consumer GPU (<=24 GB), medium = one datacenter GPU (40-80 GB), high = a multi-GPU node (8 GPUs of 80 GB).",
    "accuracy_goal": "acceptable (a good baseline is fine), high (near the best you can get), critical (every point matters).",
    "overfitting_risk": "How worried you are that a trained model memorises a small or noisy set (low/medium/high).",
    "domain_shift": "How far your data is from what the model saw in pre-training: none (everyday text), moderate, large (clinical notes, legal, code in a rare language).",
    "preserve_capabilities": "Must the adapted model keep its general skills (chat, other tasks)?",
    "num_tasks": "How many distinct tasks one deployed model serves (e.g. 50 customers' classifiers).",
    "iteration_speed": "fast = behaviour must change within hours; slow_ok = a training cycle per change is fine.",
    "long_term": "Is this a persistent solution you will maintain and build on?",
    "interpretability": ("Do you prefer an adaptation people can read and audit (a written prompt)? It weighs toward "
                         "prompt engineering against the other factors; it does not rule trained options out."),
    "model_access": "weights (you can run/train the model), api_with_finetuning (a provider API that offers fine-tuning), api_only.",
    "model": "Optional: a model from the catalog (`advisor models` lists them, e.g. Llama-3.1-8B); it sets "
             "model_params_b and the layer/width shape the cost estimates use. Leave empty for a custom model.",
    "model_params_b": "Model size in billions of parameters (e.g. 0.135 for SmolLM2-135M, 7 for a 7B model); "
                      "with API access it may be left empty when the provider does not say.",
    "ml_expertise": "Team experience training models: none, some, expert.",
    "data_governance": "Is the data sensitive (PII, health, contracts) so it must stay in-house?",
    "gpu_memory_gb": "Optional: memory of the GPU you would train on, in GB (overrides the compute level's assumption; without a compute level, sets the level of that GPU: up to 24 GB low, larger medium, several GPUs high).",
    "budget_gpu_hours": "Optional: GPU-hours you can spend on training one task.",
    "num_classes": "Number of output classes (2 for yes/no).",
    "avg_input_tokens": "Typical input length in tokens (about 1.3 x words).",
    "avg_output_tokens": "Typical answer length in tokens: what a generation task writes (a translation, a "
                         "summary); 0 = a label of ~5 tokens. Training sequences, prompts' demonstrations and the "
                         "serving context count it.",
    "pair_input": "Does each example have two texts (e.g. premise + hypothesis)?",
    "zero_shot_accuracy": "Optional, measured: accuracy (0-1) of our small reference model (MiniLM) prompted zero-shot "
                          "on your data (`advisor pilot --data my.csv --text COL --label COL` splits your rows and "
                          "measures it in seconds) — a gauge of how hard your task is, "
                          "not your model's accuracy: your own model's prompt goes in prompt_accuracy.",
    "probe_accuracy": "Optional, measured: accuracy (0-1) of a linear probe on our small reference model's features, "
                      "trained on your labeled examples (`advisor pilot` or `bench probe`, seconds to a minute) — "
                      "another gauge of your task.",
    "task_kind": "classification (pick one of num_classes labels) or generation (write a short output, e.g. a "
                 "translation; scored by exact match): chance is 1/num_classes for the first, 0 for the second.",
    "precision": "Weights' precision for training/serving: auto (the cheapest standard one that fits: bf16, then 8-bit, "
                 "then 4-bit as in QLoRA), or fix one of fp32, bf16, 8-bit, 4-bit.",
    "batch_size": "Training batch size per GPU (activations grow linearly with it).",
    "seq_len": "Training sequence length in tokens; 0 = your typical input plus the label.",
    "epochs": "Passes over the rows trained on, at least: the recipe (and the training time priced) runs the "
              "measured protocol's 5 passes (100-320 steps of 16) where that is more; a provider bills these.",
    "lora_rank": "LoRA rank r that the memory, storage and recipe figures assume (alpha follows as 2r).",
    "context_length": "Serving context length in tokens (the KV cache grows with it); 0 = what each option sends per "
                      "request (prompt engineering: the instruction and demonstrations too).",
    "num_gpus": "Optional: number of GPUs of gpu_memory_gb each; empty = the compute level's (8 for high, a multi-GPU "
                "node; else 1).",
    "sharding": "auto (shard weights, gradients and optimizer state across the GPUs — ZeRO-3 / FSDP — when that is "
                "what fits), none (every GPU holds a full copy: data parallel only) or zero3 (as auto).",
    "prompt_accuracy": "Optional, measured: accuracy (0-1) of the best prompt (zero-shot or with demonstrations) "
                       "with your own model on held-out rows of your data (`advisor pilot --model PATH` measures "
                       "it); give prompt_accuracy_n with it. Prompt engineering's expected accuracy is then this "
                       "measurement with its binomial interval.",
    "prompt_accuracy_n": "Optional: how many held-out rows prompt_accuracy was measured on (its interval narrows "
                         "with them).",
    "price_per_m_training_tokens": "Optional: your provider's fine-tuning price in dollars per million training "
                                   "tokens (overrides data/prices.yaml).",
    "price_per_gpu_hour": "Optional: what one GPU-hour costs you in dollars (your cloud rate); else the on-demand "
                          "range in data/prices.yaml for your compute level prices the training.",
}


@dataclass(frozen=True)
class FieldProblem:
    """One invalid field: its name, the value received and what is allowed."""

    field: str
    value: Any
    allowed: str

    def __str__(self) -> str:
        return f"{short(self.field) if not isinstance(self.field, str) or len(self.field) > 60 else self.field}=" \
               f"{short(self.value)} (allowed: {self.allowed})"


# Error messages quote at most a short prefix of a value: a 60 MB string or a billion-laughs
# structure must not become a 60 MB (or endless) error line. reprlib stops at these limits
# without walking the whole value.
_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxother, _REPR.maxlevel = 40, 40, 2
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4


def short(value: Any) -> str:
    """A bounded repr of `value` (at most ~60 characters, whatever its size or nesting)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        # repr() of an int past 4300 digits raises ValueError; its size is what matters here.
        return f"<integer of about {int(value.bit_length() * 0.30103) + 1} digits>"
    try:
        return _REPR.repr(value)[:80]
    except (ValueError, RecursionError):  # pragma: no cover - reprlib is bounded; belt and braces
        return f"<{type(value).__name__}>"


class ProfileError(ValueError):
    """Raised when a profile has invalid fields; `.problems` lists every one."""

    def __init__(self, problems: list[FieldProblem]):
        self.problems = problems
        # At most 10 problems in the message (all stay in .problems): a file with 100k unknown
        # keys must not make a 40 MB error line.
        more = f"; (+{len(problems) - 10} more)" if len(problems) > 10 else ""
        super().__init__("invalid profile: " + "; ".join(str(p) for p in problems[:10]) + more)


# The largest GPU of compute level "low" (one consumer GPU): data/decision_table.yaml compute_memory_gb.low. Stated
# here because the profile layer cannot read the table (it sits above); tests/test_profile.py keeps the two in step.
CONSUMER_GPU_MAX_GB = 24.0


def compute_for_gpu(memory_gb: float, gpus: int | None = None) -> str:
    """The compute level of a GPU with `memory_gb` (and `gpus` of them): several GPUs are a node ("high"), one of
    up to 24 GB a consumer GPU ("low"), a larger one a datacenter GPU ("medium": one 141 GB H200 too). Never
    "minimal" (a laptop's CPU): a GPU was named."""
    if (gpus or 1) > 1:
        return "high"
    return "low" if memory_gb <= CONSUMER_GPU_MAX_GB else "medium"


@dataclass(frozen=True)
class ProjectProfile:
    """What the advisor needs to know about an adaptation project.

    Defaults describe a common starting point: a 1B-parameter open model, a
    few hundred labels, one consumer GPU, a moderate single task.
    """

    labeled_examples: int = 500
    task_complexity: str = "moderate"
    compute: str = "low"
    accuracy_goal: str = "high"
    overfitting_risk: str = "medium"
    domain_shift: str = "none"
    preserve_capabilities: bool = False
    num_tasks: int = 1
    iteration_speed: str = "slow_ok"
    long_term: bool = True
    interpretability: bool = False
    model_access: str = "weights"
    # A catalog name (advisor/models.py) or None for a custom model described by model_params_b alone.
    model: str | None = None
    model_params_b: float | None = 1.0  # None: an API model of unknown size (see ASSUMED_UNKNOWN_PARAMS_B)
    ml_expertise: str = "some"
    data_governance: bool = False
    gpu_memory_gb: float | None = None
    budget_gpu_hours: float | None = None
    num_classes: int = 2
    avg_input_tokens: int = 64
    pair_input: bool = False
    zero_shot_accuracy: float | None = None
    probe_accuracy: float | None = None
    task_kind: str = "classification"
    avg_output_tokens: int = 0  # 0: a label (advisor.costs.LABEL_TOKENS)
    precision: str = "auto"
    batch_size: int = 8
    seq_len: int = 0
    context_length: int = 0
    num_gpus: int | None = None  # None: the compute level's (advisor.costs.gpu_count)
    sharding: str = "auto"
    price_per_m_training_tokens: float | None = None
    price_per_gpu_hour: float | None = None
    # Assumptions behind the cost figures (issue 23 item 4), changeable on the answer page: they were constants.
    epochs: int = EPOCHS
    lora_rank: int = LORA_RANK
    # Prompting measured with the user's own model on held-out rows (`advisor pilot --model`), issue 23 item 5.
    prompt_accuracy: float | None = None
    prompt_accuracy_n: int | None = None

    def __post_init__(self) -> None:
        problems: list[FieldProblem] = []
        for f in fields(self):
            raw = getattr(self, f.name)
            try:
                value = _coerce(f.name, raw)
            except _Bad as bad:
                problems.append(FieldProblem(f.name, raw, bad.allowed))
                continue
            object.__setattr__(self, f.name, value)
        if not any(p.field in ("model", "model_params_b") for p in problems):
            problems += _model_size_problems(self)
        if self.model is not None and not any(p.field in ("model", "task_kind", "context_length") for p in problems):
            problems += _model_fit_problems(self)
        if self.model_params_b is None and self.model_access == "weights" and \
                not any(p.field in ("model", "model_params_b", "model_access") for p in problems):
            problems.append(FieldProblem("model_params_b", None, "a number > 0 and <= 10000 — required with "
                                         "model_access=weights (the memory and time estimates need it); leave it "
                                         "empty only for an API model of unknown size"))
        if not any(p.field.startswith("prompt_accuracy") for p in problems) and \
                (self.prompt_accuracy is None) != (self.prompt_accuracy_n is None):
            # An accuracy without its row count has no interval; a count alone measures nothing.
            missing = "prompt_accuracy_n" if self.prompt_accuracy_n is None else "prompt_accuracy"
            problems.append(FieldProblem(missing, None, "given together with "
                                         + ("prompt_accuracy" if missing.endswith("_n") else "prompt_accuracy_n")
                                         + " (both, or neither)"))
        if problems:
            raise ProfileError(problems)

    @property
    def params_b(self) -> float:
        """The size the computations use: model_params_b, or the stated assumption when an API model's size is
        unknown (ASSUMED_UNKNOWN_PARAMS_B)."""
        return self.model_params_b if self.model_params_b is not None else ASSUMED_UNKNOWN_PARAMS_B

    @property
    def size_known(self) -> bool:
        return self.model_params_b is not None

    # ---- construction -------------------------------------------------
    def changed(self, **values: Any) -> "ProjectProfile":
        """A copy with `values` changed, NOT re-validated: only for values already valid for their field (another
        profile's, a count the caller computed). Counterfactuals and per-option budgets make ~15 such copies per
        answer; `dataclasses.replace` re-runs every check (~0.2 ms each)."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.__dict__.update(values)
        return clone

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ProjectProfile":
        """Build from a mapping; unknown keys are reported like invalid values."""
        if isinstance(data, ProjectProfile):
            return data
        if not isinstance(data, Mapping):
            raise ProfileError([FieldProblem("profile", data, "a mapping of field names to values")])
        known = {f.name for f in fields(cls)}
        unknown = [FieldProblem(k, v, "a known field: " + ", ".join(sorted(known))) for k, v in data.items() if k not in known]
        try:
            profile = cls(**{k: v for k, v in data.items() if k in known})
        except ProfileError as err:
            raise ProfileError(unknown + err.problems) from None
        if unknown:
            raise ProfileError(unknown)
        if data.get("compute") is None and profile.gpu_memory_gb is not None and profile.model_access == "weights":
            # A GPU's memory without a compute level: the level that GPU belongs to, not the default "low" (a
            # consumer GPU's 40 TFLOP/s, and the table's "one consumer GPU" rule against full fine-tuning, for an
            # 80 GB card). The mapping cannot be read in __post_init__, which cannot tell a default from a choice.
            profile = dataclasses.replace(profile, compute=compute_for_gpu(profile.gpu_memory_gb, profile.num_gpus))
        if ("model_params_b" not in data and profile.model is None and profile.model_access != "weights"
                and profile.model_params_b is not None):
            # An API model whose size was not given is of unknown size, said as assumed — never "your 1B model"
            # from the field's default (a review, 2026-12-04).
            profile = dataclasses.replace(profile, model_params_b=None)
        # __post_init__ cannot tell an explicit model_params_b of 1.0 from the default; the mapping can.
        given = data.get("model_params_b")
        if profile.model is not None and given is not None and profile.model_params_b is not None:
            try:
                explicit = _coerce("model_params_b", given)
            except _Bad:  # pragma: no cover - already validated by the constructor
                explicit = profile.model_params_b
            if abs(explicit - profile.model_params_b) > MODEL_SIZE_TOLERANCE * profile.model_params_b:
                raise ProfileError([_conflict(profile.model, profile.model_params_b, given)])
        return profile

    @classmethod
    def from_json(cls, text: str) -> "ProjectProfile":
        if len(text) > MAX_PROFILE_BYTES:
            raise ProfileError([FieldProblem("profile", _size_of(text), f"at most {MAX_PROFILE_BYTES} characters")])
        try:
            data = json.loads(text, object_pairs_hook=_unique_keys, parse_int=_bounded_int)
        except _DuplicateKey as err:
            raise ProfileError([FieldProblem("profile", _size_of(text), f"each field once (duplicate key {err})")]) from None
        except json.JSONDecodeError as err:
            raise ProfileError([FieldProblem("profile", _size_of(text), f"valid JSON ({err.msg} at line {err.lineno})")]) from None
        except RecursionError:
            raise ProfileError([FieldProblem("profile", _size_of(text), "JSON nested less deeply (it overflowed the parser)")]) from None
        except ValueError as err:  # an integer literal past Python's 4300-digit limit
            raise ProfileError([FieldProblem("profile", _size_of(text), f"valid JSON ({str(err)[:60]})")]) from None
        return cls.from_dict(_top_level(data, empty_ok=False))

    @classmethod
    def from_yaml(cls, text: str) -> "ProjectProfile":
        if len(text) > MAX_PROFILE_BYTES:
            raise ProfileError([FieldProblem("profile", _size_of(text), f"at most {MAX_PROFILE_BYTES} characters")])
        try:
            data = yaml.load(text, Loader=BoundedLoader)  # noqa: S506 - a SafeLoader subclass
        except yaml.MarkedYAMLError as err:
            # The problem and its position only: str(err) quotes the offending line of the file.
            mark = err.problem_mark
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise ProfileError([FieldProblem("profile", _size_of(text), f"valid YAML ({err.problem or err.context}{where})")]) from None
        except yaml.YAMLError as err:
            raise ProfileError([FieldProblem("profile", _size_of(text), f"valid YAML ({str(err)[:80]})")]) from None
        except RecursionError:
            raise ProfileError([FieldProblem("profile", _size_of(text), f"YAML nested at most {MAX_DEPTH} levels")]) from None
        except ValueError as err:  # pragma: no cover - integers are bounded while constructing; a last guard
            raise ProfileError([FieldProblem("profile", _size_of(text), f"valid YAML ({str(err)[:60]})")]) from None
        return cls.from_dict(_top_level(data, empty_ok=True))

    @classmethod
    def load(cls, path: str | Path) -> "ProjectProfile":
        """Read a `.json`, `.yaml` or `.yml` profile file (UTF-8, at most MAX_PROFILE_BYTES)."""
        p = Path(path)
        try:
            # Regular files only, opened non-blocking: a FIFO given as --profile hung forever; /dev/zero or a huge
            # file is refused by size, never read whole.
            raw = read_bounded(p, MAX_PROFILE_BYTES, "profile")
        except FileRefused as err:
            why = str(err).replace(f"profile {p} ", "", 1)[:120]
            raise ProfileError([FieldProblem("profile", str(p)[:200], "a readable, regular .json/.yaml file of at "
                                             f"most {MAX_PROFILE_BYTES} bytes; this path {why}")]) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ProfileError([FieldProblem("profile", str(p)[:200], f"UTF-8 text (undecodable byte at offset {err.start})")]) from None
        return cls.from_json(text) if p.suffix.lower() == ".json" else cls.from_yaml(text)

    # ---- serialisation ------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


# Bounds on profile files: real profiles are ~1 KB, two levels deep, with no YAML aliases.
MAX_PROFILE_BYTES = 1_000_000
MAX_DEPTH = 20
MAX_ALIASES = 50
# A profile has ~30 nodes; 70,000 unknown keys took 28 s to reject, so the composer stops at 5,000 nodes.
MAX_NODES = 5_000
MAX_FIELDS = 200  # top-level keys; every unknown key becomes one reported problem
# 18 digits hold any count a person types (labeled examples, parameters); a 5,000-digit integer raised a 152-line
# traceback (Python's 4,300-digit conversion limit) — the digits are counted before int() is called.
MAX_INT_DIGITS = 18


class _DuplicateKey(ValueError):
    pass


def _size_of(text: Any) -> str:
    """How a file is named in an error: by its size, never by its content (`API_TOKEN: sk-live-1` was echoed)."""
    return f"<text of {len(text):,} characters>" if isinstance(text, str) else "<file>"


def _bounded_int(text: str) -> int:
    digits = len(text.replace("_", "").lstrip("+-"))
    if digits > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {digits} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(repr(str(k)[:40]))
        out[k] = v
    return out


class BoundedLoader(yaml.SafeLoader):
    """yaml.SafeLoader with a cap on aliases and nesting depth.

    A billion-laughs document is a few hundred bytes whose aliases expand to 10^9 nodes
    once walked (e.g. by repr); a 100k-deep bracket nest overflows the composer's recursion.
    Both are refused while composing, before any value is built.
    """

    def __init__(self, stream: Any):
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise yaml.YAMLError(f"more than {MAX_NODES:,} keys and values in one document")
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases (&anchor/*alias) in one document")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.YAMLError(f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        # Duplicate keys are an error: PyYAML keeps the last value silently, so `compute: low` then `compute: high`
        # answered for "high" without a word. Merge keys (<<) may override and are left to PyYAML.
        if isinstance(node, yaml.MappingNode):
            seen: set[tuple[str, str]] = set()
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if (key.tag, key.value) in seen:
                        raise yaml.constructor.ConstructorError(
                            "while constructing a mapping", node.start_mark,
                            f"duplicate key {key.value[:40]!r} (each field once)", key.start_mark)
                    seen.add((key.tag, key.value))
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: Any) -> int:
        value = str(self.construct_scalar(node))
        digits = len(value.replace("_", "").lstrip("+-"))
        if digits > MAX_INT_DIGITS:
            raise yaml.constructor.ConstructorError(None, None, f"an integer of {digits} digits (at most "
                                                    f"{MAX_INT_DIGITS})", node.start_mark)
        return super().construct_yaml_int(node)


BoundedLoader.add_constructor("tag:yaml.org,2002:int", BoundedLoader.construct_yaml_int)


def read_yaml_file(path: str | Path, max_bytes: int, what: str) -> Any:
    """A UTF-8 YAML file of at most `max_bytes`, parsed with BoundedLoader. Every problem is a ValueError naming
    `what` and the file (the task, model-catalog and other YAML readers wrap it in their own typed error)."""
    try:
        raw = read_bounded(path, max_bytes, what)
    except FileRefused as err:
        raise ValueError(str(err)) from None
    try:
        return yaml.load(raw.decode("utf-8"), Loader=BoundedLoader)  # noqa: S506 - a SafeLoader subclass
    except UnicodeDecodeError as err:
        raise ValueError(f"{what} {path} is not UTF-8 text (byte {err.start})") from None
    except yaml.MarkedYAMLError as err:
        mark = f" at line {err.problem_mark.line + 1}" if err.problem_mark else ""
        raise ValueError(f"{what} {path} is not valid YAML ({err.problem or err.context}{mark})") from None
    except (yaml.YAMLError, RecursionError) as err:
        raise ValueError(f"{what} {path} is not valid YAML ({str(err)[:80]})") from None
    except ValueError as err:  # pragma: no cover - integers are bounded while constructing; a last guard
        raise ValueError(f"{what} {path} is not valid YAML ({str(err)[:80]})") from None


def _top_level(data: Any, empty_ok: bool) -> Any:
    """A profile file's top level must be a mapping; `[]`, `false` or `0` are errors, not defaults."""
    if data is None and empty_ok:  # an empty YAML file: every field takes its default
        return {}
    if not isinstance(data, Mapping):
        # A whole file read as one string (any text without "key:") is named by its size, not
        # quoted: `--profile /etc/passwd` must not echo the file back.
        shown = f"<text of {len(data)} characters>" if isinstance(data, str) else data
        raise ProfileError([FieldProblem("profile", shown, "a mapping of field names to values at the top level")])
    if len(data) > MAX_FIELDS:
        raise ProfileError([FieldProblem("profile", f"<{len(data):,} fields>", f"at most {MAX_FIELDS} fields (a "
                                                                               f"profile has {len(fields(ProjectProfile))})")])
    return data


class _Bad(Exception):
    def __init__(self, allowed: str):
        self.allowed = allowed


MAX_NUMBER_CHARS = 100  # the longest number a person types; longer strings are refused unparsed
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def _plain_number(text: str, allowed: str) -> str:
    """`text` without digit-group separators ("8,000", "8 000", "8_000" all mean 8000). A comma that does not group
    thousands is refused, never dropped: "1,5" (a decimal comma) was read as 15 (a review, 2026-12-05)."""
    text = text.strip().replace("_", "").replace(" ", "")
    if "," in text and not re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?%?", text):
        raise _Bad(allowed + " (use '.' for decimals; ',' only between groups of three digits)")
    return text.replace(",", "")


def _real(value: Any, allowed: str) -> Any:
    """A number from another library (numpy's float32 or int64, Decimal, Fraction) as Python's own; anything else
    as it is (the caller refuses what is not a number)."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, (numbers.Real, decimal.Decimal)):
        try:
            return float(value)
        except (OverflowError, ValueError):
            raise _Bad(allowed) from None
    return value


def _coerce(name: str, value: Any) -> Any:
    """Return the canonical value for a field or raise `_Bad` with what is allowed."""
    if name in CHOICES:
        allowed = CHOICES[name]
        if isinstance(value, str) and value.strip().lower() in allowed:
            return value.strip().lower()
        raise _Bad(" | ".join(allowed))
    if name in INT_RANGES:
        lo, hi = INT_RANGES[name]
        allowed = f"integer {lo}..{hi}" + (" or null" if name in OPTIONAL_INTS else "")
        if name in OPTIONAL_INTS and (value is None or (isinstance(value, str) and not value.strip())):
            return None  # left empty
        if isinstance(value, bool):
            raise _Bad(allowed)
        value = _real(value, allowed)
        if isinstance(value, str):
            if len(value) > MAX_NUMBER_CHARS:  # int() of a 4300+-digit string raises, and is slow before that
                raise _Bad(allowed)
            try:
                # People write thousands as "8,000", "8 000" or "8_000"; all mean 8000.
                value = int(_plain_number(value, allowed))
            except ValueError:
                raise _Bad(allowed) from None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or not (lo <= value <= (hi if hi is not None else value)):
            raise _Bad(allowed)
        return value
    if name in FLOAT_RANGES:
        lo, inclusive, hi = FLOAT_RANGES[name]
        optional = name in OPTIONAL_FLOATS
        allowed = f"number {'>=' if inclusive else '>'} {lo:g} and <= {hi:g}" + (" or null" if optional else "")
        if optional and (value is None or (isinstance(value, str) and not value.strip())):
            return None  # left empty
        if isinstance(value, bool):
            raise _Bad(allowed)
        value = _real(value, allowed)
        if isinstance(value, str):
            if len(value) > MAX_NUMBER_CHARS:
                raise _Bad(allowed)
            text = _plain_number(value, allowed)
            # "85%" is a natural way to give an accuracy; only the 0-1 accuracy fields accept a percent sign.
            percent = text.endswith("%") and name.endswith("_accuracy")
            try:
                value = float(text[:-1] if percent else text) / (100 if percent else 1)
            except ValueError:
                raise _Bad(allowed) from None
        if not isinstance(value, (int, float)):
            raise _Bad(allowed)
        try:
            value = float(value)  # an int past ~1e308 (e.g. 10**400) raises OverflowError here
        except OverflowError:
            raise _Bad(allowed) from None
        if not math.isfinite(value):
            raise _Bad(allowed)
        if (value < lo if inclusive else value <= lo) or value > hi:
            raise _Bad(allowed)
        return value + 0.0  # -0.0 is 0 ("$-0.00" on the page)
    if name == "model":
        if value is None or (isinstance(value, str) and not value.strip()):
            return None  # no model named: model_params_b describes a custom one
        if not isinstance(value, str) or len(value) > MAX_NUMBER_CHARS:  # no catalog name is a list or 100+ chars
            raise _Bad(" | ".join(model_choices()) + " | empty (a custom model)")
        try:
            return get_model(value).name  # the catalog's spelling, whatever the case typed
        except UnknownModel as err:
            raise _Bad(" | ".join(err.allowed) + " | empty (a custom model)") from None
        except CatalogError as err:  # a broken catalog file must read as an error, not a traceback
            raise _Bad(f"a catalog name (the catalog could not be read: {str(err)[:120]})") from None
    if name in BOOL_FIELDS:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise _Bad("true | false")
    raise _Bad("a known field")  # pragma: no cover - every field is listed above


# A typed size within 1% of the named model's documented count is the same model written rounder ("8" for
# Llama-3.1-8B's 8.03B); the catalog's count is kept. Further apart, the two answers contradict each other.
MODEL_SIZE_TOLERANCE = 0.01
DEFAULT_MODEL_PARAMS_B = 1.0


def _model_size_problems(profile: "ProjectProfile") -> list[FieldProblem]:
    """Fill model_params_b from a named model, or report the two fields when they disagree."""
    if profile.model is None:
        return []
    spec = get_model(profile.model)
    given = profile.model_params_b
    # The dataclass default (1.0) means "not given" unless the model really is a 1B one: a profile that names a
    # model need not repeat its size. (from_dict catches an explicit 1.0 that contradicts the model.)
    if given is None or given == DEFAULT_MODEL_PARAMS_B or \
            abs(given - spec.params_b) <= MODEL_SIZE_TOLERANCE * spec.params_b:
        object.__setattr__(profile, "model_params_b", spec.params_b)
        return []
    return [_conflict(spec.name, spec.params_b, given)]


def _model_fit_problems(profile: "ProjectProfile") -> list[FieldProblem]:
    """What a named model cannot do, as typed errors (a review, 2026-12-05: MiniLM on a generation task was ranked
    "measured here" while bench refuses the pair as unsupported; a 100,000-token serving context on
    Phi-3-mini-4k sized a 39 GB KV cache and called every option feasible)."""
    spec = get_model(profile.model)
    out = []
    if profile.task_kind == "generation" and spec.encoder:
        out.append(FieldProblem("task_kind", profile.task_kind, f"classification — model={spec.name} is an encoder: "
                                "it has no decoder to write an answer (bench refuses the pair as unsupported: "
                                "data/results/minilm/en_fr_words); a generation task needs a causal LM"))
    if profile.context_length and profile.context_length > spec.context:
        out.append(FieldProblem("context_length", profile.context_length,
                                f"0 to {spec.context:,}, the context window of model={spec.name} (data/models.yaml)"))
    return out


def _conflict(name: str, documented: float, given: Any) -> FieldProblem:
    return FieldProblem("model_params_b", given, f"{documented:g}, the size of model={name} — model and "
                                                 "model_params_b conflict: give one of them, or the same size")


def model_choices() -> list[str]:
    """The catalog's names (for forms and help); empty when the catalog cannot be read."""
    try:
        return model_names()
    except CatalogError:
        return []


def field_names() -> list[str]:
    """The profile's field names in declaration order."""
    return [f.name for f in fields(ProjectProfile)]
