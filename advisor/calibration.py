"""Calibration: benchmark results -> fitted `OutcomeModel`s; a profile -> expected outcomes.

Nothing is pickled: the models are refitted from the result table at load (well under a
second for a few hundred runs) and cached per process.

Target: accuracy as *gain over chance*, (acc - 1/k) / (1 - 1/k), so that tasks with 2 and
with 77 classes share one scale; predictions are mapped back to accuracy.

Features (one row per run, or per (profile, option)), each also crossed with the method:
  log2 examples per class (n / k) | pair task | log10 backbone params | zero-shot gain
  [| probe gain].
*Zero-shot gain* is the task-difference proxy: the backbone's zero-shot prompting accuracy
on the task relative to chance, measured by the prompt_engineering runs. *Probe gain* is
the accuracy, relative to chance, of a linear probe (logistic regression on the frozen
backbone's features) trained on the same n examples — a measurement that takes seconds.
Both are things a user can measure on their own data (`bench probe --task-file my.yaml
--size N` prints them) and pass as `zero_shot_accuracy` / `probe_accuracy`; two accuracy
models are fitted, with and without the probe feature.

A profile maps to features as follows (the advisor's own, stated mapping):
  labeled_examples / num_classes -> examples per class; pair_input -> as given;
  zero_shot_accuracy, probe_accuracy -> as measured, when given; otherwise domain_shift and
  task_complexity -> zero-shot gain: the quantile {none: .75, moderate: .5, large: .25} of the
  measured zero-shot gains, moved by {simple: +.15, moderate: 0, complex: -.15};
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
BASE = ("log2_examples_per_class", "is_pair", "log10_backbone_params", "zero_shot_gain")
WITH_PROBE = (*BASE, "probe_gain")
SHIFT_QUANTILE = {"none": 0.75, "moderate": 0.5, "large": 0.25}
COMPLEXITY_SHIFT = {"simple": 0.15, "moderate": 0.0, "complex": -0.15}
# Parameters (billions) at which the gap to full fine-tuning closes, per the literature.
GAP_CLOSES_AT_B = {"prompt_tuning": 10.0, "prefix_tuning": 0.3}
PRIOR_SOURCE = {"prompt_tuning": "Lester et al. 2021", "prefix_tuning": "Liu et al. 2022 (P-Tuning v2)"}


def chance_gain(accuracy: Any, num_classes: Any) -> Any:
    """Accuracy relative to chance: 0 at 1/k, 1 at perfect."""
    k = np.asarray(num_classes, dtype=float)
    return (np.asarray(accuracy, dtype=float) - 1 / k) / (1 - 1 / k)


def from_gain(gain: Any, num_classes: Any) -> np.ndarray:
    k = np.asarray(num_classes, dtype=float)
    return np.clip(np.asarray(gain, dtype=float), 0.0, 1.0) * (1 - 1 / k) + 1 / k


def prompt_gains(df: Any) -> dict[tuple[str, str], float]:
    """(backbone, task) -> zero-shot accuracy relative to chance, from prompt_engineering runs."""
    out: dict[tuple[str, str], float] = {}
    pe = df[(df.method == "prompt_engineering") & df.zero_shot_accuracy.notna()]
    for (b, t), g in pe.groupby(["backbone", "task"]):
        out[(b, t)] = float(chance_gain(g.zero_shot_accuracy.mean(), g.num_classes.iloc[0]))
    return out


def probe_gains(df: Any) -> dict[tuple[str, str, int], float]:
    """(backbone, task, train size) -> linear-probe accuracy relative to chance (mean over seeds)."""
    lp = df[df.method == "linear_probe"]
    return {(b, t, int(n)): float(chance_gain(g.accuracy.mean(), g.num_classes.iloc[0]))
            for (b, t, n), g in lp.groupby(["backbone", "task", "train_size"])}


def design(numeric: np.ndarray, methods: list[str]) -> np.ndarray:
    """[method one-hot | numeric | numeric x each method]: a slope per method for every feature."""
    onehot = np.asarray([[float(m == x) for x in METHODS] for m in methods]).reshape(-1, len(METHODS))
    numeric = np.asarray(numeric, dtype=float).reshape(len(methods), -1)
    crossed = [numeric * onehot[:, [j]] for j in range(len(METHODS))]
    return np.hstack([onehot, numeric, *crossed])


def monotone_columns(n_numeric: int) -> tuple[int, ...]:
    """Columns of `design` carrying log2 examples per class (numeric column 0): constrained >= 0."""
    first = len(METHODS)
    return (first, *(first + n_numeric * (1 + j) for j in range(len(METHODS))))


def _numeric(size: float, classes: float, pair: bool, params: float, zs_gain: float,
             probe_gain: float | None = None) -> list[float]:
    row = [math.log2(max(size, 1) / max(classes, 2)), float(pair), math.log10(max(params, 1.0)), zs_gain]
    return row if probe_gain is None else [*row, probe_gain]


@dataclass
class Calibration:
    """Fitted outcome models and the measured table they came from."""

    runs: Any  # DataFrame of successful runs
    accuracy: OutcomeModel  # gain over chance, BASE features
    accuracy_probe: OutcomeModel | None  # gain over chance, WITH_PROBE features
    log_time: OutcomeModel
    memory: OutcomeModel
    gains: dict[tuple[str, str], float]
    backbones: dict[str, float]  # name -> parameters
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_runs(self) -> int:
        return len(self.runs)

    def profile_gain(self, profile: ProjectProfile) -> tuple[float, str]:
        """The zero-shot gain for a profile and where it came from."""
        if profile.zero_shot_accuracy is not None:
            return float(chance_gain(profile.zero_shot_accuracy, profile.num_classes)), "measured zero-shot accuracy"
        values = np.array(sorted(self.gains.values())) if self.gains else np.array([0.5])
        q = SHIFT_QUANTILE[profile.domain_shift] + COMPLEXITY_SHIFT[profile.task_complexity]
        return float(np.quantile(values, min(0.95, max(0.05, q)))), "domain_shift/task_complexity mapping"

    def _params(self, profile: ProjectProfile) -> float:
        measured = sorted(self.backbones.values())
        return min(max(profile.model_params_b * 1e9, measured[0]), measured[-1])

    def _design(self, profile: ProjectProfile, sizes: list[int], methods: tuple[str, ...],
                probe_gain: float | None = None) -> np.ndarray:
        """Feature rows for every (size, method), sizes outer."""
        params, (zs, _) = self._params(profile), self.profile_gain(profile)
        rows = [_numeric(n, profile.num_classes, profile.pair_input, params, zs, probe_gain)
                for n in sizes for _ in methods]
        return design(np.asarray(rows), [m for _ in sizes for m in methods])

    def _gain_points(self, profile: ProjectProfile, sizes: list[int],
                     methods: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Gain-over-chance predictions (point, low, high), each shaped (len(sizes), len(methods)).

        With a measured probe, the probe model's offset from the base model at the user's size
        is carried to the other sizes (the learning curve keeps its measured-task shape)."""
        shape = (len(sizes), len(methods))
        point, low, high = (a.reshape(shape) for a in self.accuracy.predict_interval(
            self._design(profile, sizes, methods)))
        if profile.probe_accuracy is not None and self.accuracy_probe is not None:
            n0 = max(profile.labeled_examples, 1)
            pg = float(chance_gain(profile.probe_accuracy, profile.num_classes))
            p_point, p_low, p_high = self.accuracy_probe.predict_interval(self._design(profile, [n0], methods, pg))
            base0 = point[sizes.index(n0)] if n0 in sizes else self.accuracy.predict(
                self._design(profile, [n0], methods))
            point = point + (p_point - base0)
            low, high = point + (p_low - p_point), point + (p_high - p_point)
        return point, low, high

    def expected(self, profile: ProjectProfile) -> dict[str, dict[str, Any]]:
        """Per option: expected accuracy (point, low, high), train time and memory, with how it was derived."""
        params_user = profile.model_params_b * 1e9
        measured = sorted(self.backbones.values())
        params = self._params(profile)
        n = max(profile.labeled_examples, 1)
        point, low, high = (from_gain(a[0], profile.num_classes) for a in self._gain_points(profile, [n], METHODS))
        zs_source = self.profile_gain(profile)[1]
        X = self._design(profile, [n], METHODS)
        t_point = self.log_time.predict(X)
        mem = self.memory.predict(X)
        by = {m: i for i, m in enumerate(METHODS)}
        decades = max(0.0, math.log10(params_user / measured[-1]))
        probe = profile.probe_accuracy is not None and self.accuracy_probe is not None
        out = {}
        for option in OPTIONS:
            i = by[option]
            p, lo, hi = float(point[i]), float(low[i]), float(high[i])
            notes = [f"fitted on {self.n_runs} measured runs; nearest measured backbone "
                     f"{params / 1e6:.0f}M parameters; task difficulty from the {zs_source}"
                     + ("; anchored on your measured probe accuracy" if probe else "")]
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
        point, _, _ = self._gain_points(profile, [max(n, 1) for n in sizes], OPTIONS)
        acc = from_gain(point, profile.num_classes)
        return {n: dict(zip(OPTIONS, map(float, row))) for n, row in zip(sizes, acc)}


def fit(df: Any, source: str = "") -> Calibration | None:
    """Fit from a results DataFrame (successful runs); None when there is too little data."""
    ok = df[(df.status == "ok") & df.accuracy.notna()] if "status" in df else df
    if len(ok) < 20 or ok.task.nunique() < 2:
        return None
    gains = prompt_gains(ok)
    ok = ok[[(b, t) in gains for b, t in zip(ok.backbone, ok.task)]]  # a task needs its zero-shot measurement
    if len(ok) < 20 or ok.task.nunique() < 2:
        return None
    probes = probe_gains(ok)
    methods = list(ok.method)
    groups = np.asarray(ok.task)
    base = np.asarray([_numeric(r.train_size, r.num_classes, bool(r.is_pair), r.backbone_params,
                                gains[(r.backbone, r.task)]) for r in ok.itertuples()])
    X = design(base, methods)
    y = chance_gain(ok.accuracy, ok.num_classes)
    acc = OutcomeModel(monotone_features=monotone_columns(len(BASE))).fit(X, y, groups=groups)
    has_probe = np.asarray([(r.backbone, r.task, int(r.train_size)) in probes for r in ok.itertuples()])
    acc_probe = None
    if has_probe.sum() >= 20 and len(set(groups[has_probe])) >= 2:
        sub = ok[has_probe]
        probe_col = [probes[(r.backbone, r.task, int(r.train_size))] for r in sub.itertuples()]
        Xp = design(np.c_[base[has_probe], probe_col], list(sub.method))
        acc_probe = OutcomeModel(monotone_features=monotone_columns(len(WITH_PROBE))).fit(
            Xp, y[has_probe], groups=groups[has_probe])
    t = OutcomeModel(monotone_features=monotone_columns(len(BASE))).fit(
        X, np.log10(ok.train_time_s.to_numpy(float) + 0.01), groups=groups)
    mem = OutcomeModel().fit(X, ok.peak_rss_mb.to_numpy(float), groups=groups)
    backbones = {b: float(g.backbone_params.iloc[0]) for b, g in ok.groupby("backbone")}
    return Calibration(ok.reset_index(drop=True), acc, acc_probe, t, mem, gains, backbones, source)


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
