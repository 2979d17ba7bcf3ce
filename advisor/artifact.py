"""The served calibration: one `calibration.json` (written by `advisor calibrate` / `bench refresh`), applied with
numpy alone — no pandas, scikit-learn or scipy on the `recommend()` path, and never a fit at request time.

Which artifact: `$TUNING_ADVISOR_CALIBRATION` (a folder or a calibration.json), else the folder named by
data/calibration/SERVED. None found, or one of another version: `load_served()` returns None and says why in
`last_problem()`; `recommend()` then answers rules-only and says so.
"""

from __future__ import annotations

import json
import math
import re
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from advisor.artifact_schema import ArtifactError, FileRefused, read_artifact, read_pointer
from advisor.decision import DecisionParams
from advisor.features import (OPTIONS, design, from_gain, gap_features, linear_predict, numeric_values,
                              residual_band, to_gain)
from advisor.options import LABELS

VERSION = 2
REPO = Path(__file__).resolve().parent.parent
CAL_ROOT = REPO / "data" / "calibration"
NEAR_PARAMS_DECADES = math.log10(2.0)  # within 2x of a measured backbone's size counts as "measured here"
NEAR_EXAMPLES_DECADES = math.log10(2.0)
PUBLISHED_NEAR = (0.3, 0.5)  # decades of parameters / examples to a published row that count as "published"

_PROBLEM: list[str] = []


MEASURED_ON_YOUR_DATA = "measured on your data"
# No option scores above 1, nor (a classifier) below guessing; a setting we did not measure may not claim a perfect
# score either. The decision compares the points within these bounds — the numbers the page shows — and so does
# the evaluation that selects it (advisor.calibration): an extrapolated LoRA at "1.061" scored prefix tuning 0/100
# for being "5.2 points below" while the page showed both at 0.980.
UNMEASURED_CEILING = 0.98
UNMEASURED_HIGH = 0.99  # the top of an interval where we did not measure
# Prompting a model larger than our backbones credits the labelled data up to this many examples and no further: the
# most demonstrations in any published prompting row we hold (Brown et al. 2020, K = 100; data/evidence/, checked by
# tests/test_scaling.py). Our task model's prompting slope in examples comes mostly from MiniLM's class centroids,
# which use every example; a prompt does not (SmolLM2's few-shot prompts hold 8). Extrapolated past the record it
# rose 7 points from 11 to 174,836 examples on a 374B model, while full fine-tuning sat at the 0.98 ceiling: the lead
# shrank from 5.5 to 3.9 points and prompting overtook it with more data (a Hypothesis counterexample, issue 20).
PROMPT_EXAMPLES_MAX = 100
Z_10_90 = 1.2815515655446004  # the standard normal's 90% quantile: a 10-90% interval is point +- 1.2816 sd


def wilson_interval(p: float, n: int, z: float = Z_10_90) -> tuple[float, float]:
    """The Wilson score interval of a proportion p measured on n rows (Wilson 1927): unlike p +- z sd it stays
    inside 0-1 and is not zero-width at p = 0 or 1 — 8 of 8 correct is not a certain 100%."""
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def measured_prompt_interval(profile: Any) -> tuple[float, float, float] | None:
    """(accuracy, 10% end, 90% end) of the prompting the user measured on their own rows, or None."""
    p, n = getattr(profile, "prompt_accuracy", None), getattr(profile, "prompt_accuracy_n", None)
    if p is None or not n:
        return None
    lo, hi = wilson_interval(float(p), int(n))
    return float(p), min(lo, float(p)), max(hi, float(p))


def _classes(profile: Any) -> int:
    """Classes for the chance level: a generation task has no fixed label set (chance 0, as k = 1)."""
    return 1 if getattr(profile, "task_kind", "classification") == "generation" else profile.num_classes


def last_problem() -> str | None:
    return _PROBLEM[-1] if _PROBLEM else None


def served_path(root: str | Path | None = None) -> Path | None:
    """The calibration.json to serve, or None (the reason in `last_problem()`). SERVED must name one folder inside
    data/calibration (advisor.artifact_schema.read_pointer); `$TUNING_ADVISOR_CALIBRATION` is the operator's own
    choice and is not confined, but is read under the same file rules."""
    env = os.environ.get("TUNING_ADVISOR_CALIBRATION")
    if env:
        p = Path(env)
        return p if p.name.endswith(".json") else p / "calibration.json"
    root = Path(root) if root else CAL_ROOT
    if not (root / "SERVED").exists() and not (root / "SERVED").is_symlink():
        _PROBLEM.append("no calibration is served (data/calibration/SERVED is missing): answering rules-only; "
                        "run `advisor calibrate` or `bench refresh`")
        return None
    try:
        return read_pointer(root)
    except (ArtifactError, FileRefused) as err:
        _PROBLEM.append(f"the calibration pointer cannot be used ({str(err)[:200]}): answering rules-only")
        return None


class ServedCalibration:
    """Predictions for a profile from the stored models (plain data)."""

    def __init__(self, art: Mapping[str, Any], source: str = ""):
        if art.get("version") != VERSION:
            raise ValueError(f"calibration version {art.get('version')!r} (this advisor reads version {VERSION})")
        self.art = art
        self.modes: dict[str, Any] = dict(art["modes"])
        self.backbones: dict[str, float] = dict(art["backbones"])
        self.zs_gains = np.asarray(art.get("zero_shot_gains") or [0.5], dtype=float)
        self.scaling = art.get("scaling")
        self.evidence: list[dict[str, Any]] = list(art.get("evidence", []))
        self.source = source or art.get("source", "")
        self.created_at = str(art.get("created_at", ""))

    @property
    def n_runs(self) -> int:
        return int(self.art.get("n_runs", 0))

    # ------------------------------------------------------------ which model answers
    def mode_for(self, profile: Any) -> str:
        if profile.zero_shot_accuracy is not None and profile.probe_accuracy is not None and "probe" in self.modes:
            return "probe"
        if profile.zero_shot_accuracy is not None and "zero_shot" in self.modes:
            return "zero_shot"
        return "profile" if "profile" in self.modes else next(iter(self.modes))

    def decision(self, profile: Any) -> tuple[DecisionParams, float]:
        m = self.modes[self.mode_for(profile)]
        d = m["decision"]
        # sigma_diff is stored in gain-over-chance units; the decision compares accuracies.
        k = _classes(profile)
        return (DecisionParams(float(d["w"]), float(d["span"]), float(d.get("risk", 0.0)), float(d.get("z", 0.0))),
                float(m["sigma_diff"]) * (1.0 - (1.0 / k if k > 1 else 0.0)))

    def spread(self, profile: Any) -> dict[str, float]:
        """Each option's own error spread in accuracy units (the lower-bound rule's margin)."""
        m = self.modes[self.mode_for(profile)]
        k = _classes(profile)
        out = {o: float(v) * (1.0 - (1.0 / k if k > 1 else 0.0)) for o, v in (m.get("option_spread") or {}).items()}
        measured = self.measured_prompt(profile)
        if measured is not None:  # its own sampling error, not the model's error on unseen tasks
            out["prompt_engineering"] = measured[0] - measured[1]
        return out

    def measured_prompt(self, profile: Any) -> tuple[float, float, float] | None:
        """Prompting measured with the user's own model on held-out rows of their data (`advisor pilot --model`):
        (accuracy, 10% end, 90% end) of its Wilson score interval, or None when not measured."""
        return measured_prompt_interval(profile)

    def zero_shot_gain(self, profile: Any) -> tuple[float, str]:
        if profile.zero_shot_accuracy is not None:
            return float(to_gain(profile.zero_shot_accuracy, _classes(profile))), "your measured zero-shot accuracy"
        kind = getattr(profile, "task_kind", "classification")
        key = (profile.domain_shift, profile.task_complexity, kind)
        cache = self.__dict__.setdefault("_zs_cache", {})
        if key in cache:  # a quantile per call cost ~0.2 ms, a tenth of the 2 ms serving budget
            return cache[key]
        cache[key] = self._zero_shot_quantile(profile, kind)
        return cache[key]

    def _zero_shot_quantile(self, profile: Any, kind: str) -> tuple[float, str]:
        q = self.art["shift_quantile"][profile.domain_shift] + self.art["complexity_shift"].get(profile.task_complexity, 0)
        same_kind = (self.art.get("zero_shot_gains_by_kind") or {}).get(kind)
        gains = np.asarray(same_kind, dtype=float) if same_kind else self.zs_gains  # calibration.zero_shot_gains
        value = float(np.quantile(gains, min(0.95, max(0.05, q))))
        if kind == "generation" and same_kind:
            tasks = ", ".join((self.art.get("tasks_by_kind") or {}).get(kind, []))
            return value, f"zero-shot difficulty taken from the generation task(s) measured here ({tasks}): the only " \
                          "ones there are, so your task's own level is uncertain"
        return value, "task difficulty mapped from domain_shift and task_complexity"

    def _pe_examples(self, profile: Any, n: int) -> int:
        """The labelled examples prompting is credited with (its point, its interval and its provenance read this one
        number): at most PROMPT_EXAMPLES_MAX beyond our backbones' size; up to it, at most the largest training size
        we measured. Past that our prompting slope is MiniLM's class centroids extrapolated, not a prompt (SmolLM2's
        hold 8 demonstrations): on a 125M model with a 1 GPU-hour budget that paid LoRA for 547 examples, prompting
        rose 0.399 -> 0.437 from 1,000 to 4,902 examples, caught LoRA and became the pick with more data (a
        Hypothesis counterexample)."""
        if profile.params_b * 1e9 > self._measured_params()[1]:
            return min(n, PROMPT_EXAMPLES_MAX)
        sizes = self.art.get("measured_sizes") or []
        return min(n, max(sizes)) if sizes else n

    def _measured_params(self) -> tuple[float, float]:
        v = sorted(self.backbones.values())
        return v[0], v[-1]

    # ------------------------------------------------------------ the task model
    def _task_points(self, profile: Any, sizes: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Gain-over-chance (point, low, high), shaped (len(sizes), 5), at the nearest measured backbone size."""
        mode = self.mode_for(profile)
        spec = self.modes[mode]
        lo_p, hi_p = self._measured_params()
        params = min(max(profile.params_b * 1e9, lo_p), hi_p)
        zs, _ = self.zero_shot_gain(profile)
        pg = float(to_gain(profile.probe_accuracy, _classes(profile))) if mode == "probe" else None
        generation = getattr(profile, "task_kind", "classification") == "generation"
        # Models larger than the largest backbone share its task-model prediction (the size model moves them), so
        # counterfactual model sizes hit this cache instead of refitting the design (~0.5 ms each).
        key = (mode, params, tuple(sizes), _classes(profile), profile.pair_input, profile.avg_input_tokens, zs, pg,
               generation)
        cache = self.__dict__.setdefault("_points_cache", {})
        if key in cache:
            return cache[key]
        if len(cache) > 512:
            cache.clear()
        point, low, high = self._task_points_uncached(mode, spec, params, sizes, profile, zs, pg, generation)
        kind = "generation" if generation else "classification"
        measured = [p for b, p in self.backbones.items() if b in self._backbones_of_kind(kind)]
        j = OPTIONS.index("prompt_engineering")
        beyond = profile.params_b * 1e9 > hi_p
        pe_sizes = [self._pe_examples(profile, n) for n in sizes]
        if pe_sizes != sizes:
            capped = self._task_points_uncached(mode, spec, params, pe_sizes, profile, zs, pg, generation)
            point, low, high = (a.copy() for a in (point, low, high))
            for a, c in zip((point, low, high), capped):
                a[:, j] = c[:, j]
        if beyond and len(measured) > 1:
            # A model larger than every backbone never expects less from prompting than one of them (issue 20).
            # Across our two backbones the task model's size term for prompting is confounded with architecture —
            # MiniLM's "prompting" is label-embedding similarity, SmolLM2-135M's in-context learning is near
            # chance — so it can slope down; beyond them prompting starts from the best backbone's value of the
            # task's kind (the model is linear in log parameters: the larger end value is the maximum over the
            # range) and the size model (prompting's slope constrained >= 0) moves it up from there.
            small, _, _ = self._task_points_uncached(mode, spec, min(measured), pe_sizes, profile, zs, pg, generation)
            lift = np.maximum(small[:, j] - point[:, j], 0.0)
            if lift.any():
                point, low, high = point.copy(), low.copy(), high.copy()
                point[:, j] += lift
                low[:, j] += lift
                high[:, j] += lift
        cache[key] = (point, low, high)
        return cache[key]

    def _task_points_uncached(self, mode: str, spec: Mapping[str, Any], params: float, sizes: list[int], profile: Any,
                              zs: float, pg: float | None, generation: bool
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows = [numeric_values(n, _classes(profile), profile.pair_input, params, profile.avg_input_tokens, zs, pg,
                               generation=generation) for n in sizes for _ in OPTIONS]
        X = design(rows, [o for _ in sizes for o in OPTIONS], spec["features"])
        point = linear_predict(X, spec["model"])
        if spec.get("anchor"):
            point = point + np.asarray([float(r[spec["anchor"]]) for r in rows])
        point = point.reshape(len(sizes), len(OPTIONS))
        # Conformal interval per option (its own out-of-fold residual quantiles), else the pooled ones.
        per = spec.get("option_residuals") or {}
        rlo = np.asarray([min(0.0, per.get(o, [spec["model"]["residual_low"]])[0]) for o in OPTIONS])
        rhi = np.asarray([max(0.0, per.get(o, [0, spec["model"]["residual_high"]])[-1]) for o in OPTIONS])
        low, high = point + rlo, point + rhi
        return point, low, high

    def _backbones_of_kind(self, kind: str) -> set[str]:
        """Backbones with measured cells of this task kind (generation: SmolLM2 only; an encoder cannot write)."""
        cache = self.__dict__.setdefault("_kind_backbones", {})
        if kind not in cache:
            cache[kind] = {c["backbone"] for c in self.evidence if c.get("task_kind", "classification") == kind}
        return cache[kind]

    def points_by_size(self, profile: Any, sizes: list[int]) -> dict[int, dict[str, float]]:
        """Expected scores of the five options at several training sizes (counterfactuals), one batched call,
        with the same size shift as `expected`."""
        sizes = [max(int(n), 1) for n in sizes]
        point, _, _ = self._task_points(profile, sizes)
        if self.mode_for(profile) == "probe" and "zero_shot" in self.modes:
            # The probe was measured at the user's n only: other sizes follow the zero-shot model's learning curve,
            # moved to agree with the probe model at the measured size.
            n0 = max(int(profile.labeled_examples), 1)
            here, _, _ = self._task_points(profile, [n0])
            bare = profile.changed(probe_accuracy=None) if hasattr(profile, "changed") else profile
            curve, _, _ = self._task_points(bare, sizes + [n0])
            point = curve[:-1] + (here[0] - curve[-1])
        acc = from_gain(point, _classes(profile), clip=False)  # linear: the size shift moves the model's value
        floor = self._floor(profile)
        out = {}
        for n, row in zip(sizes, acc):
            pts = dict(zip(OPTIONS, map(float, row)))
            shift = self._size_shift(profile, n, pts, interval=False)
            top = self._ceilings(profile, n, pts)  # the same bounds as `expected`: counterfactuals decide like it
            out[n] = {o: min(max(pts[o] + shift[o][0], floor), top[o]) for o in OPTIONS}
        measured = self.measured_prompt(profile)
        if measured is not None:
            # The same prompt with the same model: its demonstrations are a handful of rows, so the measured
            # accuracy holds at every training size the counterfactuals try (a model-size variant drops it).
            for row in out.values():
                row["prompt_engineering"] = measured[0]
        return out

    # ------------------------------------------------------------ distance from the evidence
    def decades_from_evidence(self, profile: Any, sizes: list[int]) -> np.ndarray:
        """How far each option's prediction reaches beyond its evidence, in decades of parameters, shaped
        (len(sizes), 5): 0 within 2x of a measured backbone, else the distance to the nearest model size at which
        the option was compared with full fine-tuning, here or in a published comparison.

        Parameters only, so the margin is the same at every training size: a margin that grew with the examples
        (beyond our largest measured n) shrank the counted gap of an option below full fine-tuning as the user's
        data grew, and let prompting overtake a trained method with *more* data (a Hypothesis counterexample: a
        10M model, 979 -> 30,057 examples). The data direction is held by the models' monotone data slopes."""
        row = self._decades_row(profile.params_b)
        return np.repeat(row[None, :], len(sizes), axis=0)

    def _near_backbone(self, params_b: float) -> bool:
        """Within 2x of a backbone we measured: the answer rests on our own runs there."""
        lp = math.log10(params_b * 1e9)
        return any(abs(lp - math.log10(p)) <= NEAR_PARAMS_DECADES for p in self.backbones.values())

    def margin_floor(self, profile: Any) -> float:
        """The least decision margin for `profile` (accuracy units): 0 within 2x of our backbones (the in-store
        rule), `published_floor` beyond them — and for a generation task while fewer than two generation tasks are
        measured here, one standard deviation of a difference (`generation_floor`)."""
        base = 0.0 if self._near_backbone(profile.params_b) else self.published_floor()
        return max(base, self.generation_floor(profile))

    def generation_floor(self, profile: Any) -> float:
        """One generation task measured here is one point: the trained options' order on it (LoRA and prefix tuning
        +3 to +4 points over full fine-tuning at 1-70B, the lead growing with data: a review, 2026-12-05) cannot say
        how another generation task orders them; the published generation rows we hold (Hu et al. 2022, E2E and DART
        on GPT-2 M/L, data/evidence/lit_hu2022_lora.yaml) compare methods at one data size each, so they cannot say
        how the gap moves with data either. So below two measured generation tasks no difference between options
        within one standard deviation of a difference (the in-store sigma_diff) is counted: the table decides."""
        if getattr(profile, "task_kind", "classification") != "generation":
            return 0.0
        if len((self.art.get("tasks_by_kind") or {}).get("generation") or []) >= 2:
            return 0.0
        return self.decision(profile)[1]

    def published_floor(self) -> float:
        """The least margin on a difference beyond our backbones (accuracy units): half the 10-90% band of the size
        model's leave-one-source-out residuals on published rows (about 5 points; 5.1 in 20261204T222013Z) — how
        far its prediction of an option's gap to full fine-tuning misses on a published setting it did not see.
        Next to a published comparison the decades to the evidence are ~0, and without this floor a 350M profile (GPT-2 Medium in Hu et
        al. 2022 is 355M) counted a 0.2-point difference between prefix tuning and LoRA against the table's 15
        points, and scored full fine-tuning 2/100 for being 0.6 points lower, on intervals of 0.51-0.99."""
        if not hasattr(self, "_published_floor"):
            q = ((self.scaling or {}).get("gap_residuals") or {}).get("published")
            self._published_floor = float(q[1] - q[0]) / 2.0 if q and len(q) == 2 else 0.0
        return self._published_floor

    def _decades_row(self, params_b: float) -> np.ndarray:
        """Per option, decades of parameters to its nearest evidence: a pure function of the model size, memoised
        (the counterfactual search asks it ~5 times per answer for the same size)."""
        memo = self.__dict__.setdefault("_decades_memo", {})
        if params_b in memo:
            return memo[params_b]
        if len(memo) > 4096:
            memo.clear()
        lp = math.log10(params_b * 1e9)
        if self._near_backbone(params_b):
            memo[params_b] = np.zeros(len(OPTIONS))
            return memo[params_b]
        if not hasattr(self, "_evidence_params"):
            pts = (self.scaling or {}).get("evidence_points") or {}
            ours = [math.log10(p) for p in self.backbones.values()]
            self._evidence_params = [np.asarray([q[0] for q in pts.get(o) or []] or ours, dtype=float)
                                     for o in OPTIONS]
        memo[params_b] = np.asarray([float(np.min(np.abs(a - lp))) for a in self._evidence_params])
        return memo[params_b]

    def margins(self, profile: Any, sizes: list[int]) -> dict[int, dict[str, float]]:
        """Per training size, each option's uncertainty margin on a difference, in accuracy units: the in-store
        error of a difference (sigma_diff) times (z + the decades from the evidence) (advisor.decision), and beyond
        our backbones never less than the size model's own error on a new published setting (`published_floor`)."""
        params, sd = self.decision(profile)
        d = self.decades_from_evidence(profile, sizes) + params.z
        floor = self.margin_floor(profile)
        out = {int(n): {o: max(float(sd * d[i, j]), floor) for j, o in enumerate(OPTIONS)}
               for i, n in enumerate(sizes)}
        measured = self.measured_prompt(profile)
        if measured is not None:
            # Measured on the user's rows: the margin of its difference is half its own 10-90% interval.
            for row in out.values():
                row["prompt_engineering"] = (measured[2] - measured[1]) / 2
        return out

    # ------------------------------------------------------------ the size model
    def _gap_slopes(self) -> dict[str, float]:
        """Each option's gap slope per decade of parameters, read off the linear gap model once (the gap model is
        additive in log parameters and log examples, so the change between two sizes is slope x decades)."""
        if not hasattr(self, "_slopes"):
            s = self.scaling
            self._slopes = {}
            for o in OPTIONS:
                if o == "full_finetuning":
                    continue
                x0 = np.asarray([gap_features(o, 0.0, 0.0, 0.0, len(s["sources"]))])
                x1 = np.asarray([gap_features(o, 1.0, 0.0, 0.0, len(s["sources"]))])
                self._slopes[o] = float(linear_predict(x1, s["gap_model"])[0] - linear_predict(x0, s["gap_model"])[0])
        return self._slopes

    def _scaling_predict(self, option: str, log_p: float, log_d: float) -> tuple[float, float, float, float]:
        """(gap point, low, high, distance in decades to the nearest evidence for this option)."""
        memo = self.__dict__.setdefault("_scaling_memo", {})  # a pure function of its arguments: the size shift and
        key = (option, log_p, log_d)                           # the gap intervals ask the same ones in one answer
        if key not in memo:
            if len(memo) > 4096:
                memo.clear()
            memo[key] = self._scaling_predict_uncached(option, log_p, log_d)
        return memo[key]

    def _scaling_predict_uncached(self, option: str, log_p: float, log_d: float) -> tuple[float, float, float, float]:
        s = self.scaling
        x = np.asarray([gap_features(option, log_p, log_d, 0.0, len(s["sources"]))])
        g = float(linear_predict(x, s["gap_model"])[0])
        pts = np.asarray(s["evidence_points"].get(option, []), dtype=float)
        dist = float(np.min(np.hypot(pts[:, 0] - log_p, pts[:, 1] - log_d))) if len(pts) else 3.0
        # Beyond our backbones the answer is a new setting at scale: the error of predicting a held-out published
        # source (advisor.scaling._residual_quantiles), the option's own where it has them from several sources;
        # the pooled quantiles for calibrations fitted without them.
        q = residual_band(s.get("gap_residuals") or {}, option, "published") or [s["gap_model"]["residual_low"],
                                                                                  s["gap_model"]["residual_high"]]
        lo = g + min(0.0, q[0]) * (1 + dist)
        hi = g + max(0.0, q[1]) * (1 + dist)
        return g, lo, hi, dist

    def _size_shift(self, profile: Any, n: int, points: Mapping[str, float] | None = None,
                    interval: bool = True) -> dict[str, tuple[float, float, float, float]]:
        """Per option: (shift of the point, extra low, extra high, error scale) from the nearest measured size to the
        user's. The error scale is the factor the size model shrinks the option's error by: it applies to the whole
        spread of task errors as much as to the point, so the task model's interval narrows by it too.

        Every option's error shrinks by the share full fine-tuning's error closes per decade of parameters (fitted
        inside published settings measured at several sizes); each option other than full fine-tuning also moves by
        how its gap to full fine-tuning changes between the two sizes (the gap model)."""
        zero = {o: (0.0, 0.0, 0.0, 1.0) for o in OPTIONS}
        if not self.scaling:
            return zero
        lo_p, hi_p = self._measured_params()
        user = profile.params_b * 1e9
        anchor = min(max(user, lo_p), hi_p)
        if abs(math.log10(user / anchor)) <= NEAR_PARAMS_DECADES:
            return zero
        la, lu, ld = math.log10(anchor), math.log10(user), math.log10(max(n, 1))
        keep = (1.0 - float(self.scaling.get("ft_error_shrink_per_decade") or 0.0)) ** (lu - la)
        # Prompting's own law where the published record has one (in-context accuracy by model size inside one
        # setting: advisor.scaling): its error shrinks at its own rate and the trained methods' gap model does not
        # move it.
        # Per task kind where the record has that kind's own law and it beat assuming no size effect on held-out
        # published rows (`served`, advisor.scaling), else the pooled one.
        by_kind = (self.scaling.get("pe_by_kind") or {}).get(getattr(profile, "task_kind", "classification"))
        pe_shrink = by_kind["error_shrink_per_decade"] if by_kind and by_kind.get("served") else \
            self.scaling.get("pe_error_shrink_per_decade")
        pe_keep = (1.0 - float(pe_shrink)) ** (lu - la) if pe_shrink is not None else None
        out = {}
        for o in OPTIONS:
            base = (points or {}).get(o, 0.5)
            level = (1.0 - (1.0 - base) * keep) - base
            if o == "full_finetuning":
                out[o] = (level, -abs(level) / 2, abs(level) / 2, keep)
                continue
            if o == "prompt_engineering" and pe_keep is not None:
                level = (1.0 - (1.0 - base) * pe_keep) - base
                if not interval:
                    out[o] = (level, 0.0, 0.0, pe_keep)
                    continue
                ld_pe = math.log10(max(self._pe_examples(profile, n), 1))
                g_u, lo_u, hi_u, _ = self._scaling_predict(o, lu, ld_pe)
                out[o] = (level, lo_u - g_u - abs(level) / 2, hi_u - g_u + abs(level) / 2, pe_keep)
                continue
            move = self._gap_slopes()[o] * (lu - la)
            if not interval:
                out[o] = (level + move, 0.0, 0.0, keep)
                continue
            g_u, lo_u, hi_u, _ = self._scaling_predict(o, lu, ld)
            out[o] = (level + move, lo_u - g_u - abs(level) / 2, hi_u - g_u + abs(level) / 2, keep)
        return out

    # ------------------------------------------------------------ provenance
    def provenance(self, profile: Any, option: str) -> dict[str, Any]:
        prov = self._provenance(profile, option)
        kind = getattr(profile, "task_kind", "classification")
        tasks = (self.art.get("tasks_by_kind") or {}).get(kind, [])
        if kind == "generation" and tasks:
            # One measured generation task is one point: say so wherever the answer comes from.
            prov = dict(prov, detail=prov["detail"] + f"; generation task(s) measured here: {', '.join(tasks)} — "
                        "one task cannot show how far another generation task sits from it")
        return prov

    def _provenance(self, profile: Any, option: str) -> dict[str, Any]:
        kind = getattr(profile, "task_kind", "classification")
        if kind not in self.art.get("measured_kinds", ["classification"]):
            return {"kind": "extrapolated", "detail": f"no {kind} task was measured here: from classification runs "
                    "on the gain-over-chance scale (chance 0 for generation)", "sources": []}
        user_p = profile.params_b * 1e9
        n = max(profile.labeled_examples, 1)
        lp, ld = math.log10(user_p), math.log10(n)
        near_backbone, near_size = self._near(profile, n)
        sizes = self.art.get("measured_sizes") or []
        if near_backbone and near_size:
            return {"kind": "measured here", "detail": f"our runs on {', '.join(near_backbone)} at sizes near "
                    f"{n:,} examples", "sources": [f"data/results/{b}" for b in near_backbone]}
        if not near_backbone:
            lo_p, hi_p = self._measured_params()
            anchor = min(max(user_p, lo_p), hi_p)
            pub = (self.scaling or {}).get("published_points", {}).get(option, [])
            if pub:
                srcs = (self.scaling or {}).get("published_sources", [])
                named = self.source_names()

                def cited(idx: list[int | None]) -> tuple[str, list[str]]:
                    """The sources of the points an answer stands next to (a calibration before 2026-12-05 stored
                    no source per point: then every published source, as it said before)."""
                    ids = sorted({srcs[i] for i in idx if i is not None and i < len(srcs)}) if None not in idx \
                        else list(srcs)
                    return ", ".join(named.get(x, x) for x in ids), ids

                # A plain loop: a dozen points per option, where six numpy calls on arrays this small cost ~4x more
                # (this was two fifths of `expected`'s time). The first nearest point wins, as argmin's did.
                best, near = None, []
                for pt in pub:
                    a0, a1 = pt[0], pt[1]
                    dp, dd = abs(a0 - lp), abs(a1 - ld)
                    if dp <= PUBLISHED_NEAR[0] and dd <= PUBLISHED_NEAR[1]:
                        near.append(int(pt[2]) if len(pt) > 2 else None)
                        continue
                    dist = math.hypot(dp, dd)
                    if best is None or dist < best[0]:
                        best = (dist, dp, dd, a0 > lp, a1 > ld, int(pt[2]) if len(pt) > 2 else None)
                if near:
                    names, ids = cited(near)
                    return {"kind": "published", "detail": f"published comparisons at about this model size "
                            f"and data size ({names})", "sources": ids}
                _, dp, dd, larger, more, idx = best
                names, ids = cited([idx])
                return {"kind": "extrapolated", "detail": f"from our {anchor / 1e6:,.0f}M-parameter runs moved by "
                        f"the size-and-data model; the nearest published comparison for this option ({names}) used "
                        f"{_relative(dp, larger, 'a model', 'larger', 'smaller', 'a model of about your size')} and "
                        f"{_relative(dd, more, '', 'more', 'fewer', 'about as many').strip()} examples",
                        "sources": ids,
                        "decades_params": round(float(dp), 2), "decades_examples": round(float(dd), 2)}
            return {"kind": "extrapolated", "detail": f"from our {anchor / 1e6:,.0f}M-parameter runs only, a model "
                    f"{_times(abs(math.log10(user_p / anchor)))} away in size; no published comparison for this "
                    "option", "sources": [], "decades_params": round(abs(math.log10(user_p / anchor)), 2)}
        far = min((abs(math.log10(n / s)) for s in sizes), default=0.0)
        return {"kind": "extrapolated", "detail": f"our runs on {', '.join(near_backbone)}; your number of examples "
                f"is {_times(far)} beyond the nearest measured size ({', '.join(map(str, sizes))})", "sources": [],
                "decades_examples": round(far, 2)}

    def source_names(self) -> dict[str, str]:
        """Source id -> how a reader cites it ("Brown et al. 2020"), from the artifact's citations."""
        if not hasattr(self, "_source_names"):
            out = {}
            for c in (self.scaling or {}).get("citations", []):
                who, _, sid = c.rpartition(" — ")
                year = next((m for m in re.findall(r"(?:19|20)\d\d", sid)), "")
                last = who.split(" et al.")[0].split()[-1] if " et al." in who else who.split(" (")[0]
                out[sid] = f"{last} et al. {year}".strip() if " et al." in who else f"{last} {year}".strip()
            self._source_names = out
        return self._source_names

    # ------------------------------------------------------------ the answer
    @staticmethod
    def _floor(profile: Any) -> float:
        """A classifier's lowest expected score is chance; a generation task's is 0."""
        return 0.0 if getattr(profile, "task_kind", "classification") == "generation" else 1.0 / profile.num_classes

    def _near(self, profile: Any, n: int) -> tuple[list[str], bool]:
        """(measured backbones within 2x of the user's model size, whether a measured training size is within 2x of
        n): "measured here" is both, for a measured task kind (provenance and the ceiling read this one rule).
        A pure function of the size and n, memoised: an answer asks it ~15 times (each option's provenance, each
        counterfactual size's ceiling)."""
        memo = self.__dict__.setdefault("_near_memo", {})
        key = (profile.params_b, max(int(n), 1))
        if key not in memo:
            if len(memo) > 4096:
                memo.clear()
            user_p, n = key[0] * 1e9, key[1]
            near_backbone = [b for b, p in self.backbones.items()
                             if abs(math.log10(user_p / p)) <= NEAR_PARAMS_DECADES]
            near_size = any(abs(math.log10(n / s)) <= NEAR_EXAMPLES_DECADES
                            for s in self.art.get("measured_sizes") or [])
            memo[key] = (near_backbone, near_size)
        return memo[key]

    def _ceiling(self, profile: Any, n: int) -> float:
        """1 where we measured this task kind, model size and number of examples; UNMEASURED_CEILING elsewhere."""
        if getattr(profile, "task_kind", "classification") not in self.art.get("measured_kinds", ["classification"]):
            return UNMEASURED_CEILING
        near_backbone, near_size = self._near(profile, n)
        return 1.0 if near_backbone and near_size else UNMEASURED_CEILING

    def _ceilings(self, profile: Any, n: int, raw: Mapping[str, float]) -> dict[str, float]:
        """Each option's highest point (`_ceiling`), with one exception: prompting beyond our largest backbone never
        drops below what it scores at that backbone's edge of "measured here". A larger model never lowers
        prompting's expected accuracy (issue 20), and a plain 0.98 cap did: a Hypothesis counterexample (8
        examples, 1-token inputs) had prompting at 1.0 on a 0.25B model (within 2x of SmolLM2-135M, capped at 1)
        and 0.98 on a 1B one. Beyond the largest backbone the task model's prompting value is that backbone's
        (`_task_points` clamps the size) and the size shift is zero up to 2x of it, so the edge's point is the
        unshifted value `raw` within [floor, 1]: no second prediction is needed."""
        top = self._ceiling(profile, n)
        out = dict.fromkeys(OPTIONS, top)
        # At the edge (2x the largest backbone) the cap is 1 where `_ceiling` would say so there: a measured task
        # kind and a measured training size within 2x of n (the size half of `_near` does not read the model size).
        if top < 1.0 and profile.params_b * 1e9 > self._measured_params()[1] and self._near(profile, n)[1] and \
                getattr(profile, "task_kind", "classification") in self.art.get("measured_kinds", ["classification"]):
            out["prompt_engineering"] = max(top, min(max(raw["prompt_engineering"], self._floor(profile)), 1.0))
        return out

    def expected(self, profile: Any) -> dict[str, dict[str, Any]]:
        n = max(profile.labeled_examples, 1)
        point, low, high = (a[0] for a in self._task_points(profile, [n]))
        k = _classes(profile)
        # One vectorised conversion per array (a scalar from_gain call costs ~15 us; there were 35 per answer).
        raw = [float(v) for v in from_gain(point, k, clip=False)]
        clipped, high_c = ([float(v) for v in from_gain(a, k)] for a in (point, high))
        # The low end is not held at chance: 55 of 453 measured cell scores lie below it (a run stuck at the majority
        # class: macro-F1 0.47 on a binary task, rte at 0.47 accuracy), and an interval that can never reach them
        # covered 72-76% in the nested evaluation; down to 0 as the residuals say, 77-81% (2026-12-05).
        low_c = [max(float(v), 0.0) for v in from_gain(low, k, clip=False)]
        shift = self._size_shift(profile, n, dict(zip(OPTIONS, raw)))
        mode = self.mode_for(profile)
        _, zs_source = self.zero_shot_gain(profile)
        out = {}
        sizes = self.art.get("measured_sizes") or [n]
        # Beyond the measured training sizes the task model extrapolates in examples: its interval widens in
        # proportion, (1 + decades beyond the measured range) — the same rule the size model uses.
        def beyond_of(m: int) -> float:
            return max(0.0, math.log10(m / max(sizes)), math.log10(min(sizes) / m))

        beyond = beyond_of(n)
        n_pe = self._pe_examples(profile, n)
        pe_profile = profile if n_pe == n else profile.changed(labeled_examples=n_pe)
        dist = self.decades_from_evidence(profile, [n])
        # A point below guessing would expect a model worse than random: a classifier's point is at least chance
        # (its interval's low end may go below: a training run can collapse).
        floor = self._floor(profile)
        ceiling = self._ceilings(profile, n, dict(zip(OPTIONS, raw)))
        for i, o in enumerate(OPTIONS):
            s, s_lo, s_hi, scale = shift[o]
            # The decision's point is the shown point: the shifted linear value within [floor, ceiling]. Bounding
            # before the shift (as it once was) could reorder options the decision ranks (a generation task on a 1B
            # model showed LoRA 2.5 points above prefix tuning while the decision had prefix tuning 4.7 above LoRA);
            # not bounding at all let differences beyond 100% decide (UNMEASURED_CEILING).
            p = decision_point = min(max(raw[i] + s, floor), ceiling[o])
            # The task model's error at the anchor and the size model's error of moving it are independent: their
            # 10-90% half-widths add in quadrature (a plain sum covered 95%+ and spanned 0.4-1.0 at every 1-70B size).
            # The task spread is in error units at the anchor; the size model shrinks every task's error by `scale`
            # (a 7B model: ~0.58 of a 135M one's), so the spread moves with it — unscaled it gave [0.01-0.99].
            # Prompting beyond our backbones uses at most PROMPT_EXAMPLES_MAX examples: more data neither moves its
            # point nor widens its interval (at 13B its lower end fell 0.59 -> 0.50 from 1,000 to 20,000 examples).
            pe = o == "prompt_engineering"
            b = beyond_of(n_pe) if pe else beyond
            lo = p - math.hypot((clipped[i] - low_c[i]) * (1 + b) * scale, min(0.0, s_lo))
            hi = p + math.hypot((high_c[i] - clipped[i]) * (1 + b) * scale, max(0.0, s_hi))
            prov = self.provenance(pe_profile if pe else profile, o)
            prov = dict(prov, decades_from_evidence=round(float(dist[0, i]), 2))
            if prov["kind"] != "measured here":
                # Not measured here: neither the point (ceiling) nor the upper bound may claim a perfect score.
                hi = min(hi, UNMEASURED_HIGH)
            out[o] = {"point": round(p, 4), "low": round(min(max(lo, 0.0), p), 4),
                      "high": round(max(min(hi, 1.0), p), 4), "mode": mode, "decision_point": decision_point,
                      "basis": ("for a generation task the score is exact match on the written answer; "
                                if getattr(profile, "task_kind", "classification") == "generation" else "")
                               + f"the {mode} model, fitted on {self.modes[mode]['rows']} of the {self.n_runs} "
                               f"measured runs (the five options' runs; features: "
                               f"{', '.join(self.modes[mode]['features'])}); {zs_source}",
                      "provenance": prov}
        measured = self.measured_prompt(profile)
        if measured is not None:
            p, lo, hi = measured
            out["prompt_engineering"] = {
                "point": round(p, 4), "low": round(lo, 4), "high": round(hi, 4), "mode": mode, "decision_point": p,
                "basis": f"measured with your model on {profile.prompt_accuracy_n:,} held-out rows of your data "
                         "(`advisor pilot --model`); 10-90% Wilson interval",
                "provenance": {"kind": MEASURED_ON_YOUR_DATA,
                               "detail": f"your model's best prompt scored {p:.3f} on {profile.prompt_accuracy_n:,} "
                                         "held-out rows of your data", "sources": [],
                               "decades_from_evidence": 0.0}}
        self._add_gap_intervals(profile, n, out)
        return out

    def _add_gap_intervals(self, profile: Any, n: int, out: dict[str, dict[str, Any]]) -> None:
        """At a size we did not measure, each option's difference to full fine-tuning with the size-and-data model's
        10-90% interval — the comparison the decision rests on. The absolute interval above also carries how hard
        the user's (unmeasured) task is; the difference does not, and is much narrower next to a published setting
        (its width and coverage, leave one published task out: data/calibration/evaluation.md)."""
        if not self.scaling or "full_finetuning" not in out:
            return
        lp, ld = math.log10(profile.params_b * 1e9), math.log10(max(n, 1))
        ft = out["full_finetuning"]["point"]
        for o, e in out.items():
            if o == "full_finetuning" or e["provenance"]["kind"] in ("measured here", MEASURED_ON_YOUR_DATA):
                continue
            g, lo, hi, _ = self._scaling_predict(o, lp, ld)
            d = e["point"] - ft  # the displayed points' own difference: the page's figures agree with each other
            # `size_model`: the size model's own difference, which the ceiling does not hold at 0 — what the chance
            # beside two options both at the ceiling reads (a 50% "coin flip" was the cap, not the evidence).
            e["vs_full_finetuning"] = {"point": round(d, 4), "low": round(d + lo - g, 4), "high": round(d + hi - g, 4),
                                       "size_model": round(g, 4)}

    def nearest_cells(self, profile: Any, limit: int = 3) -> list[dict[str, Any]]:
        """Measured cells most like the profile. Stated and plain: same task kind and input kind first; then our
        backbone nearest the user's model in size; then a distance adding |log class-count ratio|, |log input-length ratio| (when the cell recorded it) and half a
        unit per complexity level apart; then the nearest size (log). Class count alone matched 8,000 long clinical
        notes to 30-token SMS messages; the input length is what separates them."""
        level = {"simple": 0, "moderate": 1, "complex": 2}
        if not self.evidence:
            return []
        if not hasattr(self, "_cell_arrays"):
            # One array per attribute, built once: a sort by Python key over ~100 cells cost ~1 ms per answer.
            ev = self.evidence
            self._cell_arrays = {
                "kind": np.asarray([c.get("task_kind", "classification") for c in ev]),
                "pair": np.asarray([bool(c["is_pair"]) for c in ev]),
                "log_classes": np.log(np.maximum(np.asarray([c["num_classes"] for c in ev], dtype=float), 1.0)),
                "log_tokens": np.asarray([math.log(max(c["mean_input_tokens"], 1.0)) if c.get("mean_input_tokens")
                                          else np.nan for c in ev]),
                "level": np.asarray([level.get(c.get("complexity"), 1) for c in ev], dtype=float),
                "log_size": np.log(np.asarray([c["train_size"] for c in ev], dtype=float)),
                "backbone": np.asarray([c["backbone"] for c in ev]), "task": np.asarray([c["task"] for c in ev])}
        a = self._cell_arrays
        length = np.abs(a["log_tokens"] - math.log(max(profile.avg_input_tokens, 1)))
        length = np.where(np.isnan(length), 0.0, length)
        distance = (np.abs(a["log_classes"] - math.log(max(_classes(profile), 1))) + length
                    + 0.5 * np.abs(a["level"] - level.get(profile.task_complexity, 1)))
        size = np.abs(a["log_size"] - math.log(max(profile.labeled_examples, 1)))
        # Our backbone nearest the user's model in size first: a 135M causal LM's answer cited only the 23M
        # encoder's cells, whose "prompt engineering" is label-embedding similarity (a review, 2026-12-04).
        lp = math.log(profile.params_b * 1e9)
        near = min(self.backbones, key=lambda b: (abs(math.log(self.backbones[b]) - lp), b)) if self.backbones \
            else None
        order = np.lexsort((a["task"], a["backbone"], np.round(size, 3), np.round(distance, 3),
                            a["backbone"] != near, a["pair"] != profile.pair_input,
                            a["kind"] != getattr(profile, "task_kind", "classification")))
        best_per_task: dict[tuple, dict[str, Any]] = {}
        for i in order:
            c = self.evidence[i]
            best_per_task.setdefault((c["backbone"], c["task"]), c)
            if len(best_per_task) >= limit:  # later cells only add tasks after these
                break
        out = []
        for c in list(best_per_task.values())[:limit]:
            ranked = sorted(c["methods"].items(), key=lambda kv: -kv[1]["score"])
            scores = ", ".join(f"{LABELS[m]} {v['score']:.2f}" for m, v in ranked if m in OPTIONS)
            out.append({**c, "sentence": f"on {c['task']} with {c['train_size']:,} examples ({c['backbone']}, mean "
                                         f"over {max(v['seeds'] for v in c['methods'].values())} seed(s)): {scores}"})
        return out


def _relative(decades: float, up: bool, what: str, bigger: str, smaller: str, same: str) -> str:
    """"a model 2.5x larger" — or `same` within 5% ("1.0x fewer examples" said nothing)."""
    if 10 ** float(decades) < 1.05:
        return same
    return f"{what} {_times(decades)} {bigger if up else smaller}"


def _times(decades: float) -> str:
    """A distance in decades as a factor a reader pictures: 0.4 -> "2.5x", 1.3 -> "20x"."""
    f = 10 ** float(decades)
    return f"{f:.1f}x" if f < 10 else f"{f:,.0f}x"


_CACHE: dict[str, tuple[tuple[int, int], ServedCalibration | None, str]] = {}


def load_served(path: str | Path | None = None) -> ServedCalibration | None:
    """The served calibration (cached per file and mtime), or None with the reason in `last_problem()`.

    Every load is checked against advisor.artifact_schema first (regular file, <= 20 MB, depth <= 32, every field
    the predictor reads typed, finite and of the right length); a failure is the rules-only answer, never a crash."""
    p = Path(path) if path else served_path()
    if p is None:
        return None  # served_path said why
    try:
        stamp = (p.stat().st_mtime_ns, p.stat().st_size)
    except OSError:
        _PROBLEM.append(f"the served calibration {p} is missing: answering rules-only")
        return None
    hit = _CACHE.get(str(p))
    if hit and hit[0] == stamp:
        if hit[1] is None:
            _PROBLEM.append(hit[2])
        return hit[1]
    try:
        root = None if path or os.environ.get("TUNING_ADVISOR_CALIBRATION") else CAL_ROOT
        art = read_artifact(p, root, VERSION)
        cal = ServedCalibration(art, source=f"served calibration {p.parent.name}")
        problem = ""
    except (ArtifactError, FileRefused, ValueError, KeyError, TypeError) as err:
        problem = f"the served calibration {p} cannot be used ({str(err)[:200]}): answering rules-only"
        _PROBLEM.append(problem)
        cal = None
    _CACHE[str(p)] = (stamp, cal, problem)
    return cal
