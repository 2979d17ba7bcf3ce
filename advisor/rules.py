"""Score options from the decision table and apply hard constraints.

raw(option) = sum over matching rules of weight x effect[option];
score = 100 / (1 + exp(-raw / score_scale)), so 50 means "no opinion".
Constraints never change a score: they mark an option infeasible with a reason,
and the ranking puts every feasible option first.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from advisor.costs import CostEstimate
from advisor.profile import OPTIONS, ProjectProfile
from advisor.table import DecisionTable, matches


@dataclass(frozen=True)
class Reason:
    """One rule's contribution to one option's score."""

    factor: str
    direction: str  # "for" | "against"
    weight: float
    contribution: float  # weight x effect, added to the raw score
    rule: str
    rationale: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RuleScore:
    option: str
    raw: float
    score: float
    feasible: bool
    infeasible_reasons: tuple[str, ...]
    reasons: tuple[Reason, ...]


def _sigmoid_score(raw: float, scale: float) -> float:
    return 100.0 / (1.0 + math.exp(-raw / scale))


def score_options(profile: ProjectProfile, table: DecisionTable,
                  costs: dict[str, CostEstimate], explain: bool = True) -> dict[str, RuleScore]:
    """Rule scores, reasons and feasibility for every option (`explain=False`: no Reason objects — the
    counterfactual search only needs the scores)."""
    raw = {o: 0.0 for o in OPTIONS}
    reasons: dict[str, list[Reason]] = {o: [] for o in OPTIONS}
    for rule in table.rules:
        if not matches(rule.when, profile):
            continue
        for option in OPTIONS:
            effect = rule.effects[option]
            if effect == 0:
                continue
            contribution = rule.weight * effect
            raw[option] += contribution
            if explain:
                reasons[option].append(Reason(rule.factor, "for" if effect > 0 else "against", rule.weight,
                                              contribution, rule.id, rule.rationale, rule.source))
    blocked: dict[str, list[str]] = {o: [] for o in OPTIONS}
    for c in table.constraints:
        if c.when is not None:
            if matches(c.when, profile):
                for option in c.infeasible:
                    blocked[option].append(f"{c.reason} [{c.id}; {c.source}]")
        elif c.check == "training_memory" and profile.model_access == "weights":
            # One computation: the cost estimate's feasibility (advisor.costs.feasibility) is the reason, verbatim.
            for option in c.infeasible:
                if not costs[option].feasible_memory:
                    blocked[option].append(f"{c.reason} {costs[option].memory_reason[0].upper()}"
                                           f"{costs[option].memory_reason[1:]} (gpu_memory_gb or compute="
                                           f"{profile.compute}). [{c.id}; {c.source}]")
    out = {}
    for option in OPTIONS:
        ordered = sorted(reasons[option], key=lambda r: (-abs(r.contribution), r.rule))
        out[option] = RuleScore(option, raw[option], _sigmoid_score(raw[option], table.score_scale),
                                not blocked[option], tuple(blocked[option]), tuple(ordered))
    return out
