"""The one scoring rule: rule scores + expected accuracies -> final scores and the ranking.

Pure Python, shared by `recommend()` (ranking, counterfactuals, "why") and by the calibration's model selection,
so the evaluation scores exactly what the user is shown.

  judged_o  = expected_o - risk * spread_o          (spread_o: the option's own out-of-fold error spread)
  top       = max of judged_o over the *feasible* options
  learned_o = 100 * (1 - (top - judged_o) / span)   (100 for the best feasible option; linear, not clipped)
  final_o   = (1 - w) * rules_o + w * learned_o

Why linear and unclipped: the ranking of two options then depends only on the difference of their rule scores and
of their expected accuracies — never on where the best option happens to sit — so "more data never moves LoRA or
full fine-tuning below prompt engineering" holds whenever the predictions themselves obey it (the calibration
constrains them to). A clipped score (0 beyond some gap) made two options tie at the floor and let the rules flip
them. Small accuracy differences (well under span x (1 - w) / w) are decided by the decision table — cost,
storage, forgetting and the user's other answers: the stated fallback when the measured part cannot tell options
apart; with risk > 0 each option is judged at a lower bound (the best-lower-bound rule). w, span and risk are
chosen by leave-one-family-out model selection inside the training tasks (advisor.calibration), never on the
evaluation that reports them. Infeasible options never set `top` and rank after every feasible one. Displayed
scores are clipped to 0-100; the ranking uses the unclipped values.
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
    span: float = 0.1
    risk: float = 0.0  # lower-bound rule: each option is judged at point - risk x its own error spread

    def weight(self, goal: str) -> float:
        scale = GOAL_SCALE.get(goal, 1.0)
        return self.w + (1.0 - self.w) / 2.0 if scale is None else self.w * scale

    def to_dict(self) -> dict[str, float]:
        return {"w": self.w, "span": self.span, "risk": self.risk}


def final_scores(options: Sequence[str], rules: Mapping[str, float], feasible: Mapping[str, bool],
                 points: Mapping[str, float] | None, params: DecisionParams, goal: str = "high",
                 spread: Mapping[str, float] | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """(final score per option, learned score per option). Without expected accuracies: the rule scores."""
    if not points:
        return {o: float(rules[o]) for o in options}, {}
    judged = {o: points[o] - params.risk * (spread or {}).get(o, 0.0) for o in options}
    pool = [o for o in options if feasible.get(o, True)] or list(options)
    top = max(judged[o] for o in pool)
    learned = {o: 100.0 * (1.0 - (top - judged[o]) / params.span) for o in options}
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
