"""Calibration (the fit side): measured runs -> a plain-JSON artifact that `advisor.artifact` serves.

Nothing here runs at request time: `advisor calibrate` and `bench refresh` call `build_artifact`, which writes
`calibration.json` into a versioned folder; the advisor loads that file with numpy alone.

**Task model** (one `OutcomeModel` per *mode*, i.e. per set of things the user can tell us):
  probe      — the profile + measured zero-shot accuracy + linear-probe accuracy on their n examples
  zero_shot  — the profile + measured zero-shot accuracy
  profile    — the answers only (zero-shot gain mapped from domain_shift / task_complexity)
Target: each option's score (the task's metric: accuracy, macro-F1 for the imbalanced tasks) as gain over chance.
Rows: every successful run of the five options. Features (advisor.features): examples per class (monotone for the
trained options), pair input, backbone size, and per mode the measured anchors; the input length is a candidate.

**Model selection inside training folds.** Which candidate features, the ridge penalty, and the decision's tie
width / weight / span (advisor.decision) are chosen by leave-one-*family*-out over the training tasks only
(sst2 and sst5 share sentences and are one family). `advisor.evaluate` wraps this whole procedure in an outer
leave-one-family-out loop, so a reported figure never sees the family it scores.
"""

from __future__ import annotations

import itertools
import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from advisor.decision import DecisionParams, best_option
from advisor.features import (OPTIONS, design, from_gain, monotone_columns, numeric_values,
                               prompting_data_columns, to_gain)
from advisor.model import OutcomeModel
from bench.results import cells_view, runs_view  # the one results view

ARTIFACT_VERSION = 2
MODES: dict[str, tuple[str, ...]] = {
    "probe": ("zero_shot_gain", "probe_gain"),
    "zero_shot": ("zero_shot_gain",),
    "profile": ("zero_shot_gain",),
}
# The task kind is structural, like pair input: a generation task's exact match has no chance level and no label
# set, so "examples per class" reads its n as n examples of one class. Without the flag the served calibration
# 20261127T074819Z expected 0.71 exact match from full fine-tuning for a 135M model with 200 examples of a generation
# task, where the one generation task measured here scored 0.05-0.10 (en_fr_words); with it, each option gets its
# own generation offset (zero, and no help, in a fold that holds the only generation family out).
QUANTILES = (0.1, 0.9)  # the 10-90% interval every answer shows (OutcomeModel.quantiles)
BASE = ("log2_examples_per_class", "is_pair", "is_generation", "log10_params")
# Candidate targets: the score itself, or its difference from a measured anchor (the probe's score at the same n
# pins the task's difficulty at that size, so the model only has to learn how each option differs from it).
ANCHORS: dict[str, tuple[str | None, ...]] = {"probe": (None, "probe_gain"), "zero_shot": (None, "zero_shot_gain"),
                                              "profile": (None,)}
CANDIDATE_EXTRA = ((), ("log2_input_tokens",))
ALPHAS = (0.03, 0.3, 3.0)
# z: how many in-store errors of a difference (sigma_diff) a measured difference must exceed to count (issue 20: a
# decision weighted by its precision); 0 keeps every measured difference, the selection says which regret prefers.
DECISION_GRID = [DecisionParams(w, span, risk, z) for w, span, risk, z in
                 itertools.product((0.3, 0.5, 0.7, 0.9), (0.05, 0.1, 0.2), (0.0, 0.5, 1.0), (0.0, 0.25, 0.5, 1.0))]
SHIFT_QUANTILE = {"none": 0.75, "moderate": 0.5, "large": 0.25}
COMPLEXITY_SHIFT = {"simple": 0.15, "moderate": 0.0, "complex": -0.15}
TIE = 0.005  # the evaluation's utility: options within half a point of the best tie, the cheaper wins


_ROW_COLUMNS = (("zs_accuracy", None), ("num_classes", 2), ("probe_score", None), ("train_size", 1),
                ("is_pair", False), ("backbone_params", 1.0), ("mean_input_tokens", 1.0),
                ("task_kind", "classification"))


def _gain(score: float, k: float) -> float:
    """`to_gain` of one number in plain floats (the same IEEE arithmetic): the fit converts ~400,000 of them and
    numpy's per-call overhead was 6 of its 60 s."""
    c = 0.0 if k <= 1 else 1.0 / max(k, 1.0)
    return (score - c) / (1.0 - c)


def _feature_rows(frame: Any, mode: str, zs_map: float | None = None) -> list[dict[str, float | None]]:
    # Only the columns read, each as one list: itertuples over every (Arrow-backed) column was 47 of the fit's 108 s.
    n = len(frame)
    cols = [frame[c].tolist() if c in frame.columns else [d] * n for c, d in _ROW_COLUMNS]
    rows = []
    for zs_acc, k, probe, size, pair, params, tokens, kind in zip(*cols):
        zs = _gain(zs_acc, k) if zs_acc == zs_acc and zs_acc is not None else None
        if mode == "profile" and zs_map is not None:
            zs = zs_map
        pg = _gain(probe, k) if mode == "probe" and probe == probe and probe is not None else None
        rows.append(numeric_values(size, k, bool(pair), params, tokens, None if zs is None else float(zs),
                                   None if pg is None else float(pg), generation=kind == "generation"))
    return rows


def _usable(frame: Any, mode: str) -> Any:
    need = frame.zs_accuracy.notna()
    if mode == "probe":
        need &= frame.probe_score.notna()
    return frame[need & frame.method.isin(OPTIONS)]


def _offset(rows: list[dict[str, float | None]], anchor: str | None) -> np.ndarray:
    return np.asarray([float(r[anchor]) if anchor else 0.0 for r in rows], dtype=float)


def fit_mode(runs: Any, mode: str, features: tuple[str, ...], alpha: float, conformal: bool = True,
             anchor: str | None = None) -> OutcomeModel | None:
    data = _usable(runs, mode)
    if len(data) < 10 or data.family.nunique() < 2:
        return None
    rows = _feature_rows(data, mode)
    X = design(rows, list(data.method), features)
    y = to_gain(data.score.to_numpy(float), data.num_classes.to_numpy(float)) - _offset(rows, anchor)
    model = OutcomeModel(alpha=alpha, quantiles=QUANTILES, monotone_features=monotone_columns(features),
                         conformal=conformal, decreasing_features=prompting_data_columns(features))
    return model.fit(X, y, groups=np.asarray(data.family))


# ---------------------------------------------------------------- decisions on measured cells

def profile_for_cell(cell_row: Any, zero_shot: float | None = None, probe: float | None = None) -> Any:
    from advisor.profile import ProjectProfile

    return ProjectProfile(labeled_examples=int(cell_row.train_size), task_complexity=str(cell_row.complexity),
                          task_kind=str(getattr(cell_row, "task_kind", "classification")),
                          compute="minimal", accuracy_goal="high", num_classes=max(2, int(cell_row.num_classes)),
                          avg_input_tokens=max(1, int(round(float(cell_row.mean_input_tokens)))),
                          pair_input=bool(cell_row.is_pair), model_params_b=float(cell_row.backbone_params) / 1e9,
                          zero_shot_accuracy=None if zero_shot is None else round(float(zero_shot), 6),
                          probe_accuracy=None if probe is None else round(float(probe), 6))


def rules_for_cells(cells: Any) -> dict[tuple, tuple[dict[str, float], dict[str, bool]]]:
    """(backbone, task, n) -> (rule score, feasible) per option, for the cell's profile. Not fitted: computed once."""
    from advisor.costs import estimate_all
    from advisor.rules import score_options
    from advisor.table import load_table

    table = load_table()
    out = {}
    for key, g in cells.groupby(["backbone", "task", "train_size"]):
        p = profile_for_cell(g.iloc[0])
        s = score_options(p, table, estimate_all(p, table))
        out[key] = ({o: s[o].score for o in OPTIONS}, {o: s[o].feasible for o in OPTIONS})
    return out


def measured_best(scores: dict[str, float], times: dict[str, float]) -> str:
    top = max(scores.values())
    tied = [o for o in scores if scores[o] >= top - TIE]
    return sorted(tied, key=lambda o: (times.get(o, 0.0), o))[0]


def zero_shot_gains(runs: Any, kind: str | None = None) -> list[float]:
    """The measured zero-shot gains, one per (backbone, task): of tasks of `kind` where one of them has a zero-shot
    score, else of every task (a generation task's zero-shot exact match is not a classifier's gain over chance).
    The fit (`_zs_map`) and the served artifact both take their quantile of this one list."""
    have = runs[runs.zs_accuracy.notna()]
    if kind is not None and (have.task_kind == kind).any():
        have = have[have.task_kind == kind]
    per_task = have.groupby(["backbone", "task"])[["zs_accuracy", "num_classes"]].first()
    return sorted(float(to_gain(a, k)) for a, k in per_task.itertuples(index=False))


def _zs_map(gains: list[float], complexity: str, shift: str = "none") -> float:
    """The zero-shot gain a profile-only answer assumes: a quantile of `zero_shot_gains` set by the answers."""
    q = SHIFT_QUANTILE[shift] + COMPLEXITY_SHIFT.get(complexity, 0.0)
    return float(np.quantile(gains, min(0.95, max(0.05, q)))) if gains else 0.5


def predict_cells(model: OutcomeModel, features: tuple[str, ...], cells: Any, mode: str,
                  zs_gains: dict[str, list[float]], anchor: str | None = None) -> dict[tuple, dict[str, float]]:
    """Expected score per option for each (backbone, task, n) of `cells` (which carry the cell anchors);
    `zs_gains`: the training runs' `zero_shot_gains` per task kind of `cells` (the profile mode's assumption)."""
    keys = ["backbone", "task", "train_size"]
    # The first row of each cell, in the cells' sorted order, and one prediction for all of them (a groupby with a
    # one-row frame and a predict per cell was a third of the fit's time).
    first = cells.groupby(keys, sort=False).head(1).sort_values(keys, kind="stable")
    if mode != "profile":
        first = first[first.zs_accuracy.notna()]
    if mode == "probe":
        first = first[first.probe_score.notna()]
    if first.empty:
        return {}
    zmaps = [_zs_map(zs_gains[str(kd)], str(c)) for kd, c in zip(first.task_kind, first.complexity)] \
        if mode == "profile" else []
    rows = _feature_rows(first, mode)
    if mode == "profile":  # what _feature_rows(..., zs_map) does, per cell
        rows = [dict(r, zero_shot_gain=float(z)) for r, z in zip(rows, zmaps)]
    X = design([r for r in rows for _ in OPTIONS], [o for _ in rows for o in OPTIONS], features)
    gain = model.predict(X).reshape(len(rows), len(OPTIONS)) + _offset(rows, anchor)[:, None]
    # Within [chance, 1], as the served decision compares them (advisor.artifact.UNMEASURED_CEILING): every cell
    # scored here is measured, so its ceiling is 1.
    pts = from_gain(gain, first.num_classes.to_numpy(float)[:, None])
    return {(b, t, n): dict(zip(OPTIONS, map(float, row)))
            for b, t, n, row in zip(first.backbone, first.task, first.train_size, pts)}


def sigma_diff(residuals: np.ndarray, keys: list[tuple], methods: list[str]) -> float:
    """Spread of the difference of two options' out-of-fold errors in the same cell (gain units)."""
    by_cell: dict[tuple, dict[str, list[float]]] = {}
    for r, k, m in zip(residuals, keys, methods):
        by_cell.setdefault(k, {}).setdefault(m, []).append(float(r))
    diffs = []
    for per in by_cell.values():
        means = [float(np.mean(v)) for v in per.values()]
        diffs += [a - b for a, b in itertools.combinations(means, 2)]
    return float(np.std(diffs)) if diffs else 0.05


def option_spread(residuals: np.ndarray, methods: list[str]) -> dict[str, float]:
    """Each option's own out-of-fold error spread (standard deviation, gain units)."""
    res, meth = np.asarray(residuals, dtype=float), np.asarray(methods)
    return {o: float(np.std(res[meth == o])) if (meth == o).sum() >= 2 else float(np.std(res)) for o in OPTIONS}


def regret_of(params: DecisionParams, preds: dict[tuple, dict[str, float]], truth: dict[tuple, tuple],
              rules: dict[tuple, tuple], spread: dict[str, float] | None = None, sd: float = 0.0) -> float:
    """Mean regret of the decision with `params` (sd: the error of a difference, gain units, for the z margin)."""
    losses = []
    for key, pts in preds.items():
        if key not in truth or key not in rules:
            continue
        scores, times, k = truth[key]
        r, feas = rules[key]
        scale = 1.0 - (1.0 / k if k > 1 else 0.0)
        margin = params.z * sd * scale
        # The pick alone (decision.best_option: decide + rank without building either; ~370,000 per fit).
        pick = best_option(OPTIONS, r, feas, pts, params, spread={o: v * scale for o, v in (spread or {}).items()},
                           margins={o: margin for o in OPTIONS} if margin else None)
        best = measured_best(scores, times)
        losses.append(scores[best] - scores.get(pick, min(scores.values())))
    return float(np.mean(losses)) if losses else math.inf


def truth_for(cells: Any) -> dict[tuple, tuple[dict[str, float], dict[str, float], float]]:
    out = {}
    for key, g in cells[cells.method.isin(OPTIONS)].groupby(["backbone", "task", "train_size"]):
        if g.method.nunique() >= 2:
            out[key] = (dict(zip(g.method, g.score)), dict(zip(g.method, g.train_time_s)),
                        float(g.num_classes.iloc[0]))
    return out


def select(runs: Any, mode: str) -> dict[str, Any] | None:
    """Choose features, ridge penalty and decision parameters by leave-one-family-out inside `runs`."""
    fams = sorted(runs.family.unique())
    if len(fams) < 3:
        return None
    cells = cells_view(runs)
    truth = truth_for(cells)
    rules = rules_for_cells(cells)
    configs = [(BASE + extra + MODES[mode], a, anc) for extra in CANDIDATE_EXTRA for a in ALPHAS
               for anc in ANCHORS[mode]]
    # Inner out-of-fold predictions for every model configuration.
    oof: dict[int, dict[tuple, dict[str, float]]] = {i: {} for i in range(len(configs))}
    resid: dict[int, tuple[list, list, list]] = {i: ([], [], []) for i in range(len(configs))}
    for fam in fams:
        train, test = runs[runs.family != fam], cells[cells.family == fam]
        test_runs = _usable(runs[runs.family == fam], mode)
        zs_gains = {kd: zero_shot_gains(train, kd) for kd in set(test.task_kind)}  # once per fold, not per row
        for i, (feats, alpha, anc) in enumerate(configs):
            m = fit_mode(train, mode, feats, alpha, conformal=False, anchor=anc)
            if m is None:
                continue
            oof[i].update(predict_cells(m, feats, test, mode, zs_gains, anc))
            if len(test_runs):
                rows = _feature_rows(test_runs, mode)
                if mode == "profile":
                    rows = [dict(r, zero_shot_gain=_zs_map(zs_gains[kd], c))
                            for r, c, kd in zip(rows, test_runs.complexity, test_runs.task_kind)]
                X = design(rows, list(test_runs.method), feats)
                res = to_gain(test_runs.score.to_numpy(float), test_runs.num_classes.to_numpy(float)) \
                    - m.predict(X) - _offset(rows, anc)
                resid[i][0].extend(res)
                resid[i][1].extend(zip(test_runs.backbone, test_runs.task, test_runs.train_size))
                resid[i][2].extend(test_runs.method)
    best: tuple[float, int, DecisionParams] | None = None
    candidates = []  # the ablation: each model configuration's inner regret (best decision) and MAE
    for i in range(len(configs)):
        if not oof[i]:
            continue
        spread = option_spread(np.asarray(resid[i][0]), resid[i][2])
        sd_i = sigma_diff(np.asarray(resid[i][0]), resid[i][1], resid[i][2])
        scores = [regret_of(params, oof[i], truth, rules, spread, sd_i) for params in DECISION_GRID]
        candidates.append({"extra_features": [f for f in configs[i][0] if f not in BASE + MODES[mode]],
                           "alpha": configs[i][1], "anchor": configs[i][2], "inner_regret": round(min(scores), 5),
                           "inner_mae_gain": round(float(np.mean(np.abs(resid[i][0]))), 5)})
        for params, reg in zip(DECISION_GRID, scores):
            # Ties in regret go to the simpler model (fewer features, then more regularisation).
            key = (round(reg, 6), len(configs[i][0]), -configs[i][1])
            if best is None or key < (round(best[0], 6), len(configs[best[1]][0]), -configs[best[1]][1]):
                best = (reg, i, params)
    if best is None:
        return None
    reg, i, params = best
    feats, alpha, anc = configs[i]
    sd = sigma_diff(np.asarray(resid[i][0]), resid[i][1], resid[i][2])
    spread = option_spread(np.asarray(resid[i][0]), resid[i][2])
    # The interval an answer shows: each option's 10-90% quantiles of these residuals — on families held out, with
    # the features as an answer has them (the profile mode's zero-shot gain mapped from the answers, not measured).
    # The refit's own leave-one-family-out residuals keep the measured gain as the feature, which the profile mode
    # never has: its prompt-engineering intervals missed 49 of 92 held-out cells, 120 of its 150 misses below the
    # interval (a diagnosis, 2026-12-05).
    res, meth = np.asarray(resid[i][0], dtype=float), np.asarray(resid[i][2])
    as_served = {o: [float(v) for v in np.quantile(res[meth == o], QUANTILES)] for o in OPTIONS
                 if (meth == o).sum() >= 5}
    return {"features": list(feats), "alpha": alpha, "anchor": anc, "decision": params.to_dict(), "sigma_diff": sd,
            "option_spread": spread, "inner_regret": reg, "inner_families": len(fams), "candidates": candidates,
            "option_residuals": as_served}


def fit_task_models(runs: Any) -> dict[str, Any]:
    """Per mode: the selected configuration, refitted on all of `runs` with conformal (leave-one-family-out)
    residuals; plain data."""
    out = {}
    for mode in MODES:
        chosen = select(runs, mode)
        if chosen is None:
            continue
        model = fit_mode(runs, mode, tuple(chosen["features"]), chosen["alpha"], conformal=True,
                         anchor=chosen["anchor"])
        if model is None:
            continue
        data = _usable(runs, mode)
        res, meth = model.residuals_, np.asarray(data.method)
        # Per option: the selection's residuals as served (`select`), else this refit's own.
        per_option = {o: [float(v) for v in np.quantile(res[meth == o], model.quantiles)] for o in OPTIONS
                      if (meth == o).sum() >= 5}
        per_option.update(chosen.get("option_residuals") or {})
        out[mode] = {**chosen, "model": model.to_json(), "rows": int(len(data)), "option_residuals": per_option}
    return out


# ---------------------------------------------------------------- the artifact

def evidence_index(runs: Any) -> list[dict[str, Any]]:
    """Per measured cell: mean score per method over seeds and the run files behind it (what answers cite)."""
    out = []
    for (b, t, n), g in cells_view(runs).groupby(["backbone", "task", "train_size"]):
        first = g.iloc[0]
        methods = {r.method: {"score": round(float(r.score), 4), "seeds": int(r.seeds),
                              "runs": list(getattr(r, "paths", []))} for r in g.itertuples()}
        out.append({"backbone": b, "task": t, "train_size": int(n), "family": first.family,
                    "num_classes": int(first.num_classes), "is_pair": bool(first.is_pair),
                    "backbone_params": float(first.backbone_params), "complexity": first.complexity,
                    "task_kind": first.task_kind, "metric": first.metric,
                    "mean_input_tokens": round(float(first.mean_input_tokens), 1), "methods": methods})
    return out


# What a fit depends on besides the runs: its code, the decision table (its rules score every cell in the model
# selection) and the published evidence. `bench refresh` refits when this changes even if no run did — the
# precision-weighted decision (issue 20) changed the fit without a new measurement.
_REPO = Path(__file__).resolve().parent.parent
FIT_INPUTS = ("advisor/calibration.py", "advisor/scaling.py", "advisor/decision.py", "advisor/features.py",
              "advisor/model.py", "advisor/evaluate.py", "data/decision_table.yaml")


def fit_fingerprint(root: Path = _REPO) -> str:
    """sha256 over the fit's code, the decision table and every published-evidence file (sorted, by content)."""
    import hashlib

    h = hashlib.sha256()
    files = [root / f for f in FIT_INPUTS] + sorted((root / "data" / "evidence").glob("*.yaml"))
    for f in files:
        h.update(f.relative_to(root).as_posix().encode())
        try:
            h.update(f.read_bytes())
        except OSError:
            h.update(b"<missing>")
    return h.hexdigest()[:16]


def build_artifact(df: Any, evidence_rows: Iterable[dict] | None = None, source: str = "",
                   with_scaling: bool = True) -> dict[str, Any] | None:
    """Fit everything from a results DataFrame (+ published rows) into one JSON-able dict; None if too little."""
    runs = runs_view(df)
    runs = runs[runs.method.isin((*OPTIONS, "linear_probe"))]
    if len(runs) < 20 or runs.family.nunique() < 3:
        return None
    modes = fit_task_models(runs)
    if not modes:
        return None
    zs_gains = zero_shot_gains(runs)
    zs_by_kind = {kd: zero_shot_gains(runs, kd) for kd in sorted(runs[runs.zs_accuracy.notna()].task_kind.unique())}
    backbones = {b: float(g.backbone_params.iloc[0]) for b, g in runs.groupby("backbone")}
    art: dict[str, Any] = {
        "version": ARTIFACT_VERSION, "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": source, "n_runs": int(len(runs)), "tasks": sorted(runs.task.unique()),
        "families": sorted(runs.family.unique()), "backbones": backbones, "zero_shot_gains": zs_gains,
        "zero_shot_gains_by_kind": zs_by_kind,
        "tasks_by_kind": {kd: sorted(g.task.unique()) for kd, g in runs.groupby("task_kind")},
        "shift_quantile": SHIFT_QUANTILE, "complexity_shift": COMPLEXITY_SHIFT, "modes": modes,
        "measured_sizes": sorted(int(n) for n in runs.train_size.unique()),
        "measured_kinds": sorted(runs.task_kind.unique()),
        "evidence": evidence_index(runs),
        "fit_fingerprint": fit_fingerprint(),
    }
    if with_scaling:
        from advisor.scaling import fit_scaling

        art["scaling"] = fit_scaling(runs, list(evidence_rows or []))
    return art


def write_artifact(art: dict[str, Any], folder: str | Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "calibration.json.tmp"
    tmp.write_text(json.dumps(art, indent=1, sort_keys=True, default=float), encoding="utf-8")
    tmp.replace(folder / "calibration.json")
    return folder / "calibration.json"
