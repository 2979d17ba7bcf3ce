"""Score options from the decision table and apply hard constraints.

raw(option) = sum over matching rules of weight x effect[option];
score = 100 / (1 + exp(-raw / score_scale)), so 50 means "no opinion".
Constraints never change a score: they mark an option infeasible with a reason,
and the ranking puts every feasible option first.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from advisor.costs import CostEstimate, budget_binds, example_tokens, format_hours, prompt_overflow, training_rows
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


_INDEX: dict[int, tuple[DecisionTable, dict[str, list[int]], list[tuple[tuple[str, float], ...]]]] = {}


def _index(table: DecisionTable) -> tuple[dict[str, list[int]], list[tuple[tuple[str, float], ...]]]:
    """Per table (cached): which rules read each field, and each rule's non-zero (option, weight x effect)."""
    entry = _INDEX.get(id(table))
    if entry is None or entry[0] is not table:
        by_field: dict[str, list[int]] = {}
        # Rules first, then the constraints with a `when` (hit i >= len(rules) is constraint i - len(rules)).
        whens = [r.when for r in table.rules] + [c.when or {} for c in table.constraints]
        for i, when in enumerate(whens):
            for f in when:
                by_field.setdefault(f, []).append(i)
        rows = [tuple((o, r.weight * r.effects[o]) for o in OPTIONS if r.effects[o] != 0) for r in table.rules]
        entry = _INDEX[id(table)] = (table, by_field, rows)
    return entry[1], entry[2]


def _contributions(table: DecisionTable) -> list[tuple[tuple[str, float], ...]]:
    return _index(table)[1]


def rule_hits(profile: ProjectProfile, table: DecisionTable, base: list[bool] | None = None,
              changed: frozenset[str] = frozenset()) -> list[bool]:
    """Which rules match `profile`. With `base` (the hits of a profile that differs only in the fields `changed`),
    only the rules reading a changed field are re-evaluated — the counterfactual search scores ~15 one-field
    variants per answer, and re-matching every rule for each cost ~a third of its time."""
    if base is None:
        return [matches(r.when, profile) for r in table.rules] + \
            [c.when is not None and matches(c.when, profile) for c in table.constraints]
    hits = list(base)
    by_field = _index(table)[0]
    n = len(table.rules)
    for f in changed:
        for i in by_field.get(f, ()):
            hits[i] = matches(table.rules[i].when if i < n else table.constraints[i - n].when, profile)
    return hits


def _blocking(profile: ProjectProfile, table: DecisionTable, costs: Mapping[str, Any],
              hits: list[bool]) -> list[tuple[Any, tuple[str, ...]]]:
    """The constraints that block something for `profile`, each with the options it blocks: the one walk over the
    table's constraints that both the explained scores and the counterfactual search's hot path read."""
    out = []
    first = len(table.rules)
    for j, c in enumerate(table.constraints):
        if c.when is not None:
            blocked = tuple(c.infeasible) if hits[first + j] else ()
        elif c.check == "training_memory":
            # One computation: the cost estimate's feasibility (advisor.costs.feasibility) decides.
            blocked = tuple(o for o in c.infeasible if not costs[o].feasible_memory) \
                if profile.model_access == "weights" else ()
        elif c.check == "examples_per_class":
            # Classification only (a generation task has no label set), on the rows an option trains on: the
            # user's examples less the validation split the recipe holds out (advisor.costs.training_rows).
            blocked = tuple(c.infeasible) \
                if per_class_short(profile, c.min_per_class) else ()
        elif c.check == "prompt_context":
            blocked = tuple(c.infeasible) if prompt_overflow(profile) else ()
        else:
            blocked = ()
        if blocked:
            out.append((c, blocked))
    if profile.budget_gpu_hours is not None:
        out += _budget_blocking(profile, table, costs, out)
    return out


def per_class_short(profile: ProjectProfile, min_per_class: int, rows: int | None = None) -> bool:
    """Whether a classification profile trains on fewer than `min_per_class` examples per class: on its training
    rows (advisor.costs.training_rows), or on `rows` (what a budget pays for)."""
    return (profile.task_kind == "classification" and profile.labeled_examples > 0
            and (training_rows(profile) if rows is None else rows) < min_per_class * profile.num_classes)


@dataclass(frozen=True)
class OverBudget:
    """A data constraint that blocks an option at the examples its budget pays for (costs[o].budget_examples),
    though not at all the user's examples: the table's own minimums, applied to what the option would train on."""

    constraint: Any
    covered: int

    @property
    def id(self) -> str:
        return self.constraint.id


def _budget_blocking(profile: ProjectProfile, table: DecisionTable, costs: Mapping[str, Any],
                     already: list[tuple[Any, tuple[str, ...]]]) -> list[tuple[Any, tuple[str, ...]]]:
    out = []
    for o in OPTIONS:
        covered = getattr(costs[o], "budget_examples", None)  # a Fit (memory only) carries none
        if not budget_binds(costs[o], profile):
            continue
        fewer = None
        for c in table.constraints:
            if o not in c.infeasible or any(b is c and o in opts for b, opts in already):
                continue
            if c.check == "examples_per_class":
                hit = per_class_short(profile, c.min_per_class, covered)
            elif c.when is not None and "labeled_examples" in c.when:
                if fewer is None:
                    fewer = profile.changed(labeled_examples=covered)
                hit = matches(c.when, fewer)
            else:
                hit = False
            if hit:
                out.append((OverBudget(c, covered), (o,)))
    return out


def _raw_sums(table: DecisionTable, hits: list[bool]) -> dict[str, float]:
    raw = dict.fromkeys(OPTIONS, 0.0)
    for hit, row in zip(hits, _contributions(table)):
        if hit:
            for option, c in row:
                raw[option] += c
    return raw


def budgeted_hits(profile: ProjectProfile, table: DecisionTable, costs: Mapping[str, Any],
                  hits: list[bool]) -> dict[str, list[bool]]:
    """Per option whose budget pays for fewer examples than the profile has (CostEstimate.budget_examples): the rule
    hits at that count. The option is judged on the data it trains on — 12 examples of a 20-class task are not
    "thousands of labels" because the user holds 5,000 (the other options keep the profile's hits)."""
    out: dict[str, list[bool]] = {}
    if profile.budget_gpu_hours is None:
        return out
    at: dict[int, list[bool]] = {}
    for o in OPTIONS:
        covered = getattr(costs[o], "budget_examples", None)  # a Fit (memory only) carries none
        if not budget_binds(costs[o], profile):
            continue
        if covered not in at:
            at[covered] = rule_hits(profile.changed(labeled_examples=covered), table, hits,
                                    frozenset(("labeled_examples",)))
        out[o] = at[covered]
    return out


def scores_and_feasible(profile: ProjectProfile, table: DecisionTable, costs: Mapping[str, Any],
                        hits: list[bool]) -> tuple[dict[str, float], dict[str, bool], dict[str, int]]:
    """(0-100 score, feasible, number of blocking constraints) per option — all the counterfactual search's hot path
    (~12 variants per answer) needs: the same sums and verdicts as score_options, without Reason or RuleScore
    objects."""
    raw = _raw_sums(table, hits)
    for o, own in budgeted_hits(profile, table, costs, hits).items():
        raw[o] = _raw_sums(table, own)[o]
    blockers = dict.fromkeys(OPTIONS, 0)
    for _, options in _blocking(profile, table, costs, hits):
        for o in options:
            blockers[o] += 1
    scale = table.score_scale
    return ({o: 100.0 / (1.0 + math.exp(-raw[o] / scale)) for o in OPTIONS}, {o: not blockers[o] for o in OPTIONS},
            blockers)


def _fewer_epochs(c: "OverBudget", profile: ProjectProfile) -> str:
    """Where fewer passes would let the budget cover what the minimum needs: GPU-hours grow with examples x epochs,
    so one epoch pays for `epochs` times the examples (a review, 2026-12-05: 3 epochs were assumed unsaid)."""
    k = c.constraint
    if profile.epochs <= 1 or k.check != "examples_per_class":
        return ""
    need = k.min_per_class * profile.num_classes
    for e in range(profile.epochs - 1, 0, -1):
        paid = c.covered * profile.epochs // e
        if paid >= need:
            return (f" With {e} epoch{'s' if e != 1 else ''} instead of {profile.epochs} the same budget pays for "
                    f"about {min(paid, training_rows(profile)):,} (`--epochs {e}`).")
    return ""


def _blocked_sentence(c: Any, option: str, profile: ProjectProfile, costs: Mapping[str, Any]) -> str:
    """Why constraint `c` blocks `option`, in the words the page shows."""
    if isinstance(c, OverBudget):
        k = c.constraint
        return (f"Your budget of {format_hours(profile.budget_gpu_hours)} GPU-hours pays for training on {c.covered:,} of your "
                f"{profile.labeled_examples:,} examples ({profile.epochs} epoch{'s' if profile.epochs != 1 else ''}), "
                f"and the table's minimum applies to what an option trains on: {k.reason[0].lower()}{k.reason[1:]}"
                + (f" It needs {k.min_per_class} x {profile.num_classes} classes = "
                   f"{k.min_per_class * profile.num_classes:,}." if k.check == "examples_per_class" else "")
                + _fewer_epochs(c, profile)
                + f" [{k.id}; {k.source}; advisor.costs]")
    if c.when is not None:
        return f"{c.reason} [{c.id}; {c.source}]"
    if c.check == "training_memory":
        why = costs[option].memory_reason
        return (f"{c.reason} {why[0].upper()}{why[1:]} (gpu_memory_gb or compute={profile.compute}). "
                f"[{c.id}; {c.source}]")
    if c.check == "prompt_context":
        need, window = prompt_overflow(profile)
        one = example_tokens(profile)
        if one > window:
            # Not the label list: the input alone (a review, 2026-12-05: "with this many labels" for 2 labels).
            return (f"Your typical input and its answer alone, about {one:,} tokens, are longer than "
                    f"{profile.model}'s context of {window:,}: no prompt can hold one; a trained option reads the "
                    f"first {window:,} tokens (the recipe cuts the rest), or use a model with a longer context. "
                    f"[{c.id}; {c.source}]")
        return (f"{c.reason} The instruction naming your {profile.num_classes:,} labels and one input are about "
                f"{need:,} tokens; {profile.model}'s context is {window:,}. [{c.id}; {c.source}]")
    need, n = c.min_per_class * profile.num_classes, profile.labeled_examples
    held = n - training_rows(profile)
    return (f"{c.reason} Needs {c.min_per_class} x {profile.num_classes} classes = {need:,} examples to train on; of "
            f"your {n:,}, {held:,} are held out to choose the checkpoint (a fifth, at least 2 per class, never more "
            f"than half), which leaves {training_rows(profile):,}. [{c.id}; {c.source}]")


def score_options(profile: ProjectProfile, table: DecisionTable, costs: dict[str, CostEstimate],
                  hits: list[bool] | None = None) -> dict[str, RuleScore]:
    """Rule scores, reasons and feasibility for every option (`hits`: precomputed `rule_hits`); the counterfactual
    search, which needs only the scores and verdicts, reads `scores_and_feasible`."""
    if hits is None:
        hits = rule_hits(profile, table)
    raw = {o: 0.0 for o in OPTIONS}
    reasons: dict[str, list[Reason]] = {o: [] for o in OPTIONS}
    own = budgeted_hits(profile, table, costs, hits)
    for i, rule in enumerate(table.rules):
        for option in OPTIONS:
            if not own.get(option, hits)[i]:
                continue
            effect = rule.effects[option]
            if effect == 0:
                continue
            contribution = rule.weight * effect
            raw[option] += contribution
            reasons[option].append(Reason(rule.factor, "for" if effect > 0 else "against", rule.weight,
                                          contribution, rule.id, rule.rationale, rule.source))
    blocked: dict[str, list[str]] = {o: [] for o in OPTIONS}
    for c, options in _blocking(profile, table, costs, hits):
        for option in options:
            blocked[option].append(_blocked_sentence(c, option, profile, costs))
    out = {}
    for option in OPTIONS:
        ordered = sorted(reasons[option], key=lambda r: (-abs(r.contribution), r.rule))
        out[option] = RuleScore(option, raw[option], _sigmoid_score(raw[option], table.score_scale),
                                not blocked[option], tuple(blocked[option]), tuple(ordered))
    return out
