"""Feature rows shared by the fit (advisor.calibration) and the served predictor (advisor.artifact).

numpy only: this module is on the `recommend()` path.

Target scale: a score as *gain over chance*, (s - 1/k) / (1 - 1/k), so tasks with 2 and with 150 classes share
one scale (chance 0 for generation). Every numeric feature below is something a user knows or can measure on their
own data in seconds (`bench probe`): examples per class, pair input, model size, input length, zero-shot prompting
accuracy and linear-probe accuracy at their n.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

# The five options the advisor ranks (the task model's methods); the linear probe is a *feature*, never an option.
from advisor.options import OPTIONS  # noqa: E402 - the one option registry

# Every numeric feature the calibration may use; which subset a mode uses is chosen by nested evaluation.
NUMERIC: dict[str, str] = {
    "log2_examples_per_class": "log2(labeled examples / classes)",
    "is_pair": "1 for sentence-pair input",
    "is_generation": "1 for a generation task (the model writes text, scored by exact match; no label set)",
    "log10_params": "log10(backbone parameters), clamped to the measured backbones",
    "log2_input_tokens": "log2(mean input tokens)",
    "zero_shot_gain": "zero-shot prompting accuracy relative to chance (measured, or mapped from the answers)",
    "probe_gain": "linear-probe accuracy on your n examples relative to chance (measured)",
}
MONOTONE = ("log2_examples_per_class",)  # more data never predicts a lower score for a trained option


def chance(num_classes: float) -> float:
    return 0.0 if num_classes <= 1 else 1.0 / float(num_classes)


def to_gain(score: float | np.ndarray, num_classes: float | np.ndarray) -> np.ndarray:
    k = np.asarray(num_classes, dtype=float)
    c = np.where(k <= 1, 0.0, 1.0 / np.maximum(k, 1.0))
    return (np.asarray(score, dtype=float) - c) / (1.0 - c)


def from_gain(gain: float | np.ndarray, num_classes: float | np.ndarray, clip: bool = True) -> np.ndarray:
    """Back to the score scale, within [chance, 1]; `clip=False` keeps the linear value (the size model moves it
    before the answer bounds it: advisor.artifact.ServedCalibration.expected)."""
    if np.ndim(num_classes) == 0:  # one profile's classes: chance in plain floats (19 -> 9 us a call, 7 per answer)
        c: float | np.ndarray = chance(float(num_classes))
    else:
        k = np.asarray(num_classes, dtype=float)
        c = np.where(k <= 1, 0.0, 1.0 / np.maximum(k, 1.0))
    g = np.asarray(gain, dtype=float)
    return (np.minimum(np.maximum(g, 0.0), 1.0) if clip else g) * (1.0 - c) + c


def numeric_values(n: float, k: float, pair: bool, params: float, tokens: float, zs_gain: float | None,
                   probe_gain: float | None, generation: bool = False) -> dict[str, float | None]:
    return {"log2_examples_per_class": math.log2(max(float(n), 1.0) / max(float(k), 1.0)),
            "is_pair": float(bool(pair)), "is_generation": float(bool(generation)),
            "log10_params": math.log10(max(float(params), 1.0)),
            "log2_input_tokens": math.log2(max(float(tokens), 1.0)),
            "zero_shot_gain": None if zs_gain is None else float(zs_gain),
            "probe_gain": None if probe_gain is None else float(probe_gain)}


def design(rows: Sequence[Mapping[str, float | None]], methods: Sequence[str], features: Sequence[str]) -> np.ndarray:
    """[method one-hot | numeric | numeric x each method]: every feature gets a slope per method."""
    onehot = np.asarray([[float(m == o) for o in OPTIONS] for m in methods], dtype=float).reshape(len(methods),
                                                                                                  len(OPTIONS))
    numeric = np.asarray([[float(r[f]) for f in features] for r in rows], dtype=float).reshape(len(rows),
                                                                                               len(features))
    crossed = [numeric * onehot[:, [j]] for j in range(len(OPTIONS))]
    return np.hstack([onehot, numeric, *crossed])


def prompting_data_columns(features: Sequence[str]) -> tuple[int, ...]:
    """Prompt engineering's own extra slope on the data-size feature: constrained <= 0, so that with the trained
    options' extra slopes >= 0 (`monotone_columns`) every trained option's expected score rises with more data at
    least as fast as prompting's — more data never moves a trained option down relative to prompt engineering."""
    p, o = len(features), len(OPTIONS)
    return tuple(o + p * (1 + OPTIONS.index("prompt_engineering")) + list(features).index(name)
                 for name in MONOTONE if name in features)


def monotone_columns(features: Sequence[str], trained: Iterable[str] = OPTIONS[1:]) -> tuple[int, ...]:
    """Columns of `design` on the data-size feature: the shared slope (prompting's, >= 0) and each *trained*
    option's extra slope (>= 0)."""
    p, o = len(features), len(OPTIONS)
    out = []
    for name in MONOTONE:
        if name not in features:
            continue
        i = list(features).index(name)
        out.append(o + i)
        out += [o + p * (1 + OPTIONS.index(m)) + i for m in trained]
    return tuple(out)


def linear_predict(X: np.ndarray, model: Mapping[str, object]) -> np.ndarray:
    """The served form of `OutcomeModel.predict`: ((X - mean) / scale) @ coef + intercept."""
    mean = np.asarray(model["mean"], dtype=float)
    scale = np.asarray(model["scale"], dtype=float)
    coef = np.asarray(model["coef"], dtype=float)
    return ((X - mean) / scale) @ coef + float(model["intercept"])


GAP_OPTIONS = ("prompt_engineering", "prompt_tuning", "prefix_tuning", "lora")  # gaps are to full fine-tuning


def gap_features(method: str, log_params: float, log_examples: float, encoder: float, n_sources: int) -> list[float]:
    """One row of the size model's gap design (advisor.scaling); every source offset zero: the average setup."""
    x = [log_params, log_examples, encoder]
    onehot = [float(method == m) for m in GAP_OPTIONS]
    return onehot + [v * o for o in onehot for v in x] + [0.0] * n_sources


def residual_band(q: dict[str, Any], option: str, kind: str) -> list[float] | None:
    """The residual quantiles an interval of the size-and-data model's gap for `option` uses, for a prediction of
    provenance `kind` ("published": a new setting at scale; "ours"): the option's own (advisor.scaling.
    _residual_quantiles `by_option`), else the pooled ones of that provenance, else None. One rule for the fit's
    evaluation and the served answer (advisor.artifact._scaling_predict)."""
    return ((q.get("by_option") or {}).get(option) or {}).get(kind) or q.get(kind)
