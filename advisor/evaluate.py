"""Evaluation of the advisor against what the benchmark measured — above `recommend()`, never below it.

**Nested leave-one-family-out** (the reported protocol). For every task family F (sst2 and sst5 share sentences
and form one family): the whole calibration procedure — feature set, ridge penalty and decision parameters chosen
by an inner leave-one-family-out over the *other* families, then the refit — runs without F
(`advisor.calibration.build_artifact`), and the resulting artifact answers, through `recommend()`, a profile for
each measured cell (backbone, task, n) of F. Nothing about F is seen before it is scored.

Metrics, per cell (scores are the task's metric: accuracy, macro-F1 for the imbalanced tasks; means over seeds):
* regret — points lost by following the pick instead of the measured best (options within half a point of the best
  tie, the cheaper wins);
* within-1 — the pick is within 1 point of the measured best (target: >= 85% of cells);
* MAE — |expected - measured| over the options scored (the four trained ones when the probe is measured);
* coverage — share of measured scores inside the 10-90% interval (nominal 80%; target 75-85%).

Strategies, by what the left-out task's user tells the advisor: `advisor` (profile + measured zero-shot and probe
accuracy — the two numbers `bench probe` prints), `advisor_zero_shot`, `advisor_profile_only`; baselines:
the rules-only advisor, always full fine-tuning, always prompt engineering. The extrapolation of the size model is
evaluated separately (leave-one-source-out, leave-largest-model-out; `advisor.scaling`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from advisor.calibration import BASE, MODES, build_artifact, measured_best, profile_for_cell
from advisor.features import OPTIONS
from bench.results import cells_view, runs_view


ADVISORS = {"advisor": (True, True), "advisor_zero_shot": (True, False), "advisor_profile_only": (False, False)}
STRATEGIES = (*ADVISORS, "rules_only", "always_full_finetuning", "always_prompt_engineering")
TRAINED = ("prompt_tuning", "prefix_tuning", "lora", "full_finetuning")
NAMES = {"advisor": "advisor, profile + measured zero-shot and probe", "advisor_zero_shot":
         "advisor, profile + measured zero-shot", "advisor_profile_only": "advisor, profile answers only",
         "rules_only": "rules-only advisor", "always_full_finetuning": "always full fine-tuning",
         "always_prompt_engineering": "always prompt engineering"}


def _score_cells(artifact: dict[str, Any] | None, test_runs: Any) -> list[dict[str, Any]]:
    from advisor.artifact import ServedCalibration
    from advisor.recommend import recommend

    cal = ServedCalibration(artifact) if artifact else None
    cells = cells_view(test_runs)
    rows = []
    for (backbone, task, size), cell in cells[cells.method.isin(OPTIONS)].groupby(["backbone", "task", "train_size"]):
        if cell.method.nunique() < 2:
            continue
        acc = dict(zip(cell.method, cell.score))
        best = measured_best(acc, dict(zip(cell.method, cell.train_time_s)))
        first = cell.iloc[0]
        picks = {"rules_only": recommend(profile_for_cell(first), calibration=None, with_counterfactuals=False).best,
                 "always_full_finetuning": "full_finetuning", "always_prompt_engineering": "prompt_engineering"}
        row: dict[str, Any] = {"backbone": backbone, "task": task, "family": first.family, "train_size": int(size),
                               "measured_best": best, "best_score": acc[best], "seeds": int(cell.seeds.min())}
        zs = first.zs_accuracy if first.zs_accuracy == first.zs_accuracy else None
        probe = first.probe_score if first.probe_score == first.probe_score else None
        for name, (use_zs, use_probe) in ADVISORS.items():
            z, p = (zs if use_zs else None), (probe if use_probe else None)
            if cal is None or (use_zs and z is None) or (use_probe and p is None):
                picks[name] = picks["rules_only"]
                continue
            rec = recommend(profile_for_cell(first, z, p), calibration=cal, with_counterfactuals=False)
            picks[name] = rec.best
            scored = TRAINED if use_probe else OPTIONS
            judged = [r for r in rec.ranking if r.expected_accuracy and r.option in acc and r.option in scored]
            row[f"{name}_mae"] = float(np.mean([abs(r.expected_accuracy["point"] - acc[r.option]) for r in judged]))
            row[f"{name}_covered"] = (int(sum(r.expected_accuracy["low"] <= acc[r.option] <= r.expected_accuracy["high"]
                                             for r in judged)), len(judged))
            row[f"{name}_tied"] = len((rec.extra.get("decision") or {}).get("tied") or [])
            # The chance each option is at least as accurate as the pick, against what the cell measured.
            chances = (rec.extra.get("decision") or {}).get("chance_vs_pick") or {}
            row[f"{name}_chances"] = [(float(c), bool(acc[o] >= acc[rec.best])) for o, c in chances.items()
                                      if o in acc and rec.best in acc]
        for name, pick in picks.items():
            row[f"{name}_pick"] = pick
            # Within the half-point tie the cheaper option is "the best"; a dearer pick there loses nothing.
            row[f"{name}_regret"] = max(0.0, acc[best] - acc[pick]) if pick in acc else None
        rows.append(row)
    return rows


WITHIN_1 = 0.01 + 1e-9  # "within 1 point of the measured best" (a regret in accuracy units)


def headline_by_cell(rows: list[dict[str, Any]]) -> dict[str, dict[tuple[str, str, int], float]]:
    """The headline metrics (`summarise`'s regret, MAE and within-1 of the advisor) per cell, in points: their means
    are the headline. The refresh gates pair them cell by cell with the served calibration's (bench.refresh.gates),
    so a change of the calibration is told from the sampling noise of ~80 cells (within-1 moves in 1.25-point
    steps, with a standard error of ~5 points)."""
    out: dict[str, dict[tuple[str, str, int], float]] = {"regret": {}, "mae": {}, "top1_agreement": {}}
    for r in rows:
        key = (str(r["backbone"]), str(r["task"]), int(r["train_size"]))
        regret, mae = r.get("advisor_regret"), r.get("advisor_mae")
        if regret is not None:
            out["regret"][key] = 100.0 * regret
            out["top1_agreement"][key] = 100.0 if regret <= WITHIN_1 else 0.0
        if mae is not None:
            out["mae"][key] = 100.0 * mae
    return out


CHANCE_BINS = (0.0, 0.1, 0.25, 0.4, 0.6, 1.0 + 1e-9)


def chance_calibration(pairs: list[tuple[float, bool]]) -> dict[str, Any] | None:
    """How well the answer's "chance at least as accurate as the pick" (advisor.decision.chance_as_accurate) matches
    the measured cells: per band of stated chance, how many options, the mean chance stated and the share that
    measured at least as accurate; and the Brier score against always stating the overall share."""
    if not pairs:
        return None
    p = np.asarray([c for c, _ in pairs], dtype=float)
    y = np.asarray([h for _, h in pairs], dtype=float)
    bands = []
    for lo, hi in zip(CHANCE_BINS[:-1], CHANCE_BINS[1:]):
        inside = (p >= lo) & (p < hi)
        if inside.any():
            bands.append({"band": f"{100 * lo:.0f}-{min(100, 100 * hi):.0f}%", "options": int(inside.sum()),
                          "stated": round(100 * float(p[inside].mean()), 1),
                          "measured": round(100 * float(y[inside].mean()), 1)})
    return {"options": len(pairs), "stated": round(100 * float(p.mean()), 1), "measured": round(100 * float(y.mean()), 1),
            "brier": round(float(np.mean((p - y) ** 2)), 4), "brier_base_rate": round(float(np.mean((y.mean() - y) ** 2)), 4),
            "bands": bands}


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"cells": len(rows)}
    for name in STRATEGIES:
        regrets = [r[f"{name}_regret"] for r in rows if r.get(f"{name}_regret") is not None]
        out[name] = {"regret": round(100 * float(np.mean(regrets)), 2) if regrets else None,
                     "within_1_point": round(100 * float(np.mean([g <= WITHIN_1 for g in regrets])), 1)
                     if regrets else None,
                     "top1": round(100 * float(np.mean([r[f"{name}_pick"] == r["measured_best"] for r in rows])), 1)
                     if rows else None, "cells_scored": len(regrets)}
    for name in ADVISORS:
        maes = [r[f"{name}_mae"] for r in rows if r.get(f"{name}_mae") is not None]
        out[name]["mae"] = round(100 * float(np.mean(maes)), 2) if maes else None
        cov = [r[f"{name}_covered"] for r in rows if r.get(f"{name}_covered")]
        total = sum(c[1] for c in cov)
        out[name]["interval_coverage"] = round(100 * sum(c[0] for c in cov) / total, 1) if total else None
        tied = [r[f"{name}_tied"] for r in rows if f"{name}_tied" in r]
        out[name]["mean_tied_options"] = round(float(np.mean(tied)), 2) if tied else None
        out[name]["chance_calibration"] = chance_calibration([c for r in rows for c in r.get(f"{name}_chances") or []])
    # The headline (the refresh gates compare these): the recommended mode, with both measurements.
    out["regret"], out["mae"] = out["advisor"]["regret"], out["advisor"]["mae"]
    out["top1_agreement"] = out["advisor"]["within_1_point"]
    return out


def seed_noise(runs: Any) -> dict[str, Any] | None:
    """How much two seeds of one cell differ on average (points): |score(seed a) - score(seed b)| averaged over
    every pair of seeds of a cell, then over the five options' cells run with >= 2 seeds — the measurement's own
    noise, and the one figure every report calls "the seed noise" (`advisor evaluate`, docs/measurements.md, the
    recipe and rerun benchmarks). Pass one protocol per backbone (bench.results.one_protocol_per_backbone), as the
    calibration fits. (A cell's max - min was used before: with three seeds it overstates a two-seed difference.)"""
    ok = runs[runs.method.isin(OPTIONS)]
    spreads = []
    for _, g in ok.groupby(["backbone", "task", "train_size", "method"]):
        scores = g.sort_values("seed").score.tolist()
        if len(scores) >= 2:
            pairs = [abs(a - b) for i, a in enumerate(scores) for b in scores[i + 1:]]
            spreads.append(sum(pairs) / len(pairs))
    return {"cells": len(spreads), "mean_abs_seed_difference": round(100 * float(np.mean(spreads)), 2)} \
        if spreads else None


def cross_seed_oracle(runs: Any) -> dict[str, Any] | None:
    """The floor for regret: an oracle that runs every option once (one seed) and picks the best, judged on another
    seed of the same cell (every ordered pair of seeds), and the same pick judged against the mean of the other
    seeds. Cells where every option has >= 2 seeds. Points."""
    ok = runs[runs.method.isin(OPTIONS)]
    losses, vs_mean, spreads, cells = [], [], [], 0
    for _, cell in ok.groupby(["backbone", "task", "train_size"]):
        by = {m: dict(zip(g.seed, g.score)) for m, g in cell.groupby("method")}
        if len(by) < 2:
            continue
        seeds = sorted(set.intersection(*(set(v) for v in by.values())))
        if len(seeds) < 2:
            continue
        cells += 1
        for m, v in by.items():
            spreads.append(float(np.std([v[s] for s in seeds], ddof=1)))
        for a in seeds:
            pick = max(by, key=lambda m: (by[m][a], m))
            others = [b for b in seeds if b != a]
            for b in others:
                losses.append(max(by[m][b] for m in by) - by[pick][b])
            mean = {m: float(np.mean([by[m][b] for b in others])) for m in by}
            vs_mean.append(max(mean.values()) - mean[pick])
    if not cells:
        return None
    return {"cells": cells, "regret": round(100 * float(np.mean(losses)), 2),
            "regret_vs_mean_of_other_seeds": round(100 * float(np.mean(vs_mean)), 2),
            "per_cell_seed_sd": round(100 * float(np.mean(spreads)), 2)}


def leave_one_family_out(df: Any, published: list[dict] | None = None, families: list[str] | None = None) -> dict:
    """The nested evaluation (module docstring); `families` restricts which ones are scored (tests)."""
    from bench.results import one_protocol_per_backbone

    df, protocols = one_protocol_per_backbone(df)  # one protocol per backbone, as the served fit (issue 21)
    runs = runs_view(df)
    rows: list[dict[str, Any]] = []
    choices: list[dict[str, Any]] = []
    for fam in families or sorted(runs.family.unique()):
        mask = runs.family != fam
        art = build_artifact(_as_results(runs[mask]), published, with_scaling=False)
        rows += _score_cells(art, runs[~mask])
        for mode, spec in (art or {}).get("modes", {}).items():
            choices.append({"mode": mode, "features": spec["features"], "anchor": spec.get("anchor"),
                            "alpha": spec["alpha"], "decision": spec["decision"], "candidates": spec.get("candidates")})
    return {**summarise(rows), "protocol": "nested leave-one-family-out", "seed_noise": seed_noise(runs),
            "cross_seed_oracle": cross_seed_oracle(runs), "protocols": protocols,
            "ablation": ablation(choices),
            "by_backbone": {b: summarise([r for r in rows if r["backbone"] == b])
                            for b in sorted({r["backbone"] for r in rows})}, "rows": rows}


def ablation(choices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per mode and model configuration: its mean inner leave-one-family-out regret over the outer folds (measured
    inside each fold's training families only) and how often the selection took it — which features earn their
    place. The outer figures above are the only ones that score unseen families."""
    table: dict[tuple, dict[str, Any]] = {}
    for c in choices:
        picked = (tuple(c["features"]), c["anchor"], c["alpha"])
        for cand in c.get("candidates") or []:
            key = (c["mode"], tuple(cand["extra_features"]), cand["anchor"], cand["alpha"])
            t = table.setdefault(key, {"mode": c["mode"], "extra_features": list(cand["extra_features"]),
                                       "anchor": cand["anchor"], "alpha": cand["alpha"], "regrets": [], "maes": [],
                                       "selected": 0})
            t["regrets"].append(cand["inner_regret"])
            t["maes"].append(cand["inner_mae_gain"])
            extra = set(picked[0]) - set(BASE) - set(MODES[c["mode"]])  # what the candidates call extra
            t["selected"] += int(extra == set(cand["extra_features"]) and picked[1] == cand["anchor"]
                                 and picked[2] == cand["alpha"])
    out = []
    for t in table.values():
        out.append({k: v for k, v in t.items() if k not in ("regrets", "maes")}
                   | {"inner_regret": round(100 * float(np.mean(t["regrets"])), 2),
                      "inner_mae_gain": round(100 * float(np.mean(t["maes"])), 2), "folds": len(t["regrets"])})
    return sorted(out, key=lambda r: (r["mode"], r["inner_regret"]))


def _as_results(runs: Any) -> Any:
    """`runs_view` output back in the results-table shape `build_artifact` reads (it recomputes the anchors
    from the training runs only)."""
    return runs.drop(columns=[c for c in ("zs_accuracy", "probe_score", "family", "complexity", "score", "metric")
                              if c in runs.columns]).assign(task_metric=runs["metric"],
                                                            task_complexity=runs["complexity"])


def external(train_df: Any, test_df: Any, published: list[dict] | None = None) -> dict[str, Any]:
    """Fit on all of `train_df`, score the tasks of `test_df` it never saw (families it never saw)."""
    train = runs_view(train_df)
    test = runs_view(test_df)
    unseen = test[~test.family.isin(set(train.family))]
    art = build_artifact(train_df, published, with_scaling=False)
    rows = _score_cells(art, unseen)
    return {**summarise(rows), "protocol": "external (fit on all training tasks, score unseen task families)",
            "rows": rows, "skipped_seen_tasks": sorted(set(test.task) - set(unseen.task))}


def to_markdown(result: dict[str, Any], extrapolation: dict[str, Any] | None = None, source: str = "") -> str:
    noise = result.get("seed_noise")
    lines = ["# Advisor evaluation", "",
             f"Protocol: **{result['protocol']}** — for each task family the whole calibration (features, ridge "
             "penalty, the decision's weight/span/risk/z chosen by an inner leave-one-family-out on the other families, "
             f"then the refit) runs without it; {result['cells']} measured cells{(' from `' + source + '`') if source else ''}. "
             "Scores are the task's metric (accuracy; macro-F1 for imbalanced tasks), means over seeds. Targets: "
             "regret <= 1 point, pick within 1 point of the best in >= 85% of cells, MAE <= 3 points, 10-90% "
             "interval coverage 75-85%, every learned mode below rules-only and always-full-fine-tuning.", "",
             "| strategy | regret (points) | pick within 1 point (%) | exact top-1 (%) | MAE (points) | "
             "coverage (%) | mean tied options |", "|---|---|---|---|---|---|---|"]
    for key in STRATEGIES:
        r = result[key]
        lines.append(f"| {NAMES[key]} | {r['regret']} | {r['within_1_point']} | {r['top1']} | {r.get('mae') or '—'} | "
                     f"{r.get('interval_coverage') or '—'} | {r.get('mean_tied_options') or '—'} |")
    for b, part in result.get("by_backbone", {}).items():
        lines += ["", f"**{b}** ({part['cells']} cells): " + "; ".join(
            f"{NAMES[k]} regret {part[k]['regret']}" + (f", MAE {part[k]['mae']}" if part[k].get('mae') else "")
            for k in STRATEGIES)]
    if noise:
        lines += ["", f"Noise floor: two seeds of the same cell differ by {noise['mean_abs_seed_difference']} points on "
                  f"average ({noise['cells']} cells with two seeds). Differences smaller than that are not findings."]
    oracle = result.get("cross_seed_oracle")
    if oracle:
        lines += ["", f"Floor for regret: an oracle that runs all five options once and picks the best loses "
                  f"**{oracle['regret']} points** per decision when judged on another seed "
                  f"({oracle['regret_vs_mean_of_other_seeds']} against the mean of the other seeds; {oracle['cells']} "
                  f"cells with >= 2 seeds of every option; per-cell seed standard deviation "
                  f"{oracle['per_cell_seed_sd']} points). The advisor's regret above is judged on the mean of seeds."]
    chances = [(k, result[k].get("chance_calibration")) for k in ADVISORS if result.get(k, {}).get("chance_calibration")]
    if chances:
        lines += ["", "**The chance an option is at least as accurate as the pick** (shown beside each score; normal "
                  "on the in-store error of a difference), against what the held-out cells measured:", "",
                  "| mode | options | stated chance: band (options, mean stated / measured %) | Brier | Brier of the "
                  "base rate |", "|---|---|---|---|---|"]
        for k, c in chances:
            lines.append(f"| {NAMES[k]} | {c['options']} | " + "; ".join(
                f"{b['band']} ({b['options']}, {b['stated']} / {b['measured']})" for b in c["bands"])
                + f" | {c['brier']} | {c['brier_base_rate']} |")
    protocols = result.get("protocols")
    if protocols:
        from bench.results import protocols_text

        lines += ["", "Protocol per backbone (one calibration never mixes protocols): " + protocols_text(protocols)]
    if result.get("ablation"):
        lines += ["", "## Which features earn their place (inside the training folds)", "",
                  "For every outer fold the selection compared these configurations by leave-one-family-out on that "
                  "fold's training families only; the mean of those inner figures and how often each configuration "
                  "was chosen. Base features: examples per class, pair input, task kind, backbone size (+ the mode's measured "
                  "anchors). Inner MAE is in gain-over-chance points.", "",
                  "| mode | extra features | target | ridge penalty | inner regret (points) | inner MAE | chosen |",
                  "|---|---|---|---|---|---|---|"]
        for r in result["ablation"]:
            lines.append(f"| {r['mode']} | {', '.join(r['extra_features']) or '—'} | "
                         f"{'score - ' + r['anchor'] if r['anchor'] else 'score'} | {r['alpha']:g} | {r['inner_regret']} | "
                         f"{r['inner_mae_gain']} | {r['selected']}/{r['folds']} |")
    if extrapolation:
        lines += ["", "## Extrapolation of the size-and-data model", "",
                  f"{extrapolation['rows']} gap rows (option minus full fine-tuning in the same setting) from "
                  f"{len(extrapolation['sources'])} sources. Targets: ordering >= 80%, gap MAE <= 3 points, "
                  "coverage 75-85%.", "", "| protocol | held-out rows | ordering right (%) | pairs | gap MAE (points) | "
                  "coverage (%) |", "|---|---|---|---|---|---|"]
        for p in ("leave_one_source_out", "leave_largest_model_out"):
            e = extrapolation.get(p) or {}
            lines.append(f"| {p.replace('_', ' ')} | {e.get('held_out_rows')} | {e.get('ordering')} | "
                         f"{e.get('ordering_pairs')} | {e.get('gap_mae')} | {e.get('coverage')} |")
        by_option = (extrapolation.get("leave_one_source_out") or {}).get("by_option") or {}
        if by_option:
            lines += ["", "*leave one source out, per option (prompt engineering has its own size law):* " + "; ".join(
                f"{o.replace('_', ' ')}: {v['rows']} rows, gap MAE {v['gap_mae']}, coverage {v['coverage']}%, "
                f"10-90% width {v['mean_width']} points" for o, v in by_option.items())]
        pe = ((extrapolation.get("leave_one_source_out") or {}).get("by_option_provenance") or {}).get(
            "prompt_engineering") or {}
        if any(v.get("rows") for v in pe.values()):
            lines += ["", "*leave one source out, prompt engineering's rows by provenance:* " + "; ".join(
                f"{k}: {v['rows']} rows, gap MAE {v['gap_mae']}, coverage {v['coverage']}%, 10-90% width "
                f"{v['mean_width']} points" for k, v in pe.items() if v.get("rows"))]
        law = extrapolation.get("prompting_size_law") or {}
        if law.get("pairs"):
            lines += ["", f"*Prompting's own size law, leave one source out:* the change in in-context accuracy from "
                      f"a setting's smallest model to each larger one is predicted within {law['mae']} points on "
                      f"average ({law['pairs']} pairs; assuming no size effect: {law['no_size_effect_mae']}); "
                      + "; ".join(f"{x['source']}: {x['mae']} ({x['pairs']} pairs, slope without it "
                                  f"{x['slope_without_it']} points per decade)" for x in law["per_source"])]
            for kind, k in (law.get("by_kind") or {}).items():
                lines += ["", f"*Prompting's size law for {kind} tasks (served for them only where it beats no size "
                          f"effect; else the pooled law), leave one "
                          f"{k['held_out']} out:* within {k['mae']} points on average ({k['pairs']} pairs; assuming no "
                          f"size effect: {k['no_size_effect_mae']})"]
        by_prov = (extrapolation.get("leave_one_source_out") or {}).get("by_provenance") or {}
        if by_prov:
            lines += ["", "*leave one source out, by provenance of the held-out rows (a 1-70B answer is predicted "
                      "like a held-out published source):* " + "; ".join(
                          f"{k}: {v['rows']} rows, gap MAE {v['gap_mae']}, coverage {v['coverage']}%, 10-90% width "
                          f"{v['mean_width']} points" for k, v in by_prov.items())]
        lto = extrapolation.get("leave_one_task_out") or {}
        if (lto.get("near") or {}).get("rows"):
            near, far = lto["near"], lto["far"]
            lines += ["", f"*Leave one published task out ({lto['blocks']} source-task blocks; a user whose model and "
                      "data size a published source covered, on a new task):* rows within "
                      f"{lto['near_decades']} decade of the evidence in parameters and examples: {near['rows']} rows, "
                      f"gap MAE {near['gap_mae']}, coverage {near['coverage']}%, 10-90% width {near['mean_width']} "
                      f"points (at most {near['max_width']}; target <= 30, coverage 75-90%); farther: {far['rows']} "
                      f"rows, gap MAE {far.get('gap_mae')}, coverage {far.get('coverage')}%, width "
                      f"{far.get('mean_width')} points; near, per option: " + "; ".join(
                          f"{o.replace('_', ' ')} {v['rows']} rows, coverage {v['coverage']}%" for o, v in
                          (lto.get("near_by_option") or {}).items() if v.get("rows"))]
        for p in ("leave_one_source_out", "leave_largest_model_out"):
            per = (extrapolation.get(p) or {}).get("per_source") or []
            if per:
                lines += ["", f"*{p.replace('_', ' ')}, per source:* " + "; ".join(
                    f"{x['source']} ({x['rows']} rows, {x['held_out_params_b']}B): MAE {x['gap_mae']}, ordering "
                    f"{x['ordering']}" for x in per)]
    lines += ["", "## Per cell", "", "| backbone | task | n | measured best | advisor | regret | advisor, zero-shot | "
              "advisor, profile only | rules-only | MAE |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        reg, mae = r.get("advisor_regret"), r.get("advisor_mae")
        lines.append(f"| {r['backbone']} | {r['task']} | {r['train_size']} | {r['measured_best']} | {r['advisor_pick']} | "
                     f"{'' if reg is None else format(100 * reg, '.1f')} | {r['advisor_zero_shot_pick']} | "
                     f"{r['advisor_profile_only_pick']} | {r['rules_only_pick']} | "
                     f"{'' if mae is None else format(100 * mae, '.1f')} |")
    return "\n".join(lines) + "\n"


def write_markdown(result: dict[str, Any], path: str | Path, extrapolation: dict | None = None,
                   source: str = "") -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(to_markdown(result, extrapolation, source), encoding="utf-8")
    return p


def fit_and_evaluate(df: Any, published: list[dict] | None = None, source: str = "") -> dict[str, Any] | None:
    """The calibration artifact for `df` (+ published rows) with its own evaluation inside: what `advisor
    calibrate` and `bench refresh` write and what the app shows. None when there is too little data."""
    from advisor.calibration import build_artifact
    from advisor.scaling import evaluate_extrapolation

    from bench.results import one_protocol_per_backbone

    published = list(published or [])
    df, protocols = one_protocol_per_backbone(df)
    art = build_artifact(df, published, source=source)
    if art is None:
        return None
    result = leave_one_family_out(df, published)
    art["protocols"] = protocols
    extrapolation = evaluate_extrapolation(runs_view(df), published)
    art["evaluation"] = {**{k: v for k, v in result.items() if k != "rows"}, "rows": result["rows"],
                         "extrapolation": extrapolation}
    art["evaluation_markdown"] = to_markdown(result, extrapolation, source)
    return art
