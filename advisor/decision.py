"""The one scoring rule: rule scores + expected accuracies -> final scores, the tie set and the pick.

Pure Python, shared by `recommend()` (ranking, counterfactuals, "why") and by the calibration's model selection,
so the evaluation scores exactly what the user is shown.

The learned part of a score compares each *feasible* option with the best feasible expected accuracy:
  gap_o = top - expected_o     (expected_o lowered by risk x the option's own error spread, when risk > 0)
  learned_o = 100 if gap_o <= delta, falling linearly to 0 at delta + span
  final_o = (1 - w) * rules_o + w * learned_o
delta = z * sigma_diff is the decision's tie width: sigma_diff is the out-of-fold spread of the *difference*
between two options' prediction errors in the same cell (errors are shared across options of one task, so a
difference is known better than either number). Options inside delta are treated as equally good on accuracy,
and the decision table — which carries cost, storage, forgetting and the user's other answers — orders them: the
stated risk-aware rule "within the uncertainty, fall back to the rules' choice". z, w and span are chosen by
leave-one-family-out model selection inside the training tasks (advisor.calibration), never on the evaluation
that reports them. Infeasible options keep their scores but never set `top` and rank after every feasible one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

# The accuracy goal moves the weight of the measured part: a user who asks only for "acceptable" accuracy cares
# more about the table's cost/maintenance factors. The selected w applies to "high"; the other two are scaled
# from it (tuning-advisor judgement, stated in the README; not fitted, since every benchmark cell is "high").
GOAL_SCALE = {"acceptable": 3.0 / 7.0, "high": 1.0, "critical": None}  # None: halfway from w to 1


@dataclass(frozen=True)
class DecisionParams:
    w: float = 0.7
    span: float = 0.05
    z: float = 0.5
    risk: float = 0.0  # lower-bound rule: each option is judged at point - risk x its own error spread

    def weight(self, goal: str) -> float:
        scale = GOAL_SCALE.get(goal, 1.0)
        return self.w + (1.0 - self.w) / 2.0 if scale is None else self.w * scale

    def to_dict(self) -> dict[str, float]:
        return {"w": self.w, "span": self.span, "z": self.z, "risk": self.risk}


def final_scores(options: Sequence[str], rules: Mapping[str, float], feasible: Mapping[str, bool],
                 points: Mapping[str, float] | None, sigma_diff: float, params: DecisionParams,
                 goal: str = "high", spread: Mapping[str, float] | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """(final score per option, learned score per option). Without expected accuracies: the rule scores.

    `spread`: each option's own out-of-fold error spread (accuracy units); with `params.risk` > 0 options are
    compared at point - risk x spread (an option whose predictions miss by more needs a larger margin)."""
    if not points:
        return {o: float(rules[o]) for o in options}, {}
    if spread and params.risk:
        points = {o: points[o] - params.risk * spread.get(o, 0.0) for o in options}
    pool = [o for o in options if feasible.get(o, True)] or list(options)
    top = max(points[o] for o in pool)
    delta = params.z * sigma_diff
    learned = {}
    for o in options:
        gap = top - points[o]
        learned[o] = 100.0 if gap <= delta else 100.0 * max(0.0, 1.0 - (gap - delta) / params.span)
    w = params.weight(goal)
    return {o: (1.0 - w) * float(rules[o]) + w * learned[o] for o in options}, learned


def rank(options: Sequence[str], final: Mapping[str, float], feasible: Mapping[str, bool]) -> list[str]:
    """Feasible first, then final score; ties broken by the fixed option order (deterministic)."""
    return sorted(options, key=lambda o: (not feasible.get(o, True), -round(final[o], 9), list(options).index(o)))


def tied_with_best(options: Sequence[str], points: Mapping[str, float] | None, feasible: Mapping[str, bool],
                   best: str, width: float) -> list[str]:
    """Feasible options whose expected accuracy is within `width` of the pick's or above it: the statistical tie."""
    if not points:
        return []
    return [o for o in options if feasible.get(o, True) and o != best and points[o] >= points[best] - width]
