"""The served calibration: one `calibration.json` (written by `advisor calibrate` / `bench refresh`), applied with
numpy alone — no pandas, scikit-learn or scipy on the `recommend()` path, and never a fit at request time.

Which artifact: `$TUNING_ADVISOR_CALIBRATION` (a folder or a calibration.json), else the folder named by
data/calibration/SERVED. None found, or one of another version: `load_served()` returns None and says why in
`last_problem()`; `recommend()` then answers rules-only and says so.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from advisor.artifact_schema import ArtifactError, FileRefused, read_artifact, read_pointer
from advisor.decision import DecisionParams
from advisor.features import OPTIONS, design, from_gain, gap_features, linear_predict, numeric_values, to_gain

VERSION = 2
REPO = Path(__file__).resolve().parent.parent
CAL_ROOT = REPO / "data" / "calibration"
NEAR_PARAMS_DECADES = math.log10(2.0)  # within 2x of a measured backbone's size counts as "measured here"
NEAR_EXAMPLES_DECADES = math.log10(2.0)
PUBLISHED_NEAR = (0.3, 0.5)  # decades of parameters / examples to a published row that count as "published"

_PROBLEM: list[str] = []


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
        return (DecisionParams(float(d["w"]), float(d["span"]), float(d.get("risk", 0.0))),
                float(m["sigma_diff"]) * (1.0 - (1.0 / k if k > 1 else 0.0)))

    def spread(self, profile: Any) -> dict[str, float]:
        """Each option's own error spread in accuracy units (the lower-bound rule's margin)."""
        m = self.modes[self.mode_for(profile)]
        k = _classes(profile)
        return {o: float(v) * (1.0 - (1.0 / k if k > 1 else 0.0)) for o, v in (m.get("option_spread") or {}).items()}

    def zero_shot_gain(self, profile: Any) -> tuple[float, str]:
        if profile.zero_shot_accuracy is not None:
            return float(to_gain(profile.zero_shot_accuracy, _classes(profile))), "your measured zero-shot accuracy"
        q = self.art["shift_quantile"][profile.domain_shift] + self.art["complexity_shift"].get(profile.task_complexity, 0)
        kind = getattr(profile, "task_kind", "classification")
        same_kind = (self.art.get("zero_shot_gains_by_kind") or {}).get(kind)
        gains = np.asarray(same_kind, dtype=float) if same_kind else self.zs_gains  # calibration.zero_shot_gains
        value = float(np.quantile(gains, min(0.95, max(0.05, q))))
        if kind == "generation" and same_kind:
            tasks = ", ".join((self.art.get("tasks_by_kind") or {}).get(kind, []))
            return value, f"zero-shot difficulty taken from the generation task(s) measured here ({tasks}): the only " \
                          "ones there are, so your task's own level is uncertain"
        return value, "task difficulty mapped from domain_shift and task_complexity"

    def _measured_params(self) -> tuple[float, float]:
        v = sorted(self.backbones.values())
        return v[0], v[-1]

    # ------------------------------------------------------------ the task model
    def _task_points(self, profile: Any, sizes: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Gain-over-chance (point, low, high), shaped (len(sizes), 5), at the nearest measured backbone size."""
        mode = self.mode_for(profile)
        spec = self.modes[mode]
        lo_p, hi_p = self._measured_params()
        params = min(max(profile.model_params_b * 1e9, lo_p), hi_p)
        zs, _ = self.zero_shot_gain(profile)
        pg = float(to_gain(profile.probe_accuracy, _classes(profile))) if mode == "probe" else None
        generation = getattr(profile, "task_kind", "classification") == "generation"
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
            bare = dataclasses.replace(profile, probe_accuracy=None) if dataclasses.is_dataclass(profile) else profile
            curve, _, _ = self._task_points(bare, sizes + [n0])
            point = curve[:-1] + (here[0] - curve[-1])
        acc = from_gain(point, _classes(profile), clip=False)
        out = {}
        for n, row in zip(sizes, acc):
            pts = dict(zip(OPTIONS, map(float, row)))
            shift = self._size_shift(profile, n, pts, interval=False)
            # Unclipped: these feed decisions (counterfactuals), where a clip would compress differences.
            out[n] = {o: pts[o] + shift[o][0] for o in OPTIONS}
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
        s = self.scaling
        x = np.asarray([gap_features(option, log_p, log_d, 0.0, len(s["sources"]))])
        g = float(linear_predict(x, s["gap_model"])[0])
        pts = np.asarray(s["evidence_points"].get(option, []), dtype=float)
        dist = float(np.min(np.hypot(pts[:, 0] - log_p, pts[:, 1] - log_d))) if len(pts) else 3.0
        lo = g + min(0.0, s["gap_model"]["residual_low"]) * (1 + dist)
        hi = g + max(0.0, s["gap_model"]["residual_high"]) * (1 + dist)
        return g, lo, hi, dist

    def _size_shift(self, profile: Any, n: int, points: Mapping[str, float] | None = None,
                    interval: bool = True) -> dict[str, tuple[float, float, float]]:
        """Per option: (shift of the point, extra low, extra high) from the nearest measured size to the user's.

        Every option's error shrinks by the share full fine-tuning's error closes per decade of parameters (fitted
        inside published settings measured at several sizes); each option other than full fine-tuning also moves by
        how its gap to full fine-tuning changes between the two sizes (the gap model)."""
        zero = {o: (0.0, 0.0, 0.0) for o in OPTIONS}
        if not self.scaling:
            return zero
        lo_p, hi_p = self._measured_params()
        user = profile.model_params_b * 1e9
        anchor = min(max(user, lo_p), hi_p)
        if abs(math.log10(user / anchor)) <= NEAR_PARAMS_DECADES:
            return zero
        la, lu, ld = math.log10(anchor), math.log10(user), math.log10(max(n, 1))
        keep = (1.0 - float(self.scaling.get("ft_error_shrink_per_decade") or 0.0)) ** (lu - la)
        out = {}
        for o in OPTIONS:
            base = (points or {}).get(o, 0.5)
            level = (1.0 - (1.0 - base) * keep) - base
            if o == "full_finetuning":
                out[o] = (level, -abs(level) / 2, abs(level) / 2)
                continue
            move = self._gap_slopes()[o] * (lu - la)
            if not interval:
                out[o] = (level + move, 0.0, 0.0)
                continue
            g_u, lo_u, hi_u, _ = self._scaling_predict(o, lu, ld)
            out[o] = (level + move, lo_u - g_u - abs(level) / 2, hi_u - g_u + abs(level) / 2)
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
        user_p = profile.model_params_b * 1e9
        n = max(profile.labeled_examples, 1)
        lp, ld = math.log10(user_p), math.log10(n)
        near_backbone = [b for b, p in self.backbones.items() if abs(math.log10(user_p / p)) <= NEAR_PARAMS_DECADES]
        sizes = self.art.get("measured_sizes") or []
        near_size = any(abs(math.log10(n / s)) <= NEAR_EXAMPLES_DECADES for s in sizes)
        if near_backbone and near_size:
            return {"kind": "measured here", "detail": f"our runs on {', '.join(near_backbone)} at sizes near "
                    f"{n:,} examples", "sources": [f"data/results/{b}" for b in near_backbone]}
        if not near_backbone:
            lo_p, hi_p = self._measured_params()
            anchor = min(max(user_p, lo_p), hi_p)
            pub = (self.scaling or {}).get("published_points", {}).get(option, [])
            if pub:
                a = np.asarray(pub, dtype=float)
                dp, dd = np.abs(a[:, 0] - lp), np.abs(a[:, 1] - ld)
                near = (dp <= PUBLISHED_NEAR[0]) & (dd <= PUBLISHED_NEAR[1])
                srcs = (self.scaling or {}).get("published_sources", [])
                if near.any():
                    return {"kind": "published", "detail": f"published comparisons at about this model size and "
                            f"data size (sources: {', '.join(srcs)})", "sources": srcs}
                i = int(np.argmin(np.hypot(dp, dd)))
                return {"kind": "extrapolated", "detail": f"from our {anchor / 1e6:,.0f}M-parameter runs shifted by "
                        f"the size-and-data model; the nearest published comparison for this option is "
                        f"{dp[i]:.1f} decades of parameters and {dd[i]:.1f} decades of examples away",
                        "sources": srcs, "decades_params": round(float(dp[i]), 2),
                        "decades_examples": round(float(dd[i]), 2)}
            return {"kind": "extrapolated", "detail": f"from our {anchor / 1e6:,.0f}M-parameter runs only: "
                    f"{abs(math.log10(user_p / anchor)):.1f} decades of parameters away, no published comparison "
                    "for this option", "sources": [], "decades_params": round(abs(math.log10(user_p / anchor)), 2)}
        far = min((abs(math.log10(n / s)) for s in sizes), default=0.0)
        return {"kind": "extrapolated", "detail": f"our runs on {', '.join(near_backbone)}, {far:.1f} decades of "
                f"examples from the nearest measured size ({', '.join(map(str, sizes))})", "sources": [],
                "decades_examples": round(far, 2)}

    # ------------------------------------------------------------ the answer
    def expected(self, profile: Any) -> dict[str, dict[str, Any]]:
        n = max(profile.labeled_examples, 1)
        point, low, high = (a[0] for a in self._task_points(profile, [n]))
        k = _classes(profile)
        shift = self._size_shift(profile, n, {o: float(from_gain(point[i], k, clip=False))
                                              for i, o in enumerate(OPTIONS)})
        mode = self.mode_for(profile)
        _, zs_source = self.zero_shot_gain(profile)
        out = {}
        sizes = self.art.get("measured_sizes") or [n]
        # Beyond the measured training sizes the task model extrapolates in examples: its interval widens in
        # proportion, (1 + decades beyond the measured range) — the same rule the size model uses.
        beyond = max(0.0, math.log10(n / max(sizes)), math.log10(min(sizes) / n))
        for i, o in enumerate(OPTIONS):
            s, s_lo, s_hi = shift[o]
            decision_point = float(from_gain(point[i], k, clip=False)) + s
            p = float(from_gain(point[i], k)) + s
            lo = p + (float(from_gain(low[i], k)) - float(from_gain(point[i], k))) * (1 + beyond) + s_lo
            hi = p + (float(from_gain(high[i], k)) - float(from_gain(point[i], k))) * (1 + beyond) + s_hi
            prov = self.provenance(profile, o)
            if prov["kind"] == "extrapolated":
                # No evidence near: neither the point nor the upper bound may claim a perfect score.
                hi, p = min(hi, 0.99), min(p, 0.98)
            p = min(max(p, 0.0), 1.0)
            out[o] = {"point": round(p, 4), "low": round(min(max(lo, 0.0), p), 4),
                      "high": round(max(min(hi, 1.0), p), 4), "mode": mode, "decision_point": decision_point,
                      "basis": ("for a generation task the score is exact match on the written answer; "
                                if getattr(profile, "task_kind", "classification") == "generation" else "")
                               + f"{self.modes[mode]['rows']} measured runs ({mode} model: "
                               f"{', '.join(self.modes[mode]['features'])}); {zs_source}",
                      "provenance": prov}
        return out

    def nearest_cells(self, profile: Any, limit: int = 3) -> list[dict[str, Any]]:
        """Measured cells most like the profile. Stated and plain: same task kind and input kind first; then a
        distance adding |log class-count ratio|, |log input-length ratio| (when the cell recorded it) and half a
        unit per complexity level apart; then the nearest size (log). Class count alone matched 8,000 long clinical
        notes to 30-token SMS messages; the input length is what separates them."""
        level = {"simple": 0, "moderate": 1, "complex": 2}

        def key(c: dict[str, Any]) -> tuple:
            tokens = c.get("mean_input_tokens")
            length = abs(math.log(max(tokens, 1.0) / max(profile.avg_input_tokens, 1))) if tokens else 0.0
            distance = (abs(math.log(max(c["num_classes"], 1) / max(_classes(profile), 1))) + length
                        + 0.5 * abs(level.get(c.get("complexity"), 1) - level.get(profile.task_complexity, 1)))
            return (c.get("task_kind", "classification") != getattr(profile, "task_kind", "classification"),
                    c["is_pair"] != profile.pair_input, round(distance, 3),
                    round(abs(math.log(c["train_size"] / max(profile.labeled_examples, 1))), 3), c["backbone"], c["task"])

        best_per_task: dict[tuple, dict[str, Any]] = {}
        for c in sorted(self.evidence, key=key):
            best_per_task.setdefault((c["backbone"], c["task"]), c)
        out = []
        for c in list(best_per_task.values())[:limit]:
            ranked = sorted(c["methods"].items(), key=lambda kv: -kv[1]["score"])
            scores = ", ".join(f"{m.replace('_', ' ')} {v['score']:.2f}" for m, v in ranked if m in OPTIONS)
            out.append({**c, "sentence": f"on {c['task']} with {c['train_size']:,} examples ({c['backbone']}, mean "
                                         f"over {max(v['seeds'] for v in c['methods'].values())} seed(s)): {scores}"})
        return out


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
