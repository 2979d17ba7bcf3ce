"""`recommend(profile) -> Recommendation`: the ranked, explained answer."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from advisor.costs import (CostEstimate, budget_binds, encoder_prompting, estimate_all, example_tokens, fits_all,
                           format_hours, format_params, pilot_min_rows, pilot_split, prompt_demonstrations,
                           prompt_tokens, qlora_note, refit, totals, training_rows)
from advisor.decision import (Decision, DecisionParams, best_option, chance_as_accurate, chance_percent, decide, level,
                              rank, tied_with_best)
from advisor.models import get_model, load_catalog
from advisor.profile import CHOICES, OPTIONS, ProjectProfile
from advisor.rules import Reason, RuleScore, rule_hits, score_options, scores_and_feasible
from advisor.table import DecisionTable, load_table, matches

from advisor.options import (LABELS, demonstrations, factor_words, label as option_label,  # noqa: E402 - the one
                             labels_for, PROVIDER_FINETUNING)  # option registry


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
            "score": round(self.score, 2) if self.feasible else None,  # infeasible: no score, as on the page
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


def not_picked_because(decision: Mapping[str, Any], option: str) -> str:
    """Why a feasible option was not picked, for the headline and the close-call sentence alike (one criterion):
    "tied" — the measured part cannot separate it from the pick, the table decided; "error" — judged at or below
    the pick (each option at its point less part of its error spread) and penalised for it; "table" — otherwise,
    it lost on the decision table's other factors."""
    if option in (decision.get("tied") or ()):
        return "tied"
    judged = (decision.get("judged_vs_pick_points") or {}).get(option, 0.0)
    penalised = (decision.get("penalty_points") or {}).get(option, 0.0) > 0
    return "error" if penalised and judged <= 0 else "table"


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

    def label(self, option: str) -> str:
        """An option's name for this profile: with a provider's fine-tuning API, "full fine-tuning" is the provider's
        fine-tuning job (it trains and hosts; how, it does not say) and is named that way (issue 24 item 3)."""
        option_label(option)  # an unknown option raises UnknownOption, never a bare KeyError
        return labels_for(self.profile.model_access)[option]

    def summary(self) -> str:
        top = self.ranking[0]
        feasible = [r for r in self.ranking if r.feasible]
        if not feasible:
            return (f"No option is feasible for this profile; least blocked: {self.label(top.option)} "
                    f"({top.why_not_feasible.rstrip('.')}).")
        if len(feasible) == 1:
            # Each distinct first reason once, with the options it blocks (5 examples: the soft prompts and the
            # weight-training methods are blocked by different rules; the headline named only the first).
            why: dict[str, list[str]] = {}
            for r in self.ranking:
                if not r.feasible:
                    why.setdefault(r.why_not_feasible.rstrip("."), []).append(self.label(r.option))
            others = "; ".join(f"{', '.join(names)}: {reason}" for reason, names in why.items())
            return f"Recommended: {self.label(top.option)} — the only feasible option here (the others — {others})."
        runner = feasible[1]
        if level(top.final, runner.final):
            # Level scores: the expected accuracy orders them (advisor.decision._order), and the headline says so.
            a, b = (top.expected_accuracy or {}).get("point"), (runner.expected_accuracy or {}).get("point")
            if a is not None and b is not None and f"{a:.3f}" == f"{b:.3f}":
                # "Its higher expected accuracy (0.980 vs 0.980)": both at the ceiling of what an unmeasured setting
                # may claim, ordered by the list (a review, 2026-12-05).
                from advisor.artifact import UNMEASURED_CEILING  # only a calibrated answer has points

                cap = ", the most we state for a setting we have not measured" if a >= UNMEASURED_CEILING else ""
                return (f"Recommended: {self.label(top.option)} (score {top.score:.0f}/100) — level with "
                        f"{self.label(runner.option)}; both are expected at {a:.3f}{cap}, so neither score nor "
                        "accuracy tells them apart and it is listed first only by the fixed option order.")
            return (f"Recommended: {self.label(top.option)} (score {top.score:.0f}/100) — level with "
                    f"{self.label(runner.option)}, listed first "
                    + (f"for its higher expected accuracy ({a:.3f} vs {b:.3f})." if a is not None and b is not None
                       else "in the fixed option order."))
        a, b = (top.expected_accuracy or {}).get("point"), (runner.expected_accuracy or {}).get("point")
        judged_runner = ((self.extra.get("decision") or {}).get("judged_vs_pick_points") or {}).get(runner.option)

        def words(f: str) -> str:
            # Ahead on accuracy *as judged* (each at its point minus part of its own error spread) while its shown
            # point is lower: "ahead of LoRA on expected accuracy" beside 0.801 vs 0.803 (a review, 2026-12-05).
            # Within half a point the points are level (0.8014 vs 0.8012 read as "ahead on expected accuracy").
            if f == "expected_accuracy" and a is not None and b is not None and a < b + 0.005:
                # "Judged conservatively" only where judging moved the difference (risk > 0): with risk 0 the page
                # said so beside two identical differences (a review, 2026-12-05).
                moved = abs(judged_runner - 100 * (b - a)) >= 0.05 if judged_runner is not None else True
                if moved:
                    return "expected accuracy judged conservatively (its estimate is less uncertain)"
                if a >= b:  # a lead the selected rule counts, said at its size: never "ahead on" 0.3 points
                    return f"a {100 * (a - b):.1f}-point lead in expected accuracy ({a:.3f} vs {b:.3f})"
                # Behind the runner-up on its point, the pick gains only from what the measured part took off the
                # options the table preferred (recommend._learned_reasons): said so.
                return "what the measured part took off other options"
            return factor_words(f)

        why = ", ".join(words(f) for f in self.deciding_factors())
        # Options more likely than not at least as accurate as the pick, said in the headline, not only in the
        # table's column: the pick stands on the other factors (a review, 2026-12-05: three such options, unsaid).
        decision = self.extra.get("decision") or {}
        chances = decision.get("chance_vs_pick") or {}
        likelier = sorted(((c, o) for o, c in chances.items() if c >= 0.505 and o != top.option),
                          reverse=True)  # >= 0.505: what prints as 51% or more, never "50%" as "more likely"
        # Each said as what the decision did with it: "cannot be told apart" only for the options tied with the pick
        # on the measured part; one the measured part prefers lost on the table's other factors; one with the higher
        # expected accuracy that counts lower once its wider error is allowed for is said so — a page called full
        # fine-tuning both "cannot be told apart" and scored 0 for its difference (a review, 2026-12-05).
        tails = {"tied": "cannot be told apart from it here", "table": "lose{s} on the decision table's other factors",
                 "error": "count{s} lower once {its} wider error is allowed for"}
        groups: dict[str, list[str]] = {}
        for c, o in likelier:
            tail = tails[not_picked_because(decision, o)]
            groups.setdefault(tail, []).append(f"{self.label(o)} ({chance_percent(c)})")
        caveat = "".join(
            f"; {', '.join(names)} {'is' if len(names) == 1 else 'are'} more likely than not at least as accurate, "
            f"but " + tail.format(s="s" if len(names) == 1 else "", its="its" if len(names) == 1 else "their")
            for tail, names in groups.items())
        # Said as what it is — where the pick beats the runner-up — not "driven by", which a reader checked against
        # the pick's own reasons (a review, 2026-12-04).
        return (f"Recommended: {self.label(top.option)} (score {top.score:.0f}/100)"
                f"{f' — ahead of {self.label(runner.option)} on {why}' if why else ''}{caveat}.")

    def deciding_factors(self, limit: int = 3) -> list[str]:
        """The factors that put the pick above the runner-up: per factor, the pick's contribution minus the
        runner-up's (rules in raw points, the measured part in score points), largest first, positive only — so the
        reasons named always favour the pick."""
        feasible = [r for r in self.ranking if r.feasible]
        if len(feasible) < 2:
            return []
        pick, runner = feasible[0], feasible[1]

        def by_factor(r: OptionResult) -> dict[str, float]:
            out: dict[str, float] = {}
            for x in r.reasons:
                out[x.factor] = out.get(x.factor, 0.0) + x.contribution
            return out

        a, b = by_factor(pick), by_factor(runner)
        diff = {f: a.get(f, 0.0) - b.get(f, 0.0) for f in set(a) | set(b)}
        return [f for f, v in sorted(diff.items(), key=lambda kv: (-kv[1], kv[0])) if v > 0][:limit]

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
            # For several tasks, the per-option totals the CLI and the app show (advisor.costs.totals, one
            # computation): GPU-hours, training money, storage, serving memory, provider bill.
            **({"totals": totals(self.profile, {r.option: r.cost for r in self.ranking})}
               if self.profile.num_tasks > 1 else {}),
            **dict(self.extra),
        }


# How the decision's gaps are judged, in words a reader can check against the page: not at the 10-90% bounds it shows
# (a reviewer read "judged at their lower bounds" against 0.70 and 0.50 and found a 20-point gap, not 14.2).
JUDGED = ("judged conservatively (each option at its expected accuracy minus part of its own error spread, so the "
          "more uncertain estimate counts lower)")


def _scored(profile: ProjectProfile, table: DecisionTable, calibration: Any,
            points: Mapping[str, float] | None, margins: Mapping[str, float] | None = None,
            costs: Mapping[str, CostEstimate] | None = None, hits: list[bool] | None = None,
            ) -> tuple[dict[str, RuleScore], Decision, list[str]]:
    """Rule scores, the decision and the ranking: the one scoring path of the answer (`_pick` is its pick
    alone, for the counterfactuals). `costs`: the profile's cost estimates when the caller has them."""
    scores = score_options(profile, table, costs or estimate_all(profile, table), hits=hits)
    feasible = {o: scores[o].feasible for o in OPTIONS}
    if calibration is not None and points:
        (params, _), spread = calibration.decision(profile), calibration.spread(profile)
    else:
        params, spread = DecisionParams(), None
    d = decide(OPTIONS, {o: scores[o].score for o in OPTIONS}, feasible, points, params, profile.accuracy_goal,
               spread, margins)
    return scores, d, rank(OPTIONS, d.final, feasible, _blockers(scores), points)


def _blockers(scores: Mapping[str, RuleScore]) -> dict[str, int]:
    return {o: len(scores[o].infeasible_reasons) for o in OPTIONS}


def _pick(profile: ProjectProfile, table: DecisionTable, calibration: Any = None,
          points: Mapping[str, float] | None = None, margins: Mapping[str, float] | None = None,
          costs: Mapping[str, CostEstimate] | None = None, hits: list[bool] | None = None,
          dparams: tuple[DecisionParams, Mapping[str, float]] | None = None) -> tuple[str, bool]:
    """(the pick, whether it is feasible), by the same rule as `_scored` (decision.best_option is decide + rank
    without the Decision): the counterfactual search's one question per variant."""
    scores, feasible, blockers = scores_and_feasible(profile, table, costs or estimate_all(profile, table),
                                                     hits if hits is not None else rule_hits(profile, table))
    if calibration is not None and points and dparams is not None:
        params, spread = dparams
    elif calibration is not None and points:
        (params, _), spread = calibration.decision(profile), calibration.spread(profile)
    else:
        params, spread = DecisionParams(), None
    pick = best_option(OPTIONS, scores, feasible, points, params, profile.accuracy_goal, spread, margins, blockers)
    return pick, feasible[pick]


def _chance_points(points: Mapping[str, float], expected: Mapping[str, Any], feasible: Mapping[str, bool],
                   best: str) -> dict[str, float]:
    """The points the chance beside each score compares: the decision's, except where the pick is held at the
    ceiling of what we state unmeasured (0.98) — there every difference to it is the size model's own, which the
    ceiling hid (a review, 2026-12-05: prefix tuning showed a 50% chance against LoRA at 70B while its difference
    interval to full fine-tuning lay almost wholly below zero; mixing capped and uncapped points then gave an option
    3 points lower a better chance than one the cap held level)."""
    from advisor.artifact import UNMEASURED_CEILING

    out = {o: points[o] for o in OPTIONS if feasible[o] or o == best}

    def size_model(o: str) -> float | None:
        if o == "full_finetuning":
            return 0.0
        return ((expected.get(o) or {}).get("vs_full_finetuning") or {}).get("size_model")

    capped = points[best] >= UNMEASURED_CEILING
    g_best = size_model(best) if capped else None
    for o in out:
        g = size_model(o)
        if o != best and g_best is not None and g is not None:
            out[o] = points[best] + (g - g_best)
    return out


def _option_sizes(profile: ProjectProfile, n: int, costs: Mapping[str, Any]) -> dict[str, int]:
    """Per option, the examples its expected accuracy is read at: all `n`, or as many as budget_gpu_hours pays for
    where that is fewer than the rows `profile` with `n` examples trains on (advisor.costs.budget_binds;
    CostEstimate.budget_examples: the same count for any n with this model and compute); at least 1, the
    calibration's smallest size."""
    return {o: max(costs[o].budget_examples if budget_binds(costs[o], profile, n) else n, 1) for o in OPTIONS}


def _may_bind(costs: Mapping[str, Any], n: int, speedup: float) -> bool:
    """Whether a budget could pay for fewer than `n` examples of some option once its GPU-hours per example are
    `1/speedup` times these (another compute level: its throughput; another model: its size). Another memory
    configuration can add at most one forward pass, x1.5 (advisor.costs.estimate), so a cap that stays above n by
    that much cannot bind, and the memory verdicts alone (fits_all, a fifth of the time) decide the variant."""
    return any(c.budget_examples is not None and c.budget_examples * speedup / 1.5 < n
               for c in costs.values() if hasattr(c, "budget_examples"))


def _at(by_size: Mapping[int, Mapping[str, float]], sizes: Mapping[str, int]) -> dict[str, float]:
    """Each option's value at its own size."""
    return {o: by_size[sizes[o]][o] for o in OPTIONS}


# Realistic changes, smallest first: a team can usually label 2-4x more (or use a half), move one compute level or
# one goal level, pick a model about 3x or 10x larger or smaller, or serve 10x more tasks. "With 0 examples" is not
# a change anyone makes to a project that has data (issue 20), so the example factors never reach 0.
_MORE = (2, 4, 10)
_FEWER = (2, 4, 10)
_MODEL_FACTORS = (3.0, 10.0)
_MAX_EXAMPLES = 1_000_000
# With no labelled examples: counts to label, from just above the table's "10 or fewer: nothing to train on".
_FROM_NONE = (20, 100, 1_000)




def _real_model(target_b: float, context: int = 0) -> tuple[float, str | None]:
    """A model a team could switch to near `target_b` billion parameters: the catalog's causal LM nearest in size
    within 1.6x (a 10x larger 8.03B is Qwen2.5-72B at 72.7B, not "80.3B"), else the size itself (no name). Never one
    whose window is shorter than the serving `context` the profile asks for (a review, 2026-12-05: Mistral-7B for
    100,000 tokens, which the profile itself would refuse)."""
    best, gap = None, math.log10(1.6)
    for m in load_catalog():
        if "CausalLM" not in (m.architecture or "") or m.context < context:
            continue
        d = abs(math.log10(m.params_b / target_b))
        if d <= gap:
            best, gap = m, d
    return (best.params_b, best.name) if best else (target_b, None)


def counterfactuals(profile: ProjectProfile, table: DecisionTable | None = None,
                    calibration: Any = None, best: str | None = None,
                    costs: Mapping[str, CostEstimate] | None = None, hits: list[bool] | None = None) -> list[str]:
    """The smallest realistic change of examples, compute, accuracy goal, model size or number of tasks that
    changes the pick, one per dimension (nearest first). With a calibration the same decision as the ranking decides
    (expected accuracies and margins for every candidate size come from one batched call)."""
    table = table or load_table()
    n = profile.labeled_examples
    more = [(f, n * f) for f in _MORE if n * f <= _MAX_EXAMPLES]
    fewer = [(f, n // f) for f in _FEWER if n // f >= 1 and n // f != n]
    if n == 0:  # no factor moves 0: the change is to label some (None: said as a count, not a factor)
        more = [(None, m) for m in _FROM_NONE]
    same_model_costs = costs or estimate_all(profile, table)  # recommend() passes the ones it computed
    # With a GPU-hour budget each trained option's figures are read at the examples the budget pays for (the same
    # count for every number of examples with this model and compute); with none, every option at the variant's n.
    budget = profile.budget_gpu_hours is not None
    sizes = sorted({n, *(m for _, m in more), *(m for _, m in fewer)} - {0})
    if budget:
        sizes = sorted({*sizes, *(s for m in sizes for s in _option_sizes(profile, m, same_model_costs).values())})
    if calibration is not None and sizes and n == 0:
        # No examples now, so no size to anchor a measured probe at (`points_by_size`): each count to label is read
        # as recommend() reads a profile with that many, the probe measured there.
        by_size, margins = {}, {}
        for m in sizes:
            at = profile.changed(labeled_examples=m)
            by_size.update(calibration.points_by_size(at, [m]))
            margins.update(calibration.margins(at, [m]))
    elif calibration is not None and sizes:
        by_size = calibration.points_by_size(profile, sizes)
        margins = calibration.margins(profile, sizes)
    else:
        by_size, margins = {}, {}

    base_hits = hits or rule_hits(profile, table)
    dparams = (calibration.decision(profile)[0], calibration.spread(profile)) if calibration is not None else None

    def sized(p: ProjectProfile, size: int, costs_p: Mapping[str, Any], pts: Any, mg: Any) -> tuple[Any, Any]:
        """The points and margins `_pick` reads for variant `p` with `size` examples: per option at its budgeted
        size. `pts`/`mg` map sizes to values (computed for `p`'s model); sizes they lack are computed here."""
        if size == 0:  # without examples the answer is the rules-only one (recommend), and so is each variant's
            return None, None
        if not budget or not pts:
            return (pts or {}).get(size), (mg or {}).get(size)
        per = _option_sizes(p, size, costs_p)
        missing = sorted(set(per.values()) - set(pts))
        if missing:  # a compute variant's budget pays for another count (points do not read compute)
            pts.update(calibration.points_by_size(p, missing))
            mg.update(calibration.margins(p, missing))
        return _at(pts, per), _at(mg, per)

    def repriced(variant: ProjectProfile, field: str) -> str | None:
        """The change a variant makes to the pick, with its costs priced anew (a budget, the epochs, the access
        level each change what every option costs)."""
        costs_v = estimate_all(variant, table)
        pts, mg = sized(variant, n, costs_v, by_size, margins)
        return change(_pick(variant, table, calibration, pts, mg, costs_v,
                            rule_hits(variant, table, base_hits, frozenset((field,))), dparams))

    def best_at(p: ProjectProfile, size: int, changed: str | None = None) -> tuple[str, bool]:
        hits = rule_hits(p, table, base_hits, frozenset((changed,))) if changed else base_hits
        # The rules read only the memory verdicts (and, with a budget, the examples it pays for), which the number
        # of examples, the goal and the number of tasks do not change; the compute level sets the memory (and GPUs)
        # available and the hours per example, so its variants are priced anew.
        if changed == "compute":
            tflops = table.compute_tflops
            ratio = float(tflops[p.compute]) / float(tflops[profile.compute])
            costs_p = estimate_all(p, table) if _may_bind(same_model_costs, n, ratio) else \
                refit(profile, same_model_costs, p, table) or fits_all(p, table)
        else:
            costs_p = same_model_costs
        pts, mg = sized(p, size, costs_p, by_size, margins)
        return _pick(p, table, calibration, pts, mg, costs_p, hits, dparams)

    if best is None:
        best, ok = best_at(profile, n)
    else:  # recommend() passes its own pick: the same decision, not recomputed
        ok = scores_and_feasible(profile, table, same_model_costs, base_hits)[1][best]

    names = labels_for(profile.model_access)

    def change(picked: tuple[str, bool]) -> str | None:
        """What a variant changes, or None. With nothing feasible now, a reordering of blocked options is no change:
        only a variant where something becomes feasible is (a 70B model on a laptop: a 10x smaller one fits)."""
        other, other_ok = picked
        if ok and other_ok:
            return f"{names[other]} would overtake {names[best]}." if other != best else None
        if ok:
            return f"no option would be feasible (now {names[best]})."
        return f"{names[other]} would become feasible and be recommended." if other_ok else None

    out = []
    for direction, cands in (("more", more), ("fewer", fewer)):
        for f, size in cands:
            what = change(best_at(profile.changed(labeled_examples=size), size, "labeled_examples"))
            if what:
                out.append(f"With {size:,} labeled examples instead of none, {what}" if f is None else
                           f"With {f}x {direction} labeled examples ({size:,} instead of {n:,}), {what}")
                break
    if budget and profile.budget_gpu_hours > 0 and profile.model_access == "weights":
        # A budget that binds (or would): 2-10x more or less of it moves each option's examples with it.
        b = profile.budget_gpu_hours
        for direction, factors in (("more", _MORE), ("less", _FEWER)):
            for f in factors:
                speedup = f if direction == "more" else 1 / f
                # More budget changes something only where it binds now, less only where it binds there.
                if not _may_bind(same_model_costs, n, min(speedup, 1.0)):
                    continue
                what = repriced(profile.changed(budget_gpu_hours=b * speedup), "budget_gpu_hours")
                if what:
                    out.append(f"With {f}x {direction} GPU-hour budget ({b * speedup:,.3g} instead of {b:,.3g}), "
                               f"{what}")
                    break
    one_epoch = (budget and profile.budget_gpu_hours > 0 and profile.model_access == "weights" and profile.epochs > 1
                 and any(budget_binds(c, profile) for o, c in same_model_costs.items() if o != "prompt_engineering"))
    if one_epoch:
        # Under a budget that binds, fewer passes train on more of the examples (a review, 2026-12-05: 3 epochs over
        # 39% of them, while at 1 epoch every option trained on all; the plan pointed here for it).
        what = repriced(profile.changed(epochs=1), "epochs")
        if what:
            out.append(f"With 1 epoch instead of {profile.epochs} (the budget then pays for more of your examples), "
                       f"{what}")
    if profile.model_access == "api_only" and n > 0:
        # The lever an API-only team has: a provider API that offers fine-tuning (a review: "No realistic single
        # change" never tried it). The provider trains, so the variant is priced anew.
        what = repriced(profile.changed(model_access="api_with_finetuning"), "model_access")
        if what:  # there "full fine-tuning" is the provider's job (Recommendation.label)
            what = what.replace(LABELS["full_finetuning"], f"{PROVIDER_FINETUNING} (scored as full fine-tuning)")
            out.append(f"With a provider API that offers fine-tuning instead of prompting only, {what}")
    # The overfitting worry is a default many users never set (medium): its level decided a 1B, 100,000-example answer
    # the search could not show (a review, 2026-12-05).
    levels_of = [("accuracy_goal", "accuracy goal"), ("overfitting_risk", "overfitting risk")]
    if profile.model_access == "weights":
        levels_of.insert(0, ("compute", "compute"))
    for name, label in levels_of:
        levels = CHOICES[name]
        i = levels.index(getattr(profile, name))
        for j in (i + 1, i - 1):  # one level up or down: a realistic change
            if 0 <= j < len(levels):
                what = change(best_at(profile.changed(**{name: levels[j]}), n, name))
                if what:
                    out.append(f"With {label} = {levels[j]} instead of {levels[i]}, {what}")
                    break
    if profile.model_access == "weights":
        b = profile.params_b
        for f in _MODEL_FACTORS:
            found = False
            for target, word in ((b * f, "larger"), (b / f, "smaller")):
                if not 0.01 <= target <= 1000:
                    continue
                size_b, name = _real_model(target, profile.context_length)
                if name is not None and name == profile.model or abs(math.log10(size_b / b)) < math.log10(2):
                    continue  # the user's own model, or one within 2x of it: not the change this factor names
                # Another model: the prompting measured with the user's own model (advisor pilot --model) does not carry.
                variant = profile.changed(model_params_b=size_b, model=name, prompt_accuracy=None,
                                          prompt_accuracy_n=None)
                costs_v = estimate_all(variant, table) if _may_bind(same_model_costs, n, b / size_b) \
                    else fits_all(variant, table)
                pts = mg = None
                if calibration is not None and n > 0:
                    at = sorted(set(_option_sizes(variant, n, costs_v).values()) | {n})
                    pts, mg = sized(variant, n, costs_v, calibration.points_by_size(variant, at),
                                    calibration.margins(variant, at))
                what = change(_pick(variant, table, calibration, pts, mg, costs=costs_v,
                                     hits=rule_hits(variant, table, base_hits, frozenset(("model_params_b", "model"))),
                                     dparams=dparams))
                if what:
                    ratio = size_b / b if size_b > b else b / size_b
                    out.append(f"With a {ratio:.2g}x {word} model ("
                               + (f"{name}, " if name else "")
                               + f"{format_params(size_b)} instead of {format_params(b)}), {what}")
                    found = True
                    break
            if found:
                break
    for tasks in sorted({profile.num_tasks * 10, max(1, profile.num_tasks // 10)} - {profile.num_tasks}):
        what = change(best_at(profile.changed(num_tasks=tasks), n, "num_tasks"))
        if what:
            out.append(f"Serving {tasks:,} tasks instead of {profile.num_tasks:,}, {what}")
            break
    if not out:
        # Only the changes tried: an API's compute and model size are the provider's (no such variant is run).
        weights = profile.model_access == "weights"
        out.append("No realistic single change ("
                   # 0 examples times a factor is still 0: no such change is tried.
                   + (f"examples x{_MORE[0]}-{_MORE[-1]} or /{_FEWER[0]}-{_FEWER[-1]}, " if n > 0 else
                      f"{', '.join(f'{m:,}' for m in _FROM_NONE)} labeled examples, ")
                   + "one " + ("level of compute, accuracy goal or overfitting risk, a model "
                      f"{_MODEL_FACTORS[0]:g}-{_MODEL_FACTORS[-1]:g}x larger or smaller" if weights else
                      "level of accuracy goal or overfitting risk")
                   + ", 10x more or fewer tasks"
                   + (f", a GPU-hour budget x{_MORE[0]}-{_MORE[-1]} or /{_FEWER[0]}-{_FEWER[-1]}"
                      if budget and weights and profile.budget_gpu_hours > 0 and n > 0 else "")
                   + (", 1 epoch under the budget" if one_epoch else "")
                   + (", an API that offers fine-tuning" if profile.model_access == "api_only" and n > 0 else "")
                   + ") "
                   + (f"changes the answer ({names[best]})." if ok else "makes any option feasible."))
    return out


def _settle_with(profile: ProjectProfile, generation: bool) -> str:
    """The cheap measurement on the user's data that would settle a tie or a close call, one the user can run.

    The pilot splits the user's rows into a training subset, a validation split and a test set (advisor.costs.
    pilot_split); below `pilot_min_rows` there is too little to split, and the advice says so. (A review: it once
    said `bench probe --size N` with N the user's row count, which the protocol refuses — the validation split comes
    on top of the N training rows.) Through a provider's API the trained option is the provider's job, which no local
    run can stand in for. The pilot classifies: a generation task is measured by exact match with `bench run` on a
    causal LM (its default backbone, the MiniLM encoder, cannot write text)."""
    n, k = profile.labeled_examples, profile.num_classes
    prompt = ("" if profile.prompt_accuracy is not None else
              "score your prompt on the rows it does not use as demonstrations and pass `--prompt-accuracy A "
              "--prompt-accuracy-n N`")
    if profile.model_access != "weights":
        return ((prompt + "; if it falls short, " if prompt else "") +
                "a small fine-tuning job on part of your rows, scored on the rest, settles the other side")
    if generation:
        if profile.zero_shot_accuracy is None:
            return ("measure the reference model's zero-shot exact match on your data (`bench run --task-file my.yaml "
                    "--models smollm2-135m --methods prompt_engineering --sizes 16`: its zero_shot_accuracy) and "
                    "pass it as `--zero-shot-accuracy`")
        return ("run each tied option briefly on your data with your model (`bench run --task-file my.yaml --models "
                "hf:/path/to/your/model --methods ... --sizes N`; exact match on held-out rows)")
    if n < pilot_min_rows(k):
        return (f"label more rows: with {n:,}, `advisor pilot` cannot hold out validation and test rows (it needs at "
                f"least {pilot_min_rows(k):,} for {k} classes)" + (f"; until then, {prompt}" if prompt else ""))
    train, val, test = pilot_split(n, k)
    split = f"of your {n:,} rows it trains on {train:,}, validates on {val:,} and tests on {test:,}"
    if profile.probe_accuracy is None:
        return ("measure zero-shot and linear-probe accuracy on your own data (`advisor pilot --data your.csv --text "
                f"TEXT --label LABEL`: {split})")
    return ("run each tied option briefly on your data (`advisor pilot --quick` runs LoRA beside its prediction, "
            f"{split}; `bench run --task-file my.yaml --methods ...` runs the others)")


def format_accuracy(e: Mapping[str, Any] | None, missing: str = "n/a") -> str:
    """An expected accuracy as every surface shows it (page, CLI, Markdown, reasons): '0.795 [0.65-0.95]'. An end
    that two decimals would round across the point (a point of 0.992 at the top of its interval: '[..-0.99]') gets
    three."""
    if not e:
        return missing
    lo = f"{e['low']:.2f}" if round(e["low"], 2) <= e["point"] else f"{e['low']:.3f}"
    hi = f"{e['high']:.2f}" if round(e["high"], 2) >= e["point"] else f"{e['high']:.3f}"
    return f"{e['point']:.3f} [{lo}-{hi}]"


FLOOR_WHY = "the least beyond our backbones: the size model's error on a published setting it did not see"
GENERATION_FLOOR_WHY = ("the least for a generation task while only one is measured here: one standard deviation of "
                        "a difference between options, since one task cannot show how another orders them")


def _learned_reasons(option: str, expected: Mapping[str, Any], points: Mapping[str, float],
                     feasible: Mapping[str, bool], d: Decision, rules: Mapping[str, float],
                     best: str, floor: float = 0.0, names: Mapping[str, str] = LABELS,
                     floor_why: str = FLOOR_WHY) -> tuple[Reason, ...]:
    """The measured part of a score, explained like a rule, in score points: what it takes off this option (a
    difference to the top beyond its uncertainty), or — for the pick — what it took off options the decision table
    preferred. A difference within its uncertainty takes nothing and says so."""
    top = d.top or option
    e = expected[option]
    prov = e.get("provenance", {})
    gap = points[top] - points[option]
    margin = d.margin[option]
    interval = f"expected accuracy {format_accuracy(e)}"
    far = 10 ** float(prov.get("decades_from_evidence", 0) or 0)  # shown as a factor, never "0.4 decades"
    shown = _margin_said(margin)
    # "Margin", not "uncertainty": the same page shows the difference's 10-90% interval from the size-and-data model,
    # which is wider; the margin is what the decision requires a difference to exceed (σ_diff × (z + decades)).
    unc = (f"decision margin ±{100 * margin:.1f} points, "
           + (floor_why
              if floor > 0 and abs(margin - floor) < 1e-12 else
              # "full fine-tuning": the evidence's own method, whoever trains for the user.
              f"your model {far:.1f}x in size from the nearest model this option was compared with full "
              "fine-tuning on (ours or published)" if far >= 1.05 else
              "next to the evidence") if shown else "decision margin: none where we measured" if margin <= 0 else
           "decision margin under 0.1 points, next to our measurements")

    def versus(g: float) -> str:  # never "-0.0 points below"
        return (f"level with {names[top]}" if abs(100 * g) < 0.05 else
                f"{abs(100 * g):.1f} points {'below' if g > 0 else 'above'} {names[top]}")

    if not feasible[option]:
        # Said as a hypothetical: an infeasible option's accuracy is what it would reach, not a reason to pick it.
        text = (f"{interval} if it were feasible here ({'above' if gap < 0 else 'vs'} {names[top]}'s "
                f"{points[top]:.3f})")
        # Its sign is the hypothetical's (above or below the top), never "−" beside "above" (a review, 2026-12-04).
        contribution, direction = 0.0, "for" if gap < 0 else "against"
    elif d.penalty[option] > 0:
        # Shown as what it does to the displayed score (clipped at 0); the ranking keeps the unclipped value.
        taken = min(d.penalty[option], max(rules[option], 0.0))
        judged = d.gap[option]  # what the margin is compared with: each option at its lower bound when selected
        # "3.9 below, beyond ±3.8, 0.6 count" read as an arithmetic slip: the judged gap was 4.4; both are said.
        at_bounds = (f" and {100 * judged:.1f} {JUDGED}" if abs(judged - gap) >= 0.0005 else "")
        counts = (f"beyond the {unc}, {100 * d.counted[option]:.1f} points count" if shown else
                  "next to our measurements the selected rule counts the whole difference")
        text = (f"{interval}, {versus(gap)} ({points[top]:.3f}){at_bounds}; {counts}: "
                + ("its score goes to 0" if taken < d.penalty[option] else
                   f"−{taken:.0f} score points" if round(taken) >= 1 else "under 1 score point off"))
        contribution, direction = -taken, "against"
    elif option == best:
        beaten = [o for o in OPTIONS if feasible[o] and o != option and rules[o] >= rules[option]
                  and d.penalty[o] > 0]
        lift = max((min(d.penalty[o], rules[o]) - (rules[o] - rules[option]) for o in beaten), default=0.0)
        if beaten:
            # The size of the lead, never "measurably above" beside 0.4 points (a review, 2026-12-05): the selected
            # rule counts it in full where we measured, and the chance column says how sure that is.
            leads = [100 * (points[option] - points[o]) for o in beaten]
            lo, hi = min(leads), max(leads)
            size = f"{lo:.1f}" if round(lo, 1) == round(hi, 1) else f"{lo:.1f}-{hi:.1f}"
            # Each difference against its own margin (the larger of the two options'), as the decision sentence
            # says it: the pick's own margin named ±4.7 beside a sentence at ±11.9 (a review, 2026-12-05).
            widest = max(d.margin[o] for o in beaten)
            text = (f"{interval}: {size} points above {', '.join(names[o] for o in beaten)}, which the decision "
                    "table alone would prefer ("
                    + (f"beyond the decision margin of each difference, up to ±{100 * widest:.1f} points"
                       if _margin_said(widest) and abs(widest - margin) > 1e-12 else unc) + ")")
        elif gap > 0:
            text = f"{interval}, {versus(gap)} but within the {unc}: not counted"
        else:
            text = f"{interval}, as high as any feasible option's ({unc})"
        contribution, direction = max(lift, 0.0), "for"
    elif option == top:
        # The option the gaps are measured from, when the table picked another: "level with prefix tuning" on prefix
        # tuning's own line compared it with itself (a review, 2026-12-05).
        text = (f"{interval}, as high as any feasible option's ({unc}); {names[best]} is within that margin of it: "
                "tied on the measured part, the decision table decides")
        contribution, direction = 0.0, "for"
    else:
        text = (f"{interval}, {versus(gap)} — within the {unc}: tied on the measured part, the decision table "
                "decides")
        # Nothing taken off, but an option below the top is not marked "+" for it.
        contribution, direction = 0.0, "for" if gap <= 0 else "against"
    return (Reason("expected_accuracy", direction, round(abs(contribution), 1), round(contribution, 1),
                   "calibration", text, f"{prov.get('kind', 'calibration')}: {prov.get('detail', e.get('basis', ''))}"),)


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
    # Under budget_gpu_hours an option trains on the examples the budget pays for: its expected accuracy is read
    # there (one expected() per distinct count), as its time and cost already are (advisor.costs.estimate).
    sizes = _option_sizes(profile, profile.labeled_examples, costs)
    if expected:
        n = max(profile.labeled_examples, 1)
        for size in sorted(set(sizes.values()) - {n}):
            at = calibration.expected(profile.changed(labeled_examples=size))
            for o in OPTIONS:
                if sizes[o] == size:
                    e = at[o]
                    e["basis"] += (f"; read at the {costs[o].budget_examples:,} examples your budget of "
                                   f"{format_hours(profile.budget_gpu_hours)} GPU-hours pays for ({profile.epochs} epochs), not "
                                   f"all {costs[o].rows:,} it would train on")
                    e["examples"] = size
                    expected[o] = e
        if len(set(sizes.values())) > 1:
            # A difference to full fine-tuning is shown only between figures read at the same number of examples.
            for o in OPTIONS:
                if sizes[o] != sizes["full_finetuning"]:
                    expected[o].pop("vs_full_finetuning", None)
    # Decisions use the unclipped predictions (advisor.decision); the displayed point is clipped to 0-1.
    points = {o: expected[o].pop("decision_point") for o in OPTIONS} if expected else None
    margins = _at(calibration.margins(profile, sorted(set(sizes.values()))), sizes) if points else None
    hits = rule_hits(profile, table)
    scores, dec, order = _scored(profile, table, calibration, points, margins, costs=costs, hits=hits)
    feasible = {o: scores[o].feasible for o in OPTIONS}
    rules = {o: scores[o].score for o in OPTIONS}
    params, sd = (calibration.decision(profile) if calibration is not None and points else (DecisionParams(), 0.0))
    cells = calibration.nearest_cells(profile) if calibration is not None else []
    names = labels_for(profile.model_access)  # every text of this answer names the options one way
    no_acc = "rules-only: " + (problem or "no calibration loaded")
    if calibration is not None and not trains:
        no_acc = "no labeled examples: nothing measured to compare against"
    weight = params.weight(profile.accuracy_goal)
    best = order[0]
    unpaid = {o: f"your budget of {format_hours(profile.budget_gpu_hours)} GPU-hours pays for no training of it"
              for o in OPTIONS if costs[o].budget_examples == 0 and profile.labeled_examples > 0}
    floor = calibration.margin_floor(profile) if points else 0.0  # the least margin the reasons and rule name
    floor_why = (GENERATION_FLOOR_WHY if points and floor > 0 and calibration.generation_floor(profile) >= floor
                 else FLOOR_WHY)
    ranking = tuple(
        OptionResult(o, i + 1, _shown(dec.final[o]), scores[o].feasible, scores[o].infeasible_reasons,
                     _ordered(_learned_reasons(o, expected, points, feasible, dec, rules, best, floor, names,
                                               floor_why)
                              if points else (),
                              scores[o].reasons), costs[o],
                     # An option the budget pays no example of has nothing to expect (it is blocked: no data).
                     expected_accuracy=None if o in unpaid else expected.get(o),
                     expected_accuracy_note=unpaid.get(o) or (expected[o]["basis"] if expected else no_acc),
                     rules_score=scores[o].score,
                     evidence=tuple({"task": c["task"], "train_size": c["train_size"], "backbone": c["backbone"],
                                     "accuracy": c["methods"][o]["score"], "seeds": c["methods"][o]["seeds"],
                                     "runs": c["methods"][o]["runs"]} for c in cells if o in c["methods"]),
                     final=dec.final[o])
        for i, o in enumerate(order))
    caveats = [c.message + f" [{c.source}]" for c in table.caveats if matches(c.when, profile)]
    if not profile.size_known:
        caveats.append(f"Your model's size is unknown: the expected accuracies assume a {profile.params_b:g}B model, "
                       "a size at which the decision table's size rules (small models below 1B, large ones from "
                       "10B) do not apply. Give model_params_b, or pick the model, to sharpen them.")
    measured = (calibration.art.get("measured_sizes") or []) if calibration is not None else []
    trained = [o for o in OPTIONS if o != "prompt_engineering" and scores[o].feasible]
    if measured and trained and profile.model_access == "weights" and 0 < training_rows(profile) < min(measured):
        # The expected accuracy of a trained option is read at the user's count, from runs that trained on at least
        # min(measured) rows with a validation set of their own: 12 examples train on 8 and choose on 4 (a review,
        # 2026-12-05), where those runs had 16 and 32 more.
        rows, held = training_rows(profile), profile.labeled_examples - training_rows(profile)
        its = "their" if len(trained) > 1 else "its"
        caveats.append(f"{', '.join(names[o] for o in trained[:-1]) + ' and ' if len(trained) > 1 else ''}"
                       f"{names[trained[-1]]} would learn from {rows:,} rows and choose {its} checkpoint on {held:,}; "
                       f"the fewest any run measured here trained on is {min(measured):,}, with a separate "
                       f"validation set beside them. {its.capitalize()} expected accuracy comes from more data than "
                       "yours: judge a trained model against the prompt on the same held-out rows before trusting it.")
    if profile.model and example_tokens(profile) > get_model(profile.model).context and \
            any(scores[o].feasible for o in OPTIONS if o != "prompt_engineering"):
        # The costs and the recipe train on the window; the answer says what that cuts (a review, 2026-12-05: it
        # was a recipe note only).
        window = get_model(profile.model).context
        caveats.append(f"Your typical input and its answer (about {example_tokens(profile):,} "
                       f"tokens) are longer than {profile.model}'s context of {window:,}: a trained option reads the "
                       f"first {window:,} and its time and memory are for that; its expected accuracy does not "
                       "account for what is cut. [advisor.costs.train_seq_len; the model catalog]")
    if profile.model and scores["prompt_engineering"].feasible and not encoder_prompting(profile):
        # A catalog model's context bounds the prompt: MiniLM (512 tokens) was offered a 602-token prompt.
        # The prompt's own tokens (not a serving context the user set): the instruction, k demonstrations, the input.
        # The costs, memory and recipe price the demonstrations the context holds (costs.prompt_demonstrations).
        k, fit = demonstrations(profile.labeled_examples), prompt_demonstrations(profile)
        window = get_model(profile.model).context
        full, bare = prompt_tokens(profile, k), prompt_tokens(profile, 0)
        labels = f" naming your {profile.num_classes:,} labels" if profile.task_kind == "classification" else ""
        if bare > window:
            caveats.append(f"Prompt engineering's prompt (the instruction{labels} and the input, about {bare:,} "
                           f"tokens) is longer than {profile.model}'s context of {window:,} tokens: the input must "
                           "be cut. [advisor.costs; the model catalog]")
        elif fit < k:
            caveats.append(f"Prompt engineering's prompt holds {fit or 'no'} demonstration{'s' if fit != 1 else ''}, "
                           f"the most {profile.model}'s context of {window:,} tokens takes with the instruction"
                           f"{labels} and the input ({k} would be about {full:,} tokens); its tokens, memory and "
                           f"price are for that prompt, while its expected accuracy is for prompts of up to {k}, as "
                           "the measured protocol used. [advisor.costs; the model catalog]")
    if profile.model_access == "weights":
        # The configuration each feasible option needs, when it is not the plain bf16 one (issue 22).
        for o in OPTIONS:
            if scores[o].feasible and costs[o].memory_plan and costs[o].configuration not in ("bf16 weights",
                                                                                              "fp32 weights"):
                caveats.append(f"{names[o]} {costs[o].memory_reason}.{qlora_note(costs[o].configuration)} "
                               "[advisor.costs ladder; Dettmers et al. 2022, 2023; Korthikanti et al. 2022]")
    if profile.model_access == "weights" and profile.num_tasks > 1:
        # Serving every task at once (the many-task totals, one computation): 30 full fine-tuned 8B copies need
        # 482 GB while the feasibility check counts one copy against one 80 GB GPU (a review, 2026-12-05).
        from advisor.costs import gpus_held, totals, usable_memory_gb

        held = gpus_held(profile, table) * usable_memory_gb(profile, table)
        t = totals(profile, costs)
        over = [o for o in OPTIONS if scores[o].feasible and t[o]["serving_memory_gb"] > held]
        if over:
            shared = [r.option for r in ranking if r.feasible and r.option not in over
                      and r.option != "prompt_engineering"]  # the best ranked that shares one base
            caveats.append(f"Serving all {profile.num_tasks:,} tasks at once with "
                           + " or ".join(f"{names[o]} needs about {t[o]['serving_memory_gb']:,.0f} GB" for o in over)
                           + f", more than your GPUs hold ({held:,.1f} GB usable): load one task's model per request "
                             "(a cold start each time a task changes), or serve them over more GPUs"
                           + (f"; {names[shared[0]]}'s {profile.num_tasks:,} tasks share one base model "
                              f"({t[shared[0]]['serving_memory_gb']:,.1f} GB)" if shared else "")
                           + ". [advisor.costs totals]")
    if profile.budget_gpu_hours is not None:
        # The budget is a constraint on each option's data, not a verdict on the option: training on the examples
        # it pays for is a real way to stay within it (advisor.costs.estimate). Said once, for every feasible
        # option it binds; an option it leaves too few examples is blocked by the table's own minimums (rules).
        bound = [r for r in ranking if r.feasible and budget_binds(r.cost, profile)]
        if bound:
            each = [f"{names[r.option]} on {r.cost.examples:,} (all of them would take "
                    f"{r.cost.train_gpu_hours * r.cost.rows / max(r.cost.examples, 1):,.3g} GPU-hours)"
                    for r in bound]
            epochs = f"{profile.epochs} epoch{'s' if profile.epochs != 1 else ''}"
            caveats.append(f"Your budget of {format_hours(profile.budget_gpu_hours)} GPU-hours per task pays for training "
                           f"{', '.join(each[:-1]) + ' and ' + each[-1] if len(each) > 1 else each[0]} of the "
                           f"{bound[0].cost.rows:,} examples left to train on (your {profile.labeled_examples:,} less "
                           f"the validation split) at {epochs}"
                           + ("; fewer epochs would fit more" if profile.epochs > 1 else "")
                           + ". Their expected accuracy, time and cost are for those examples, and their recipes "
                             "sample them and train no further. [advisor.costs]")
        if profile.model_access == "api_with_finetuning":
            caveats.append("budget_gpu_hours counts GPU-hours on your own GPUs: provider fine-tuning is billed per "
                           "training token instead (its cost above), so the budget was not applied.")
    if profile.price_per_gpu_hour is not None and profile.model_access != "weights":
        # Said, not silently dropped (a review, 2026-12-05).
        caveats.append("price_per_gpu_hour prices GPU-hours on your own GPUs: through an API the provider bills "
                       "tokens instead (its cost above), so it was not applied.")
    # A hybrid is offered only when every option it combines is feasible and scores above 0 here ("prompt tuning
    # per task" beside a prompt tuning scored 0 contradicted the ranking, issue 24 item 4); named in words.
    by_option = {r.option: r for r in ranking}
    hybrids = []
    for h in table.hybrids:
        uses = [o for o in OPTIONS if o in h.name]
        if matches(h.when, profile) and all(by_option[o].feasible and by_option[o].score > 0 for o in uses):
            name = h.name
            for o in uses:
                name = name.replace(o, names[o])
            hybrids.append({"name": name[0].upper() + name[1:], "rationale": h.message, "source": h.source})
    hybrids = tuple(hybrids)
    # Without examples the ranking is the rules-only one; counterfactuals read the calibration only for variants with
    # examples ("With 100 labeled examples instead of none ...": as recommend() would answer that profile).
    cfs = tuple(counterfactuals(profile, table, calibration, order[0], costs, hits)) \
        if with_counterfactuals else ()
    extra: dict[str, Any] = {}
    if calibration is not None:
        mode = f"rules + calibration ({calibration.n_runs} measured runs, {calibration.source})"
        tied = tied_with_best(OPTIONS, dec, feasible, best) if points else []
        # Close calls: options the decision does separate, but by less than the in-store error of a difference —
        # the pick is the better bet, and a short pilot on the user's data could still reorder them.
        close = [o for o in OPTIONS if points and feasible[o] and o != best and o not in tied
                 and abs(points[best] - points[o]) <= sd] if points else []
        # A linear probe cannot write text: for a generation task the cheap measurement is the zero-shot exact match.
        generation = getattr(profile, "task_kind", "classification") == "generation"
        kinds = sorted({expected[o]["provenance"]["kind"] for o in OPTIONS}) if expected else []
        per_point = weight / (1.0 - min(weight, 0.99)) * 100.0 / params.span
        extra = {"evidence": cells,
                 "calibration": {"runs": calibration.n_runs, "calibrated_on": calibration.created_at[:10],
                                 "source": calibration.source},
                 "decision": {"rule": (f"feasible options only; score = the decision table's score minus "
                                       f"{per_point / 100:.0f} points per point of expected accuracy below the best "
                                       f"feasible option beyond the decision margin of that difference (±"
                                       f"{100 * sd:.1f} points per decade from the evidence, 0 where measured"
                                       + (f", at least ±{100 * floor:.1f} beyond our backbones" if floor else "")
                                       + ")"
                                       + (f"; each option judged {params.risk:g} of its own error spread below its "
                                          "expected accuracy" if params.risk else "")
                                       + "; weights chosen by leave-one-family-out inside the training tasks")
                              if points else "rules only (no expected accuracies)",
                              "decided_by": _decided_by(dec, rules, feasible, best, points) if points else "rules",
                              "why": _decided_text(dec, rules, feasible, best, points, tied, sd,
                                                   _blockers(scores), names, floor, floor_why)
                              if points else "no expected accuracies: the decision table decided",
                              "top": dec.top if points else None,  # the best judged feasible option
                              "tied": tied, "tie_width_points": round(100 * max((dec.margin[o] for o in
                                                                                 [*tied, best] if tied), default=0.0),
                                                                                1),
                              "margin_points": {o: round(100 * dec.margin[o], 1) for o in OPTIONS} if points else {},
                              "penalty_points": {o: round(dec.penalty[o], 1) for o in OPTIONS} if points else {},
                              "close_calls": close,
                              # Each option's expected accuracy minus the pick's (points): the close-call text says
                              # which side of the pick an option is on, and why it scores what it scores.
                              "vs_pick_points": {o: round(100 * (points[o] - points[best]), 1) for o in OPTIONS}
                              if points else {},
                              # The same difference as judged (each at its point less part of its error spread):
                              # what the decision compared, which the headline says beside the chance.
                              "judged_vs_pick_points": {o: round(100 * (dec.gap[best] - dec.gap[o]), 2)
                                                        for o in OPTIONS} if points else {},
                              "close_call_width_points": round(100 * sd, 1),
                              # The chance each feasible option is at least as accurate as the pick (the score's
                              # uncertainty: a close call scored 0 still has a chance; advisor.decision).
                              "chance_vs_pick": {o: round(c, 3) for o, c in chance_as_accurate(
                                  _chance_points(points, expected, feasible, best), best, margins,
                                  sd).items()} if points else {},
                              "settle_with": _settle_with(profile, generation) if tied or close else None},
                 "basis": _basis(profile, calibration, kinds, measured_on)}
    else:
        mode = "rules-only" + (f" ({problem})" if problem else "")
    if measured_on:
        extra["measured_on"] = measured_on
    return Recommendation(profile, ranking, tuple(caveats), hybrids, cfs, table.version, mode, extra)


def _ordered(learned: tuple[Reason, ...], rule_reasons: tuple[Reason, ...]) -> tuple[Reason, ...]:
    """The measured part's reason first when it moved the score (it is then what decided), else after the rules."""
    if learned and learned[0].contribution != 0:
        return learned + rule_reasons
    return rule_reasons + learned


def _versus(a: float, b: float) -> str:
    """Two scores side by side, to one decimal where whole points would print them equal ("73 vs 73")."""
    return f"{a:.0f} vs {b:.0f}" if round(a) != round(b) else f"{a:.1f} vs {b:.1f}"


def _rules_best(rules: Mapping[str, float], feasible: Mapping[str, bool]) -> str:
    pool = [o for o in OPTIONS if feasible[o]] or list(OPTIONS)
    return max(pool, key=lambda o: (round(rules[o], 9), -OPTIONS.index(o)))


def _decided_by(d: Decision, rules: Mapping[str, float], feasible: Mapping[str, bool], best: str,
                points: Mapping[str, float]) -> str:
    """'measured' when the expected accuracies changed the pick from the decision table's, 'rules' when the table
    picked among options the measured part cannot separate, 'both' when both parts prefer the pick, 'blocked' when
    no option is feasible (the least blocked one leads)."""
    if not any(feasible[o] for o in OPTIONS):
        return "blocked"
    if _rules_best(rules, feasible) != best:
        return "measured"
    others = [o for o in OPTIONS if feasible[o] and o != best]
    return "both" if others and all(d.counted[o] > 0 for o in others) else "rules"


def _beyond(margin: float, sd: float) -> str:
    """How a counted difference relates to its uncertainty. Next to our measurements the selected rule counts every
    predicted difference (margin 0), which is not the same as knowing it to the point: the page says both, never a
    "±0.0-point uncertainty"."""
    # A margin under 0.05 points prints as "±0.0": it is the counted-in-full case for the reader (hypothesis found a
    # 173B, 1-example profile whose margin was 4e-4).
    if _margin_said(margin):
        return f"beyond the decision's ±{100 * margin:.1f}-point margin for that difference"
    return (f"counted in full next to our measurements — the rule our leave-one-family-out evaluation selected — "
            f"though a predicted difference between two options is off by {100 * sd:.1f} points (one standard "
            "deviation) in that evaluation")


def _margin_said(margin: float) -> bool:
    """Whether a margin is said as "±x": one under 0.05 points would print "±0.0" and is said as none."""
    return round(100 * margin, 1) > 0


def _shown(final: float) -> float:
    return min(100.0, max(0.0, final))  # the displayed score (OptionResult.score)


def _uncertainty(margin: float, sd: float) -> str:
    if _margin_said(margin):
        return f"decision margin for a difference up to ±{100 * margin:.1f} points here"
    return f"a predicted difference off by {100 * sd:.1f} points (one standard deviation) in our evaluation"


def _decided_text(d: Decision, rules: Mapping[str, float], feasible: Mapping[str, bool], best: str,
                  points: Mapping[str, float], tied: list[str], sd: float = 0.0,
                  blockers: Mapping[str, int] | None = None, names: Mapping[str, str] = LABELS,
                  floor: float = 0.0, floor_why: str = "") -> str:
    by = _decided_by(d, rules, feasible, best, points)

    def why_floor(margin: float, inside: bool = False) -> str:
        # Where the least margin sets it, why it is that wide, in the sentence every page shows: the generation
        # floor's reason lived only in a reason list the CLI cut to three lines (a review, 2026-12-05).
        if not (floor_why and floor > 0 and abs(margin - floor) < 1e-12):
            return ""
        return f" — {floor_why}" if inside else f" ({floor_why})"

    if by == "blocked":
        n = blockers or {}
        order = sorted(OPTIONS, key=lambda o: (n.get(o, 0), OPTIONS.index(o)))
        return (f"No option is feasible here, so nothing was decided: the options are listed by how many constraints "
                f"block each ({'; '.join(f'{names[o]} {n.get(o, 0)}' for o in order)}), then by score; "
                f"{names[best]} is the least blocked: lift its "
                f"{'constraint' if n.get(best, 0) == 1 else 'constraints'} first (its reasons say how).")
    if by == "measured":
        alt = _rules_best(rules, feasible)
        raw = 100 * (points[best] - points[alt])
        judged = 100 * (d.gap[alt] - d.gap[best])
        # With the lower-bound rule the margin is compared with the judged gap (each option at its expected accuracy
        # minus its error spread), which can differ from the points' own difference: both are said, never a
        # "2.0 points above, beyond ±5.7" that reads as a contradiction.
        def side(x: float) -> str:
            return f"{abs(x):.1f} points {'above' if x >= 0 else 'below'}"

        gap_text = (f"is expected {side(raw)} {names[alt]}" if abs(judged - raw) < 0.05 else
                    f"is expected {side(raw)} {names[alt]} and {side(judged)} it {JUDGED}")
        return (f"The measured part decided: {names[best]} {gap_text}, {_beyond(d.margin[alt], sd)}"
                f"{why_floor(d.margin[alt])}; the decision "
                f"table alone would pick {names[alt]} ({_versus(rules[alt], rules[best])}).")
    if d.counted[best] > 0 and d.top is not None:
        return (f"The decision table outweighed the measured part: {names[d.top]} is expected "
                f"{100 * (points[d.top] - points[best]):.1f} points above {names[best]}, "
                f"{_beyond(d.margin[best], sd)}{why_floor(d.margin[best])}; but at this accuracy goal the table's "
                "other factors weigh more "
                f"(the table alone scores them {rules[best]:.0f} vs {rules[d.top]:.0f}; with the measured part "
                f"{_shown(d.final[best]):.0f} vs {_shown(d.final[d.top]):.0f}, the scores shown).")
    if tied:
        # The judged gaps (each option at its lower bound when the selection chose one) are what the margins are
        # compared with, so "within" and "uncertainty" below can never contradict each other.
        spread = max(abs(d.gap[o] - d.gap[best]) for o in tied)
        widest = max(d.margin[o] for o in [*tied, best])
        return (f"The decision table decided: the measured part cannot separate {names[best]} from "
                f"{', '.join(names[o] for o in tied)} (expected accuracies within {100 * spread:.1f} points of each "
                f"other as judged, {_uncertainty(widest, sd)}{why_floor(widest, inside=True)}), and the table scores "
                f"{names[best]} {rules[best]:.0f} against {', '.join(f'{rules[o]:.0f}' for o in tied)}.")
    if by == "both":
        # "Below it beyond the decision margin", not "measurably": a close call (within the in-store spread of a
        # difference, said next) can be beyond the margin and still be reversed by a measurement on the user's data.
        higher = [o for o in OPTIONS if feasible[o] and o != best and points[o] > points[best]]
        if higher:
            # Judged below, not "expected below": its point is above the pick's (a review, 2026-12-05).
            return (f"Both parts agree: the decision table scores {names[best]} highest ({rules[best]:.0f}) and every "
                    f"other feasible option is below it by more than the decision margin, {JUDGED}: "
                    f"{', '.join(names[o] for o in higher)} {'is' if len(higher) == 1 else 'are'} expected higher "
                    "but less certain.")
        others = [o for o in OPTIONS if feasible[o] and o != best]
        if others and not any(_margin_said(d.margin[o]) for o in others):
            # Next to our measurements the margin is 0: "by more than the decision margin" read as a finding beside
            # 0.1-point gaps and 40-50% chances (a review, 2026-12-05). Say what the rule does and how close it is.
            return (f"Both parts put {names[best]} first: the decision table scores it highest ({rules[best]:.0f}) "
                    "and every other feasible option is expected below it. Each difference counts in full next to "
                    "our measurements (the rule our leave-one-family-out evaluation selected), though a predicted "
                    f"difference between two options is off by {100 * sd:.1f} points (one standard deviation) there: "
                    "the chances below say how close.")
        return (f"Both parts agree: the decision table scores {names[best]} highest ({rules[best]:.0f}) and every "
                "other feasible option is expected below it by more than the decision margin.")
    return f"The decision table decided ({names[best]} {rules[best]:.0f}/100); nothing else is feasible to compare."


def _basis(profile: ProjectProfile, calibration: Any, kinds: list[str], measured_on: str | None = None) -> str:
    sizes = ", ".join(f"{n}: {p / 1e6:,.0f}M" for n, p in sorted(calibration.backbones.items(), key=lambda x: x[1]))
    pub = (calibration.scaling or {}).get("published_sources", [])
    text = (f"Expected accuracies come from {calibration.n_runs} runs measured here on backbones of {sizes} "
            f"parameters")
    if profile.params_b * 1e9 > 2 * max(calibration.backbones.values()):
        names = calibration.source_names()
        target = (f"your {profile.params_b:g}B model" if profile.size_known else
                  f"an assumed {profile.params_b:g}B model (your model's size is unknown; give model_params_b to "
                  "sharpen these)")
        text += (f", moved to {target} by a size-and-data model fitted on those runs "
                 f"and {len(pub)} published sources ({', '.join(names.get(x, x) for x in pub) or 'none loaded'})")
    text += f"; provenance: {', '.join(kinds)}." if kinds else "."
    anchors = [name for f, name in (("zero_shot_accuracy", "zero-shot"), ("probe_accuracy", "linear-probe"))
               if getattr(profile, f) is not None]
    if measured_on and anchors:
        text += f" They rest on {' and '.join(anchors)} accuracy measured on {measured_on}."
    if profile.prompt_accuracy is not None:
        text += (f" Prompt engineering's is not predicted: your model's prompt scored {profile.prompt_accuracy:.3f} on "
                 f"{profile.prompt_accuracy_n:,} held-out rows of your data (10-90% Wilson interval).")
    return text
