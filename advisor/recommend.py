"""`recommend(profile) -> Recommendation`: the ranked, explained answer."""

from __future__ import annotations

import copy

from dataclasses import dataclass, field
from typing import Any, Mapping

from advisor.costs import CostEstimate, available_memory_gb, estimate_all, qlora_note
from advisor.decision import DecisionParams, final_scores, rank, tied_with_best
from advisor.profile import CHOICES, OPTIONS, ProjectProfile
from advisor.rules import Reason, RuleScore, score_options
from advisor.table import DecisionTable, load_table, matches

from advisor.options import LABELS  # noqa: E402 - the one option registry


@dataclass(frozen=True)
class OptionResult:
    """One option in the ranking."""

    option: str
    rank: int
    score: float
    feasible: bool
    infeasible_reasons: tuple[str, ...]
    reasons: tuple[Reason, ...]
    cost: CostEstimate
    expected_accuracy: Mapping[str, Any] | None = None
    expected_accuracy_note: str = "rules-only: no calibration data loaded"
    rules_score: float | None = None
    evidence: tuple[Mapping[str, Any], ...] = ()
    final: float = 0.0  # the unclipped score the ranking sorts by (advisor.decision); `score` is it clipped to 0-100

    @property
    def why_not_feasible(self) -> str:
        """The first infeasibility reason without its [rule; source] tag ("" when feasible)."""
        return self.infeasible_reasons[0].split(" [")[0] if self.infeasible_reasons else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "option": self.option,
            "rank": self.rank,
            "score": round(self.score, 2),
            "final_score": round(self.final, 3),
            "feasible": self.feasible,
            "infeasible_reasons": list(self.infeasible_reasons),
            "reasons": [r.to_dict() for r in self.reasons],
            "cost": self.cost.to_dict(),
            "rules_score": None if self.rules_score is None else round(self.rules_score, 2),
            "expected_accuracy": self.expected_accuracy,
            "expected_accuracy_note": self.expected_accuracy_note,
            "evidence": [dict(e) for e in self.evidence],
        }


@dataclass(frozen=True)
class Recommendation:
    """The advisor's answer: `best`, the full `ranking`, caveats, hybrids, counterfactuals."""

    profile: ProjectProfile
    ranking: tuple[OptionResult, ...]
    caveats: tuple[str, ...]
    hybrids: tuple[Mapping[str, Any], ...]
    counterfactuals: tuple[str, ...]
    table_version: str
    mode: str = "rules-only"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def best(self) -> str:
        return self.ranking[0].option

    def option(self, name: str) -> OptionResult:
        return next(r for r in self.ranking if r.option == name)

    def summary(self) -> str:
        top = self.ranking[0]
        feasible = [r for r in self.ranking if r.feasible]
        if not feasible:
            return (f"No option is feasible for this profile; least blocked: {LABELS[top.option]} "
                    f"({top.why_not_feasible}).")
        if len(feasible) == 1:
            other = next(r for r in self.ranking if not r.feasible)
            return (f"Recommended: {LABELS[top.option]} — the only feasible option here "
                    f"(the others: {other.why_not_feasible}).")
        why = ", ".join(dict.fromkeys(r.factor.replace("_", " ")
                                      for r in [x for x in top.reasons if x.direction == "for"][:3]))
        return f"Recommended: {LABELS[top.option]} (score {top.score:.0f}/100){' — driven by ' + why if why else ''}."

    def to_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "summary": self.summary(),
            "mode": self.mode,
            "table_version": self.table_version,
            "profile": self.profile.to_dict(),
            "ranking": [r.to_dict() for r in self.ranking],
            "caveats": list(self.caveats),
            "hybrids": [dict(h) for h in self.hybrids],
            "counterfactuals": list(self.counterfactuals),
            **dict(self.extra),
        }


def _scored(profile: ProjectProfile, table: DecisionTable, calibration: Any,
            points: Mapping[str, float] | None, explain: bool = True
            ) -> tuple[dict[str, RuleScore], dict[str, float], list[str]]:
    """Rule scores, final scores and the ranking: the one scoring path (ranking, counterfactuals, why)."""
    scores = score_options(profile, table, estimate_all(profile, table), explain=explain)
    feasible = {o: scores[o].feasible for o in OPTIONS}
    if calibration is not None and points:
        (params, sd), spread = calibration.decision(profile), calibration.spread(profile)
    else:
        (params, sd), spread = (DecisionParams(), 0.0), None
    final, _ = final_scores(OPTIONS, {o: scores[o].score for o in OPTIONS}, feasible, points, params,
                            profile.accuracy_goal, spread)
    return scores, final, rank(OPTIONS, final, feasible)


def _best_only(profile: ProjectProfile, table: DecisionTable, calibration: Any = None,
               points: Mapping[str, float] | None = None) -> str:
    return _scored(profile, table, calibration, points, explain=False)[2][0]


def _variant(profile: ProjectProfile, **changes: object) -> ProjectProfile:
    """A copy with already-valid values changed, skipping re-validation (hot path of counterfactuals)."""
    clone = copy.copy(profile)
    for name, value in changes.items():
        object.__setattr__(clone, name, value)
    return clone


_DATA_STEPS = (0, 16, 32, 64, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000)


def counterfactuals(profile: ProjectProfile, table: DecisionTable | None = None,
                    calibration: Any = None) -> list[str]:
    """The smallest change of labeled_examples, compute or accuracy_goal that changes the best option.

    With a calibration the same blended score as the ranking decides; its predictions for
    every candidate size come from one batched call.
    """
    table = table or load_table()
    n = profile.labeled_examples
    by_size = calibration.points_by_size(profile, [max(n, 1), *[max(s, 1) for s in _DATA_STEPS]]) \
        if calibration is not None else {}

    def points_at(size: int) -> Mapping[str, float] | None:
        return by_size.get(max(size, 1)) if size > 0 else None

    best = _best_only(profile, table, calibration, points_at(n))
    out = []
    for direction, candidates in (("more", [s for s in _DATA_STEPS if s > n]),
                                  ("fewer", [s for s in reversed(_DATA_STEPS) if s < n])):
        for size in candidates:
            other = _best_only(_variant(profile, labeled_examples=size), table, calibration, points_at(size))
            if other != best:
                out.append(f"With {size:,} labeled examples ({direction} than your {n:,}), "
                           f"{LABELS[other]} would overtake {LABELS[best]}.")
                break
    for name, label in (("compute", "compute"), ("accuracy_goal", "accuracy goal")):
        levels = CHOICES[name]
        i = levels.index(getattr(profile, name))
        # Nearest levels first: one step up/down, then two, ...
        for step in range(1, len(levels)):
            found = False
            for j in (i + step, i - step):
                if 0 <= j < len(levels):
                    other = _best_only(_variant(profile, **{name: levels[j]}), table, calibration, points_at(n))
                    if other != best:
                        out.append(f"With {label} = {levels[j]} instead of {levels[i]}, "
                                   f"{LABELS[other]} would overtake {LABELS[best]}.")
                        found = True
                        break
            if found:
                break
    if not out:
        out.append(f"No single change of labeled examples, compute or accuracy goal changes the answer ({LABELS[best]}).")
    return out


def _learned_reasons(option: str, expected: Mapping[str, Any], points: Mapping[str, float],
                     feasible: Mapping[str, bool], learned: Mapping[str, float], weight: float) -> tuple[Reason, ...]:
    """The measured part of a score, explained like a rule: expected accuracy against the best feasible option."""
    pool = [o for o in OPTIONS if feasible[o]] or list(OPTIONS)
    top = max(pool, key=lambda o: points[o])
    e = expected[option]
    prov = e.get("provenance", {})
    gap = points[top] - points[option]
    if not feasible[option]:
        # Said as a hypothetical: an infeasible option's accuracy is what it would reach, not a reason to pick it.
        text = (f"expected accuracy {e['point']:.3f} [{e['low']:.2f}-{e['high']:.2f}] if it were feasible here "
                f"({'above' if gap < 0 else 'vs'} {LABELS[top]}'s {points[top]:.3f})")
    elif option == top or gap < 0.005:
        text = (f"expected accuracy {e['point']:.3f} [{e['low']:.2f}-{e['high']:.2f}], as high as any feasible "
                "option's")
    else:
        text = (f"expected accuracy {e['point']:.3f} [{e['low']:.2f}-{e['high']:.2f}], {100 * gap:.1f} points below "
                f"{LABELS[top]} ({points[top]:.3f})")
    contribution = weight * (learned[option] - 50.0) / 50.0
    return (Reason("expected_accuracy", "for" if learned[option] >= 50 else "against", round(weight, 3),
                   round(contribution, 3), "calibration", text,
                   f"{prov.get('kind', 'calibration')}: {prov.get('detail', e.get('basis', ''))}"),)


def recommend(profile: ProjectProfile | Mapping[str, Any], *, table_path: str | None = None,
              with_counterfactuals: bool = True, calibration: Any = "auto",
              measured_on: str | None = None) -> Recommendation:
    """Rank the five adaptation options for `profile` (a `ProjectProfile` or a plain dict).

    `calibration`: "auto" serves the promoted calibration artifact (data/calibration/SERVED), None gives the
    rules-only answer, or pass an `advisor.artifact.ServedCalibration`.
    `measured_on`: where the profile's zero_shot_accuracy/probe_accuracy were measured (`advisor pilot` passes
    "your own data: ..."); the answer's basis then says the expected accuracies rest on them.
    Raises `ProfileError` (naming every bad field) for invalid input.
    """
    profile = ProjectProfile.from_dict(profile)
    table = load_table(table_path)
    problem = None
    if calibration == "auto":
        from advisor.artifact import last_problem, load_served

        calibration = load_served()
        problem = None if calibration is not None else last_problem()
    costs = estimate_all(profile, table)
    trains = profile.labeled_examples > 0
    expected: dict[str, Any] = calibration.expected(profile) if calibration is not None and trains else {}
    # Decisions use the unclipped predictions (advisor.decision); the displayed point is clipped to 0-1.
    points = {o: expected[o].pop("decision_point") for o in OPTIONS} if expected else None
    scores, final, order = _scored(profile, table, calibration, points)
    feasible = {o: scores[o].feasible for o in OPTIONS}
    learned: dict[str, float] = {}
    params, sd = (calibration.decision(profile) if calibration is not None and points else (DecisionParams(), 0.0))
    if points:
        _, learned = final_scores(OPTIONS, {o: scores[o].score for o in OPTIONS}, feasible, points, params,
                                  profile.accuracy_goal, calibration.spread(profile))
    cells = calibration.nearest_cells(profile) if calibration is not None else []
    no_acc = "rules-only: " + (problem or "no calibration loaded")
    if calibration is not None and not trains:
        no_acc = "no labeled examples: nothing measured to compare against"
    weight = params.weight(profile.accuracy_goal)
    ranking = tuple(
        OptionResult(o, i + 1, min(100.0, max(0.0, final[o])), scores[o].feasible, scores[o].infeasible_reasons,
                     (_learned_reasons(o, expected, points, feasible, learned, weight) if points else ())
                     + scores[o].reasons, costs[o],
                     expected_accuracy=expected.get(o), expected_accuracy_note=expected[o]["basis"] if expected
                     else no_acc, rules_score=scores[o].score,
                     evidence=tuple({"task": c["task"], "train_size": c["train_size"], "backbone": c["backbone"],
                                     "accuracy": c["methods"][o]["score"], "seeds": c["methods"][o]["seeds"],
                                     "runs": c["methods"][o]["runs"]} for c in cells if o in c["methods"]),
                     final=final[o])
        for i, o in enumerate(order))
    caveats = [c.message + f" [{c.source}]" for c in table.caveats if matches(c.when, profile)]
    if profile.model_access == "weights":
        # The configuration each feasible option needs, when it is not the plain bf16 one (issue 22).
        for o in OPTIONS:
            if scores[o].feasible and costs[o].memory_plan and costs[o].configuration not in ("bf16 weights",
                                                                                              "fp32 weights"):
                caveats.append(f"{LABELS[o]} {costs[o].memory_reason}.{qlora_note(costs[o].configuration)} "
                               "[advisor.costs ladder; Dettmers et al. 2022, 2023; Korthikanti et al. 2022]")
    if profile.budget_gpu_hours is not None:
        top = ranking[0]
        if top.cost.train_gpu_hours > profile.budget_gpu_hours:
            caveats.append(f"{LABELS[top.option]} is estimated at {top.cost.train_gpu_hours:,.1f} GPU-hours per task, "
                           f"over your budget of {profile.budget_gpu_hours:,.1f}; train on a subset or fewer epochs.")
    hybrids = tuple({"name": h.name, "rationale": h.message, "source": h.source}
                    for h in table.hybrids if matches(h.when, profile))
    cfs = tuple(counterfactuals(profile, table, calibration if trains else None)) if with_counterfactuals else ()
    best = order[0]
    extra: dict[str, Any] = {}
    if calibration is not None:
        mode = f"rules + calibration ({calibration.n_runs} measured runs, {calibration.source})"
        tied = tied_with_best(OPTIONS, points, feasible, best, sd) if points else []
        # A linear probe cannot write text: for a generation task the cheap measurement is the zero-shot exact match.
        generation = getattr(profile, "task_kind", "classification") == "generation"
        settle = ("measure your model's zero-shot exact match on your data (`bench run --task-file my.yaml --methods "
                  "prompt_engineering`) and pass it as `--zero-shot-accuracy`"
                  if generation and profile.zero_shot_accuracy is None else "measure zero-shot and linear-probe accuracy on your own data (`bench probe --task-file my.yaml "
                  f"--size {max(profile.labeled_examples, 2)}`, or `advisor pilot`)"
                  if profile.probe_accuracy is None else
                  "run each tied option briefly on your data (`advisor pilot --quick` runs LoRA beside its "
                  "prediction; `bench run --task-file my.yaml --methods ...` runs the others)")
        kinds = sorted({expected[o]["provenance"]["kind"] for o in OPTIONS}) if expected else []
        extra = {"evidence": cells,
                 "calibration": {"runs": calibration.n_runs, "calibrated_on": calibration.created_at[:10],
                                 "source": calibration.source},
                 "decision": {"rule": (f"feasible options only; score = {1 - weight:.2f} x rules + {weight:.2f} x "
                                       f"learned, learned = 100 at the best expected accuracy and 0 at "
                                       f"{100 * params.span:.0f} points below it"
                                       + (f", each option judged {params.risk:g} error spreads below its expected "
                                          "accuracy (best lower bound)" if params.risk else "")
                                       + "; weights chosen by leave-one-family-out inside the training tasks")
                              if points else "rules only (no expected accuracies)",
                              "tied": tied, "tie_width_points": round(100 * sd, 1),
                              "settle_with": settle if tied else None},
                 "basis": _basis(profile, calibration, kinds, measured_on)}
    else:
        mode = "rules-only" + (f" ({problem})" if problem else "")
    if measured_on:
        extra["measured_on"] = measured_on
    return Recommendation(profile, ranking, tuple(caveats), hybrids, cfs, table.version, mode, extra)


def _basis(profile: ProjectProfile, calibration: Any, kinds: list[str], measured_on: str | None = None) -> str:
    sizes = ", ".join(f"{n}: {p / 1e6:,.0f}M" for n, p in sorted(calibration.backbones.items(), key=lambda x: x[1]))
    pub = (calibration.scaling or {}).get("published_sources", [])
    text = (f"Expected accuracies come from {calibration.n_runs} runs measured here on backbones of {sizes} "
            f"parameters")
    if profile.model_params_b * 1e9 > 2 * max(calibration.backbones.values()):
        text += (f", moved to your {profile.model_params_b:g}B model by a size-and-data model fitted on those runs "
                 f"and {len(pub)} published sources ({', '.join(pub) or 'none loaded'})")
    text += f"; provenance: {', '.join(kinds)}." if kinds else "."
    anchors = [name for f, name in (("zero_shot_accuracy", "zero-shot"), ("probe_accuracy", "linear-probe"))
               if getattr(profile, f) is not None]
    if measured_on and anchors:
        text += f" They rest on {' and '.join(anchors)} accuracy measured on {measured_on}."
    return text
