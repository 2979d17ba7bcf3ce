"""The one scoring rule: rule scores + expected accuracies -> final scores and the ranking.

Pure Python, shared by `recommend()` (ranking, counterfactuals, "why") and by the calibration's model selection,
so the evaluation scores exactly what the user is shown.

  judged_o  = expected_o - risk * spread_o          (spread_o: the option's own out-of-fold error spread)
  top       = the feasible option with the highest judged accuracy
  gap_o     = judged_top - judged_o
  counted_o = the part of gap_o beyond its extrapolation uncertainty margin_o,t (0 when |gap| <= margin)
  penalty_o = w / (1 - w) * 100 * counted_o / span  (score points)
  final_o   = rules_o - penalty_o

A decision weighted by its precision (issue 20): the measured part may move the ranking only as far as its
uncertainty about the *difference* between two options allows. margin_o,t = sigma_diff x (decades from the evidence,
the larger of the two options'): 0 where we measured (so in-store the rule is exactly the one model selection chose),
growing with distance, and beyond our backbones never below the size model's own error on a published setting
(advisor.artifact.published_floor, ~5 points) — at an 8B model and 5 examples the nearest evidence is ~1.8 decades away and sigma_diff ~10
points, so differences under ~17 points are not counted. Options whose counted gap is 0 are *tied* on the measured
part: their scores differ only by the decision table, which then decides, and the answer says so. Options measurably
worse lose w/(1-w) x 100/span points per counted point (with w = 0.9 and span = 5 points: 180 per point) — the in-store
selection's finding that a measured accuracy difference outweighs the table's cost and maintenance factors.

`final` is `(1 - w) * rules + w * learned` (learned = 100 * (1 - counted/span)) shifted and divided by (1 - w): the
same ranking, with a displayed score that equals the decision table's when the measured part cannot separate options.
Linear and unclipped in the counted gap, so the ranking of two options depends only on the difference of their rule
scores and of their expected accuracies. w, span and risk are chosen by leave-one-family-out model selection inside
the training tasks (advisor.calibration), never on the evaluation that reports them. Infeasible options never set
`top` and rank after every feasible one. Displayed scores are clipped to 0-100; the ranking uses unclipped values.
"""

from __future__ import annotations

import math
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
    # Differences within z x sigma_diff (the in-store error of a difference) are not counted even where we measured;
    # away from the evidence the margin grows by sigma_diff per decade (advisor.artifact.margins).
    z: float = 0.0

    def weight(self, goal: str) -> float:
        scale = GOAL_SCALE.get(goal, 1.0)
        return self.w + (1.0 - self.w) / 2.0 if scale is None else self.w * scale

    def to_dict(self) -> dict[str, float]:
        return {"w": self.w, "span": self.span, "risk": self.risk, "z": self.z}


@dataclass(frozen=True)
class Decision:
    """Everything the page shows about one decision, from one computation."""

    final: dict[str, float]  # the ranking score (unclipped)
    learned: dict[str, float]  # 100 at the top, 100 * (1 - counted / span) below (empty without points)
    counted: dict[str, float]  # accuracy gap to the top beyond its uncertainty margin (0: tied on the measured part)
    margin: dict[str, float]  # the uncertainty margin of the difference to the top (accuracy units)
    penalty: dict[str, float]  # score points the measured part takes off (0 for the top and its ties)
    top: str | None  # the feasible option with the highest judged accuracy (None without points)
    gap: dict[str, float] = None  # judged accuracy of the top minus the option's (what the margin is compared with)


def _core(options: Sequence[str], rules: Mapping[str, float], feasible: Mapping[str, bool],
          points: Mapping[str, float], params: DecisionParams, goal: str, spread: Mapping[str, float] | None,
          margins: Mapping[str, float] | None):
    """The arithmetic of the module docstring, once: (final, counted, margin, gap, top, per_point)."""
    sp = spread or {}
    risk = params.risk
    judged = {o: points[o] - risk * sp.get(o, 0.0) for o in options}
    top, best = None, None
    for o in options:  # the first of the highest judged among the feasible ones (all options if none is feasible)
        if feasible.get(o, True) and (best is None or judged[o] > best):
            top, best = o, judged[o]
    if top is None:
        top = max(options, key=lambda o: (judged[o], -list(options).index(o)))
    m = margins or {}
    m_top = m.get(top, 0.0)
    w = min(params.weight(goal), 0.99)  # w = 1 would leave the table nothing; the grid stops well below
    per_point = w / (1.0 - w) * 100.0 / params.span
    final, counted, margin, gaps = {}, {}, {}, {}
    for o in options:
        mo = m.get(o, 0.0)
        mo = margin[o] = mo if mo > m_top else m_top
        gap = gaps[o] = judged[top] - judged[o]
        c = counted[o] = gap - mo if gap > mo else (gap + mo if gap < -mo else 0.0)
        final[o] = float(rules[o]) - per_point * c
    return final, counted, margin, gaps, top, per_point


def decide(options: Sequence[str], rules: Mapping[str, float], feasible: Mapping[str, bool],
           points: Mapping[str, float] | None, params: DecisionParams, goal: str = "high",
           spread: Mapping[str, float] | None = None, margins: Mapping[str, float] | None = None) -> Decision:
    """The final scores of `options`. Without expected accuracies: the rule scores."""
    if not points:
        zero = {o: 0.0 for o in options}
        return Decision({o: float(rules[o]) for o in options}, {}, zero, zero, zero, None, zero)
    final, counted, margin, gaps, top, per_point = _core(options, rules, feasible, points, params, goal, spread,
                                                         margins)
    penalty = {o: per_point * counted[o] for o in options}
    learned = {o: 100.0 * (1.0 - counted[o] / params.span) for o in options}
    return Decision(final, learned, counted, margin, penalty, top, gaps)


def best_option(options: Sequence[str], rules: Mapping[str, float], feasible: Mapping[str, bool],
                points: Mapping[str, float] | None, params: DecisionParams, goal: str = "high",
                spread: Mapping[str, float] | None = None, margins: Mapping[str, float] | None = None,
                blockers: Mapping[str, int] | None = None) -> str:
    """The pick alone: `decide`'s final scores, then the first of `rank` (the counterfactual search asks it ~12
    times per answer, so neither the Decision nor the sorted ranking is built)."""
    final = _core(options, rules, feasible, points, params, goal, spread, margins)[0] if points else rules
    pick, key = None, None
    for i, o in enumerate(options):  # rank's order
        k = _order(o, i, final, feasible, blockers, points)
        if key is None or k < key:
            pick, key = o, k
    return pick


def final_scores(options: Sequence[str], rules: Mapping[str, float], feasible: Mapping[str, bool],
                 points: Mapping[str, float] | None, params: DecisionParams, goal: str = "high",
                 spread: Mapping[str, float] | None = None,
                 margins: Mapping[str, float] | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """(final score per option, learned score per option): `decide` for callers that need only the ranking."""
    d = decide(options, rules, feasible, points, params, goal, spread, margins)
    return d.final, d.learned


# Final scores equal to this many decimals are level (floating-point noise of the same arithmetic is not an order).
SCORE_DIGITS = 9


def level(a: float, b: float) -> bool:
    """Whether two final scores are level for the ranking (then the expected accuracy orders them)."""
    return round(a, SCORE_DIGITS) == round(b, SCORE_DIGITS)


def _order(o: str, i: int, final: Mapping[str, float], feasible: Mapping[str, bool],
           blockers: Mapping[str, int] | None, points: Mapping[str, float] | None = None) -> tuple:
    # Among infeasible options the fewest blocking constraints come first: with one example on a 173B model and a
    # 16 GB card, prompt engineering (blocked by memory alone) is the least blocked, not LoRA (memory and data),
    # whatever the scores say. Equal scores (the table scores two options alike and the measured part cannot
    # separate them) go to the higher expected accuracy, not to the option listed first: a 1B model with 400
    # examples ranked prompt tuning (0.841) above prefix tuning (0.874) and LoRA (0.888) at 67.9 each for its place
    # in the list (a review, 2026-12-04).
    return (not feasible.get(o, True), (blockers or {}).get(o, 0), -round(final[o], SCORE_DIGITS),
            -round(points[o], SCORE_DIGITS) if points else 0.0, i)


def rank(options: Sequence[str], final: Mapping[str, float], feasible: Mapping[str, bool],
         blockers: Mapping[str, int] | None = None, points: Mapping[str, float] | None = None) -> list[str]:
    """Feasible first; among infeasible ones the fewest blocking constraints (`blockers`, when given) first; then
    the final score; equal scores by the expected accuracy (`points`, when given); then the fixed option order
    (deterministic)."""
    return [o for _, o in sorted((_order(o, i, final, feasible, blockers, points), o) for i, o in enumerate(options))]


def tied_with_best(options: Sequence[str], decision: Decision, feasible: Mapping[str, bool], best: str) -> list[str]:
    """Feasible options the measured part cannot separate from the pick (counted gap 0): the table decided."""
    if decision.top is None:
        return []
    return [o for o in options if feasible.get(o, True) and o != best and decision.counted[o] <= 0.0
            and decision.counted[best] <= 0.0]


def chance_percent(c: float) -> str:
    """A chance as every page prints it: the table's column, the close-call sentence and the headline."""
    return "<1%" if c < 0.005 else ">99%" if c > 0.995 else f"{100 * c:.0f}%"


def chance_as_accurate(points: Mapping[str, float], pick: str, margins: Mapping[str, float] | None,
                       sd: float) -> dict[str, float]:
    """Per option other than the pick, the chance that its accuracy is at least the pick's, given what the answer
    knows about their difference: expected difference d (accuracy units) with an error of one standard deviation
    s = sqrt(sd^2 + m^2) — sd the in-store error of a predicted difference (the close-call width), m the decision
    margin of that pair (0 where we measured, growing with the decades from the evidence) — so Phi(d / s).

    The score is the ranking's expected-value judgement (an option 5 points below the pick loses 180 score points
    per counted point at w = 0.9); this is the uncertainty beside it: with sd 9.3 points, an option 5.2 points
    below the pick scored 0 and still had a 29% chance of being as accurate (a review, 2026-12-05). `advisor
    evaluate` checks these chances against the measured cells (`chance_calibration`)."""
    m = margins or {}
    out = {}
    for o, p in points.items():
        if o == pick:
            continue
        d, s = p - points[pick], math.hypot(sd, max(m.get(o, 0.0), m.get(pick, 0.0)))
        out[o] = 0.5 * (1.0 + math.erf(d / (s * math.sqrt(2.0)))) if s > 0 else (1.0 if d >= 0 else 0.0)
    return out
