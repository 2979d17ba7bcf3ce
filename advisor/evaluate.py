"""Leave-one-task-out evaluation of the advisor against what the benchmark measured.

For every measured cell (backbone, task, train size) of a left-out task, the advisor is
refitted without that task and asked about a profile describing the cell. Metrics:

* MAE — |expected accuracy - measured accuracy| over every option measured in the cell (points);
* top-1 agreement — the advisor's best option equals the measured best option, under the
  stated utility: *accuracy first*: the options within 0.5 points of the best mean accuracy
  tie, and the tie goes to the cheapest (lowest mean train time). Every measured cell ran
  within the benchmark's budget, so no option is excluded by cost here;
* regret — accuracy points lost by following the advisor's pick instead of the measured best.

The advisor is scored three ways, by what the left-out task's user tells it:
* `advisor` — the profile plus the two cheap measurements the advisor asks for: the zero-shot
  prompting accuracy and the linear-probe accuracy on the cell's n examples (both taken from
  the left-out task's own prompt_engineering / linear_probe runs, i.e. what that user would
  measure in seconds); MAE is over the four trained options, whose accuracy is the unknown
  (prompt engineering's is then essentially measured);
* `advisor_zero_shot` — the profile plus the zero-shot accuracy only (MAE over all five);
* `advisor_profile_only` — the questionnaire answers only (task difficulty from
  domain_shift / task_complexity; MAE over all five).

Baselines side by side: the rules-only advisor, "always full fine-tuning", "always prompt
engineering".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from advisor.calibration import fit
from advisor.profile import OPTIONS, ProjectProfile

TIE = 0.005
ADVISORS = ("advisor", "advisor_zero_shot", "advisor_profile_only")
STRATEGIES = (*ADVISORS, "rules_only", "always_full_finetuning", "always_prompt_engineering")
TRAINED = ("prompt_tuning", "prefix_tuning", "lora", "full_finetuning")


def _complexity() -> dict[str, str]:
    from advisor.evidence import task_complexities

    return task_complexities()


def cells(df: Any) -> Any:
    """One row per (backbone, task, train size, option) with mean accuracy and train time over seeds."""
    ok = df[(df.status == "ok") & df.method.isin(OPTIONS)] if "status" in df else df[df.method.isin(OPTIONS)]
    return ok.groupby(["backbone", "task", "train_size", "method"], as_index=False).agg(
        accuracy=("accuracy", "mean"), train_time_s=("train_time_s", "mean"), num_classes=("num_classes", "first"),
        is_pair=("is_pair", "first"), mean_input_tokens=("mean_input_tokens", "mean"),
        backbone_params=("backbone_params", "first"))


def measured_best(cell: Any) -> str:
    top = cell.accuracy.max()
    tied = cell[cell.accuracy >= top - TIE]
    return str(tied.sort_values(["train_time_s", "method"]).method.iloc[0])


def cell_profile(cell: Any, complexity: dict[str, str], zero_shot: float | None = None,
                 probe: float | None = None) -> ProjectProfile:
    first = cell.iloc[0]
    return ProjectProfile(labeled_examples=int(first.train_size), task_complexity=complexity.get(first.task, "moderate"),
                          compute="minimal", accuracy_goal="high", num_classes=int(first.num_classes),
                          avg_input_tokens=max(1, int(round(first.mean_input_tokens))), pair_input=bool(first.is_pair),
                          model_params_b=float(first.backbone_params) / 1e9,
                          zero_shot_accuracy=None if zero_shot is None else round(float(zero_shot), 6),
                          probe_accuracy=None if probe is None else round(float(probe), 6))


def _measurements(test_df: Any) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str, int], float]]:
    """What the left-out task's user would measure cheaply: zero-shot and linear-probe accuracy."""
    pe = test_df[(test_df.method == "prompt_engineering") & test_df.zero_shot_accuracy.notna()]
    zs = {k: float(g.zero_shot_accuracy.mean()) for k, g in pe.groupby(["backbone", "task"])}
    lp = test_df[test_df.method == "linear_probe"]
    probe = {(b, t, int(n)): float(g.accuracy.mean()) for (b, t, n), g in lp.groupby(["backbone", "task", "train_size"])}
    return zs, probe


def _score(train_df: Any, test_df: Any, complexity: dict[str, str]) -> list[dict[str, Any]]:
    from advisor.recommend import recommend

    cal = fit(train_df)
    zs, probe = _measurements(test_df)
    rows = []
    for (backbone, task, size), cell in cells(test_df).groupby(["backbone", "task", "train_size"]):
        if cell.method.nunique() < 2:
            continue
        acc = dict(zip(cell.method, cell.accuracy))
        best = measured_best(cell)
        profile = cell_profile(cell, complexity)
        picks = {"rules_only": recommend(profile, calibration=None, with_counterfactuals=False).best,
                 "always_full_finetuning": "full_finetuning", "always_prompt_engineering": "prompt_engineering"}
        row = {"backbone": backbone, "task": task, "train_size": int(size), "measured_best": best,
               "best_accuracy": acc[best]}
        measured = {"advisor": (zs.get((backbone, task)), probe.get((backbone, task, int(size)))),
                    "advisor_zero_shot": (zs.get((backbone, task)), None), "advisor_profile_only": (None, None)}
        for name, (z, pr) in measured.items():
            errors = []
            if cal is not None:
                rec = recommend(cell_profile(cell, complexity, z, pr), calibration=cal, with_counterfactuals=False)
                picks[name] = rec.best
                scored = TRAINED if pr is not None else OPTIONS
                judged = [r for r in rec.ranking if r.expected_accuracy and r.option in acc and r.option in scored]
                errors = [abs(r.expected_accuracy["point"] - acc[r.option]) for r in judged]
                inside = [r.expected_accuracy["low"] <= acc[r.option] <= r.expected_accuracy["high"] for r in judged]
                row[f"{name}_covered"] = (int(sum(inside)), len(inside))
            else:
                picks[name] = picks["rules_only"]
            row[f"{name}_mae"] = float(np.mean(errors)) if errors else None
        for name, pick in picks.items():
            row[f"{name}_pick"] = pick
            row[f"{name}_regret"] = (acc[best] - acc[pick]) if pick in acc else None
            row[f"{name}_top1"] = pick == best
        rows.append(row)
    return rows


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"cells": len(rows)}
    for name in STRATEGIES:
        regrets = [r[f"{name}_regret"] for r in rows if r[f"{name}_regret"] is not None]
        out[name] = {"regret": round(100 * float(np.mean(regrets)), 2) if regrets else None,
                     "top1_agreement": round(100 * float(np.mean([r[f"{name}_top1"] for r in rows])), 1)
                     if rows else None,
                     "cells_scored": len(regrets)}
    for name in ADVISORS:
        maes = [r[f"{name}_mae"] for r in rows if r.get(f"{name}_mae") is not None]
        out[name]["mae"] = round(100 * float(np.mean(maes)), 2) if maes else None
        covered = [r[f"{name}_covered"] for r in rows if r.get(f"{name}_covered")]
        total = sum(c[1] for c in covered)
        # Share of measured accuracies inside the 10-90% interval (nominal 80%).
        out[name]["interval_coverage"] = round(100 * sum(c[0] for c in covered) / total, 1) if total else None
    out["regret"] = out["advisor"]["regret"]
    out["top1_agreement"] = out["advisor"]["top1_agreement"]
    out["mae"] = out["advisor"]["mae"]
    return out


def seed_noise(df: Any) -> dict[str, Any] | None:
    """The measurement's own noise: mean |accuracy(seed a) - accuracy(seed b)| over cells run with >= 2 seeds
    (points). An MAE near it is as good as a prediction of one run can be."""
    ok = df[(df.status == "ok") & df.method.isin(OPTIONS)] if "status" in df else df[df.method.isin(OPTIONS)]
    spreads = [float(g.accuracy.max() - g.accuracy.min()) for _, g in
               ok.groupby(["backbone", "task", "train_size", "method"]) if g.seed.nunique() >= 2]
    if not spreads:
        return None
    return {"cells": len(spreads), "mean_abs_seed_difference": round(100 * float(np.mean(spreads)), 2)}


def leave_one_task_out(df: Any) -> dict[str, Any]:
    """Refit without each task, score on it; metrics in accuracy points (and % for top-1)."""
    complexity = _complexity()
    ok = df[df.status == "ok"] if "status" in df else df
    rows = []
    for task in sorted(ok.task.unique()):
        rows += _score(ok[ok.task != task], ok[ok.task == task], complexity)
    return {**_summary(rows), "protocol": "leave-one-task-out", "seed_noise": seed_noise(ok),
            "by_backbone": _by_backbone(rows), "rows": rows}


def _by_backbone(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The same summary per backbone: a pooled figure can hide a backbone the model does not know yet."""
    names = sorted({r["backbone"] for r in rows})
    return {b: {k: v for k, v in _summary([r for r in rows if r["backbone"] == b]).items()
                if k in (*STRATEGIES, "cells")} for b in names} if len(names) > 1 else {}


def external(train_df: Any, test_df: Any) -> dict[str, Any]:
    """Fit on `train_df` (all of it), score on the tasks of `test_df` it never saw."""
    complexity = _complexity()
    unseen = test_df[~test_df.task.isin(set(train_df.task))]
    rows = _score(train_df[train_df.status == "ok"], unseen, complexity)
    return {**_summary(rows), "protocol": "external", "by_backbone": _by_backbone(rows), "rows": rows,
            "skipped_seen_tasks": sorted(set(test_df.task) & set(train_df.task))}


def to_markdown(result: dict[str, Any], source: str) -> str:
    names = {"advisor": "advisor, profile + measured zero-shot and probe", "advisor_zero_shot":
             "advisor, profile + measured zero-shot", "advisor_profile_only": "advisor, profile answers only",
             "rules_only": "rules-only advisor",
             "always_full_finetuning": "always full fine-tuning", "always_prompt_engineering": "always prompt engineering"}
    lines = ["# Advisor evaluation", "", f"Protocol: {result['protocol']}; {result['cells']} measured cells from "
             f"`{source}`. Utility: accuracy first — options within 0.5 points of the best tie, the cheaper "
             "(lower train time) wins. Regret and MAE in accuracy points; targets: regret <= 1, top-1 >= 85%, "
             "MAE <= 3. Interval coverage: share of measured accuracies inside the advisor's 10-90% interval (nominal 80%).",
             "", "| strategy | regret (points) | top-1 agreement (%) | MAE (points) | interval coverage (%) |",
             "|---|---|---|---|---|"]
    for key in STRATEGIES:
        r = result[key]
        lines.append(f"| {names[key]} | {r['regret']} | {r['top1_agreement']} | {r.get('mae') or '—'} | "
                     f"{r.get('interval_coverage') or '—'} |")
    for backbone, part in result.get("by_backbone", {}).items():
        lines += ["", f"**{backbone}** ({part['cells']} cells): " + "; ".join(
            f"{names[k]}: regret {part[k]['regret']}, top-1 {part[k]['top1_agreement']}%"
            + (f", MAE {part[k]['mae']}" if part[k].get("mae") is not None else "") for k in STRATEGIES)]
    noise = result.get("seed_noise")
    lines += ["", "MAE of the first row is over the four trained options (prompt engineering's accuracy is then "
              "essentially the measurement); the other advisor rows cover all five. "
              + (f"Noise floor: two seeds of the same cell differ by {noise['mean_abs_seed_difference']} points on "
                 f"average ({noise['cells']} cells with two seeds)." if noise else
                 "Noise floor: not measured yet (no cell has two seeds)."),
              "", "## Per cell", "", "| backbone | task | n | measured best | advisor | advisor, profile only | "
              "rules-only | advisor regret | advisor MAE |", "|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        regret, mae = r["advisor_regret"], r.get("advisor_mae")
        lines.append(f"| {r['backbone']} | {r['task']} | {r['train_size']} | {r['measured_best']} | "
                     f"{r['advisor_pick']} | {r['advisor_profile_only_pick']} | {r['rules_only_pick']} | "
                     f"{'' if regret is None else format(100 * regret, '.1f')} | "
                     f"{'' if mae is None else format(100 * mae, '.1f')} |")
    return "\n".join(lines) + "\n"


def write_markdown(result: dict[str, Any], source: str, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(to_markdown(result, source), encoding="utf-8")
    return p
