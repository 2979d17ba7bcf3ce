"""Calibration: benchmark results -> fitted `OutcomeModel`s; a profile -> expected outcomes.

Nothing is pickled: the models are refitted from the result table at load (well under a
second for a few hundred runs) and cached per process.

Features (one row per run, or per (profile, option)):
  log2 train size | log2 classes | log2 mean input tokens | pair task | log10 backbone params |
  prompt gain | one-hot method.
*Prompt gain* is the task-difference proxy: the backbone's zero-shot prompting accuracy on
the task relative to chance, (acc - 1/k) / (1 - 1/k), measured by the prompt_engineering runs.

A profile maps to features as follows (the advisor's own, stated mapping):
  labeled_examples -> train size; num_classes, avg_input_tokens, pair_input -> as given;
  domain_shift and task_complexity -> prompt gain: the quantile {none: .75, moderate: .5,
  large: .25} of the measured prompt gains, moved by {simple: +.15, moderate: 0, complex: -.15};
  model size -> clamped to the measured backbones, then the literature scale prior below.

Scale prior (literature, not measured here), applied above the largest measured backbone:
  prompt tuning closes its gap to full fine-tuning by ~10B parameters (Lester et al. 2021),
  prefix tuning / P-tuning v2 by ~0.3B (Liu et al. 2022): the gap shrinks linearly in
  log10(params) up to those sizes; intervals widen by 2 points per decade of extrapolation.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from advisor.model import OutcomeModel
from advisor.profile import OPTIONS, ProjectProfile

METHODS = (*OPTIONS, "linear_probe")
NUMERIC = ("log2_train_size", "log2_num_classes", "log2_mean_input_tokens", "is_pair", "log10_backbone_params",
           "prompt_gain")
FEATURES = (*NUMERIC, *(f"method={m}" for m in METHODS))
SHIFT_QUANTILE = {"none": 0.75, "moderate": 0.5, "large": 0.25}
COMPLEXITY_SHIFT = {"simple": 0.15, "moderate": 0.0, "complex": -0.15}
# Parameters (billions) at which the gap to full fine-tuning closes, per the literature.
GAP_CLOSES_AT_B = {"prompt_tuning": 10.0, "prefix_tuning": 0.3}
PRIOR_SOURCE = {"prompt_tuning": "Lester et al. 2021", "prefix_tuning": "Liu et al. 2022 (P-Tuning v2)"}


def prompt_gains(df: Any) -> dict[tuple[str, str], float]:
    """(backbone, task) -> zero-shot accuracy relative to chance, from prompt_engineering runs."""
    out: dict[tuple[str, str], float] = {}
    pe = df[(df.method == "prompt_engineering") & df.zero_shot_accuracy.notna()]
    for (b, t), g in pe.groupby(["backbone", "task"]):
        k = float(g.num_classes.iloc[0])
        out[(b, t)] = float((g.zero_shot_accuracy.mean() - 1 / k) / (1 - 1 / k))
    return out


def _row(size: float, classes: float, tokens: float, pair: bool, params: float, gain: float, method: str) -> list:
    return [math.log2(max(size, 1)), math.log2(max(classes, 2)), math.log2(max(tokens, 1)), float(pair),
            math.log10(max(params, 1.0)), gain, *(float(method == m) for m in METHODS)]


def run_features(df: Any, gains: dict[tuple[str, str], float]) -> np.ndarray:
    rows = [_row(r.train_size, r.num_classes, r.mean_input_tokens, bool(r.is_pair), r.backbone_params,
                 gains.get((r.backbone, r.task), np.nan), r.method) for r in df.itertuples()]
    return np.asarray(rows, dtype=float).reshape(-1, len(FEATURES))


@dataclass
class Calibration:
    """Fitted outcome models and the measured table they came from."""

    runs: Any  # DataFrame of successful runs
    accuracy: OutcomeModel
    log_time: OutcomeModel
    memory: OutcomeModel
    gains: dict[tuple[str, str], float]
    backbones: dict[str, float]  # name -> parameters
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_runs(self) -> int:
        return len(self.runs)

    def profile_gain(self, profile: ProjectProfile) -> float:
        values = np.array(sorted(self.gains.values())) if self.gains else np.array([0.5])
        q = SHIFT_QUANTILE[profile.domain_shift] + COMPLEXITY_SHIFT[profile.task_complexity]
        return float(np.quantile(values, min(0.95, max(0.05, q))))

    def expected(self, profile: ProjectProfile) -> dict[str, dict[str, Any]]:
        """Per option: expected accuracy (point, low, high), train time and memory, with how it was derived."""
        params_user = profile.model_params_b * 1e9
        measured = sorted(self.backbones.values())
        params = min(max(params_user, measured[0]), measured[-1])
        gain = self.profile_gain(profile)
        X = np.asarray([_row(max(profile.labeled_examples, 1), profile.num_classes, profile.avg_input_tokens,
                             profile.pair_input, params, gain, m) for m in METHODS])
        point, low, high = self.accuracy.predict_interval(X)
        t_point = self.log_time.predict(X)
        mem = self.memory.predict(X)
        by = {m: i for i, m in enumerate(METHODS)}
        decades = max(0.0, math.log10(params_user / measured[-1]))
        out = {}
        for option in OPTIONS:
            i = by[option]
            p, lo, hi = float(point[i]), float(low[i]), float(high[i])
            notes = [f"fitted on {self.n_runs} measured runs; nearest measured backbone "
                     f"{params / 1e6:.0f}M parameters"]
            if option in GAP_CLOSES_AT_B and decades > 0:
                ft = float(point[by["full_finetuning"]])
                closes = math.log10(GAP_CLOSES_AT_B[option] * 1e9 / measured[-1])
                w = min(1.0, decades / closes) if closes > 0 else 1.0
                if ft > p:
                    shift = w * (ft - p)
                    p, lo, hi = p + shift, lo + shift, hi + shift
                notes.append(f"scale prior (literature, not measured): {PRIOR_SOURCE[option]} — gap to full "
                             f"fine-tuning closed by {w:.0%} at {profile.model_params_b:g}B")
            widen = 0.02 * decades
            out[option] = {"point": round(min(1.0, p), 4), "low": round(max(0.0, lo - widen), 4),
                           "high": round(min(1.0, hi + widen), 4),
                           "train_time_s_at_measured_scale": round(10 ** float(t_point[i]), 2),
                           "peak_rss_mb_at_measured_scale": round(float(mem[i]), 1),
                           "basis": "; ".join(notes)}
        return out


    def points_by_size(self, profile: ProjectProfile, sizes: list[int]) -> dict[int, dict[str, float]]:
        """Point predictions for the five options at several training sizes, in one batched call."""
        measured = sorted(self.backbones.values())
        params = min(max(profile.model_params_b * 1e9, measured[0]), measured[-1])
        gain = self.profile_gain(profile)
        X = np.asarray([_row(max(n, 1), profile.num_classes, profile.avg_input_tokens, profile.pair_input, params,
                             gain, m) for n in sizes for m in OPTIONS])
        pred = self.accuracy.predict(X).reshape(len(sizes), len(OPTIONS))
        return {n: dict(zip(OPTIONS, map(float, row))) for n, row in zip(sizes, pred)}


def fit(df: Any, source: str = "") -> Calibration | None:
    """Fit from a results DataFrame (successful runs); None when there is too little data."""
    ok = df[(df.status == "ok") & df.accuracy.notna()] if "status" in df else df
    if len(ok) < 20 or ok.task.nunique() < 2:
        return None
    gains = prompt_gains(ok)
    X = run_features(ok, gains)
    acc = OutcomeModel().fit(X, ok.accuracy.to_numpy(float))
    t = OutcomeModel().fit(X, np.log10(ok.train_time_s.to_numpy(float) + 0.01))
    mem = OutcomeModel(monotone_feature=None).fit(X, ok.peak_rss_mb.to_numpy(float))
    backbones = {b: float(g.backbone_params.iloc[0]) for b, g in ok.groupby("backbone")}
    return Calibration(ok.reset_index(drop=True), acc, t, mem, gains, backbones, source)


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, stamp: float) -> Calibration | None:
    from bench.results import load

    return fit(load(path, include_failed=False), source=path)


_CHECKED: dict[str, tuple[float, float]] = {}  # path -> (checked at, folder stamp)
RECHECK_S = 30.0


@functools.lru_cache(maxsize=4)
def _load_served(folder: str) -> Calibration | None:
    import json

    import pandas as pd

    runs = pd.DataFrame(json.loads((Path(folder) / "runs.json").read_text(encoding="utf-8")))
    stamp = Path(folder).name
    return fit(runs, source=f"served calibration {stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}")


def load_calibration(results_dir: str | Path | None = None) -> Calibration | None:
    """The calibration to use.

    An explicit `results_dir` (or $TUNING_ADVISOR_RESULTS) is fitted live; otherwise the
    calibration promoted by `bench refresh` (data/calibration/SERVED) is served, and without
    one the live data/results. Live folders are refitted when they change, re-scanned at
    most every 30 s so a warm `recommend()` stays fast.
    """
    import os
    import time

    from advisor.evidence import results_dir as default_dir

    if results_dir is None and not os.environ.get("TUNING_ADVISOR_RESULTS"):
        from bench.refresh import served_dir

        served = served_dir()
        if served is not None:
            return _load_served(str(served))
    path = Path(results_dir) if results_dir else default_dir()
    if not path.exists():
        return None
    key = str(path)
    now = time.monotonic()
    checked = _CHECKED.get(key)
    if checked is None or now - checked[0] > RECHECK_S:
        stamp = max((p.stat().st_mtime for p in path.glob("*/*/*")), default=0.0)
        _CHECKED[key] = checked = (now, stamp)
    return _load_cached(key, checked[1])
