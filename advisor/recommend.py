"""`recommend(profile) -> Recommendation`: the ranked, explained answer."""

from __future__ import annotations

import copy

from dataclasses import dataclass, field
from typing import Any, Mapping

from advisor.costs import CostEstimate, available_memory_gb, estimate_all
from advisor.profile import CHOICES, OPTIONS, ProjectProfile
from advisor.rules import Reason, RuleScore, score_options
from advisor.table import DecisionTable, load_table, matches

LABELS = {
    "prompt_engineering": "prompt engineering",
    "prompt_tuning": "prompt tuning",
    "prefix_tuning": "prefix tuning",
    "lora": "LoRA",
    "full_finetuning": "full fine-tuning",
}


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "option": self.option,
            "rank": self.rank,
            "score": round(self.score, 2),
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
        why = ", ".join(r.factor.replace("_", " ") for r in [x for x in top.reasons if x.direction == "for"][:3])
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


# Weight of the learned (measured) score when a calibration exists, by accuracy goal: the
# higher the goal, the more the answer is "accuracy first" and the more the measured
# expected accuracy should decide. Leave-one-task-out on the MiniLM grid (accuracy-first
# utility, 26 cells; see data/calibration/evaluation.md) gave regret 3.1 points at 0.5,
# 1.6 at 0.7 with a 5-point span — chosen on that same evaluation, so it is optimistic.
BLEND = {"acceptable": 0.3, "high": 0.7, "critical": 0.85}
LEARNED_SPAN = 0.05  # learned score: 100 at the best expected accuracy, 0 at 5 points below


def learned_scores(points: Mapping[str, float]) -> dict[str, float]:
    """Expected accuracy -> 0-100: how close each option is expected to come to the best one."""
    top = max(points.values())
    return {o: 100.0 * min(1.0, max(0.0, 1.0 - (top - a) / LEARNED_SPAN)) for o, a in points.items()}


def _final(scores: Mapping[str, RuleScore], points: Mapping[str, float] | None,
           goal: str = "high") -> dict[str, float]:
    if not points:
        return {o: scores[o].score for o in OPTIONS}
    learned = learned_scores(points)
    w = BLEND[goal]
    return {o: (1 - w) * scores[o].score + w * learned[o] for o in OPTIONS}


def _rank(scores: Mapping[str, RuleScore], final: Mapping[str, float] | None = None) -> list[str]:
    # Feasible first, then score; ties broken by the fixed option order (deterministic).
    final = final or {o: scores[o].score for o in OPTIONS}
    return sorted(OPTIONS, key=lambda o: (not scores[o].feasible, -round(final[o], 9), OPTIONS.index(o)))


def _best_only(profile: ProjectProfile, table: DecisionTable, points: Mapping[str, float] | None = None) -> str:
    scores = score_options(profile, table, estimate_all(profile, table))
    return _rank(scores, _final(scores, points, profile.accuracy_goal))[0]


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
    by_size = calibration.points_by_size(profile, [n, *_DATA_STEPS]) if calibration is not None else {}
    best = _best_only(profile, table, by_size.get(n))
    out = []
    for direction, candidates in (("more", [s for s in _DATA_STEPS if s > n]),
                                  ("fewer", [s for s in reversed(_DATA_STEPS) if s < n])):
        for size in candidates:
            other = _best_only(_variant(profile, labeled_examples=size), table, by_size.get(size))
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
                    other = _best_only(_variant(profile, **{name: levels[j]}), table, by_size.get(n))
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


def recommend(profile: ProjectProfile | Mapping[str, Any], *, table_path: str | None = None,
              with_counterfactuals: bool = True, calibration: Any = "auto") -> Recommendation:
    """Rank the five adaptation options for `profile` (a `ProjectProfile` or a plain dict).

    `calibration`: "auto" loads the one fitted on the benchmark results (if any), None
    gives the rules-only answer, or pass an `advisor.calibration.Calibration`.
    Raises `ProfileError` (naming every bad field) for invalid input.
    """
    profile = ProjectProfile.from_dict(profile)
    table = load_table(table_path)
    if calibration == "auto":
        from advisor.calibration import load_calibration

        calibration = load_calibration()
    costs = estimate_all(profile, table)
    scores = score_options(profile, table, costs)
    expected: dict[str, Any] = calibration.expected(profile) if calibration is not None else {}
    evidence: list[dict[str, Any]] = []
    if calibration is not None:
        from advisor.evidence import nearest_evidence

        evidence = nearest_evidence(profile, calibration.runs)
    points = {o: expected[o]["point"] for o in OPTIONS} if expected else None
    final = _final(scores, points, profile.accuracy_goal)
    order = _rank(scores, final)
    no_acc = "rules-only: no calibration data loaded"
    if calibration is not None and profile.labeled_examples == 0:
        no_acc = "no labeled examples: nothing measured to compare against"
    ranking = tuple(
        OptionResult(o, i + 1, final[o], scores[o].feasible, scores[o].infeasible_reasons, scores[o].reasons,
                     costs[o],
                     expected_accuracy=expected.get(o) if profile.labeled_examples > 0 else None,
                     expected_accuracy_note=expected[o]["basis"] if expected and profile.labeled_examples > 0
                     else no_acc,
                     rules_score=scores[o].score,
                     evidence=tuple({"task": e["task"], "train_size": e["train_size"], "backbone": e["backbone"],
                                     **e["methods"][o]} for e in evidence if o in e["methods"]))
        for i, o in enumerate(order))
    caveats = [c.message + f" [{c.source}]" for c in table.caveats if matches(c.when, profile)]
    if profile.model_access == "weights":
        memory = available_memory_gb(profile, table)
        for o in ("lora", "prompt_tuning", "prefix_tuning"):
            if scores[o].feasible and costs[o].train_memory_gb > memory >= costs[o].min_train_memory_gb:
                caveats.append(f"{LABELS[o]} fits in {memory:,.0f} GB only with a 4-bit quantised backbone "
                               f"(QLoRA-style): about {costs[o].min_train_memory_gb:,.1f} GB instead of "
                               f"{costs[o].train_memory_gb:,.1f} GB. [Dettmers et al. 2023]")
    if profile.budget_gpu_hours is not None:
        top = ranking[0]
        if top.cost.train_gpu_hours > profile.budget_gpu_hours:
            caveats.append(f"{LABELS[top.option]} is estimated at {top.cost.train_gpu_hours:,.1f} GPU-hours per task, "
                           f"over your budget of {profile.budget_gpu_hours:,.1f}; train on a subset or fewer epochs.")
    hybrids = tuple({"name": h.name, "rationale": h.message, "source": h.source}
                    for h in table.hybrids if matches(h.when, profile))
    cfs = tuple(counterfactuals(profile, table, calibration)) if with_counterfactuals else ()
    served = f", {calibration.source}" if calibration is not None and calibration.source.startswith("served") else ""
    mode = "rules-only" if calibration is None else f"rules + calibration ({calibration.n_runs} measured runs{served})"
    extra: dict[str, Any] = {}
    if calibration is not None:
        on = calibration.source.rsplit(" ", 1)[-1] if calibration.source.startswith("served") else None
        extra = {"evidence": evidence,
                 "calibration": {"runs": calibration.n_runs, "calibrated_on": on, "source": calibration.source}}
    return Recommendation(profile, ranking, tuple(caveats), hybrids, cfs, table.version, mode, extra)
