"""A Markdown report of a recommendation (the app's download, also usable from Python)."""

from __future__ import annotations

from typing import Any

from advisor.costs import budget_binds, dollars_range, human_duration, pilot_quick_note
from advisor.decision import chance_percent
from advisor.options import factor_words
from advisor.recommend import Recommendation, format_accuracy, not_picked_because


def format_bytes(n: float) -> str:
    """1234567 -> '1 MB' (decimal units)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000:
            return f"{n:,.0f} {unit}"
        n /= 1000
    return f"{n:,.0f} PB"


def basis_lines(rec: Recommendation) -> list[str]:
    """Where each non-measured expected accuracy comes from (one line per option), for every front end."""
    from advisor.artifact import UNMEASURED_CEILING, UNMEASURED_HIGH

    out = []
    for r in rec.ranking:
        prov = (r.expected_accuracy or {}).get("provenance")
        if prov and prov["kind"] != "measured here":
            out.append(f"{rec.label(r.option)}: {prov['kind']} — {prov['detail']}")
    held = [rec.label(r.option) for r in rec.ranking if _capped(r) == "cap"]
    above = [r for r in rec.ranking if _capped(r) == "edge"]
    if held:
        # "0.980 [0.66-0.98]" read as a median at its own 90th percentile: it is a cap, said where it is shown.
        out.append(f"{', '.join(held)} at {UNMEASURED_CEILING:.3f}: a cap, not a prediction — where we did not "
                   f"measure we expect no option above {UNMEASURED_CEILING:.2f}"
                   + (" (prompting excepted, below)" if above else "")
                   + f", so each point is held there (the top of its interval at most {UNMEASURED_HIGH:.2f}).")
    for r in above:
        # advisor.artifact.ServedCalibration._ceilings: a larger model never lowers prompting's expected accuracy.
        out.append(f"{rec.label(r.option)} at {r.expected_accuracy['point']:.3f}: its value at twice our largest "
                   f"backbone's size, where we measured — a larger model is not expected to prompt worse, so the "
                   f"{UNMEASURED_CEILING:.2f} cap on what we did not measure does not lower it.")
    return out


def _capped(r: Any) -> str | None:
    """'cap': an expected accuracy held at the ceiling where we did not measure; 'edge': prompting above it, at its
    value at the edge of what we measured (advisor.artifact.ServedCalibration._ceilings); None otherwise."""
    from advisor.artifact import MEASURED_ON_YOUR_DATA, UNMEASURED_CEILING

    e = r.expected_accuracy
    if not e or e.get("provenance", {}).get("kind") in ("measured here", MEASURED_ON_YOUR_DATA):
        return None
    if abs(e["point"] - UNMEASURED_CEILING) < 1e-9:
        return "cap"
    return "edge" if e["point"] > UNMEASURED_CEILING else None


def tie_sentence(rec: Recommendation) -> str | None:
    """Which part of the answer decided and why, plus any close call and the cheap measurement that would settle
    it — one text for the CLI, the app and the Markdown download; None for a rules-only answer."""
    decision = rec.extra.get("decision") or {}
    if not decision.get("why"):
        return None
    text = decision["why"]
    close = decision.get("close_calls") or []
    if close:
        text += " " + _close_call_text(rec, decision, close)
    if decision.get("settle_with"):
        text += f" To settle it, {decision['settle_with']}{_pilot_time(decision['settle_with'])}."
    return text


def _close_call_text(rec: Recommendation, decision: dict[str, Any], close: list[str]) -> str:
    """Options the decision separates from the pick by less than one standard deviation of a between-option
    difference. One expected below the pick is said with the points the decision took off it (and off the pick) for
    the part of its difference to the top beyond the margin, and the scores that left; one expected above the pick
    lost on the decision table's other factors. Either way a measurement on the user's data could reverse it — never
    "close" beside an unexplained 0."""
    vs = decision.get("vs_pick_points") or {}
    penalty = decision.get("penalty_points") or {}
    width, best = decision["close_call_width_points"], rec.label(rec.best)
    top = decision.get("top") or rec.best  # the best expected feasible option: penalties are for the gap to it

    def scored(o: str) -> str:
        return f"{rec.label(o)} {rec.option(o).score:.0f}"

    # Classified on the unrounded difference, with a level band where it prints as 0.0: "-0.0 points below" was
    # a slightly positive difference said as a deficit.
    # Each group listed in the order of its range ("prompt tuning, prefix tuning ... 7.7-11.4 points below" named
    # them opposite to it: a review, 2026-12-05).
    close = sorted(close, key=lambda o: abs(vs.get(o, 0.0)))
    level = [o for o in close if abs(vs.get(o, 0.0)) < 0.05]
    below = [o for o in close if vs.get(o, 0.0) <= -0.05]
    above = [o for o in close if vs.get(o, 0.0) >= 0.05]
    def lost(group: list[str]) -> str:
        # Expected level or above the pick, yet counted below it once their wider error is allowed for: said so,
        # never "lost on the table's other factors" beside a score the measured part took to 0 (the headline's
        # criterion, recommend.not_picked_because).
        own = [o for o in group if not_picked_because(decision, o) == "error"]
        if not own:
            return "lost on the decision table's other factors"
        judged = (f"judged below it once {'its' if len(own) == 1 else 'their'} wider error is allowed for (scores "
                  f"{', '.join(scored(o) for o in own)} against {rec.option(rec.best).score:.0f})")
        if len(own) == len(group):
            return judged
        return f"lost on the decision table's other factors or, for {', '.join(rec.label(o) for o in own)}, {judged}"

    parts = []
    if level:
        parts.append(f"{', '.join(rec.label(o) for o in level)} {'is' if len(level) == 1 else 'are'} expected level "
                     f"with {best} (under 0.1 points apart) and {lost(level)}")
    if below:
        counted = [o for o in below if penalty.get(o, 0.0) > 0]
        # What the penalty did to the shown score, never its raw size: "2165 off" on a 0-100 scale read as more
        # certainty than a difference within one standard deviation holds (a review, 2026-12-05). A score taken
        # to 0 is said by the scores themselves.
        offs = [f"{penalty[o]:.0f} off {rec.label(o)}" for o in counted if rec.option(o).score > 0.5]
        offs += [f"{penalty[rec.best]:.0f} off {best}"] if penalty.get(rec.best, 0.0) > 0 else []
        parts.append(f"{', '.join(rec.label(o) for o in below)} {'is' if len(below) == 1 else 'are'} expected "
                     f"{_points_range([-vs.get(o, 0.0) for o in below])} below {best}, less than one standard "
                     f"deviation of a between-option difference in our evaluation ({width} points)"
                     + (f"; the decision takes points off for the part of {'its' if len(counted) == 1 else 'their'} "
                        f"difference to {rec.label(top)}"
                        # The decision measures each option from the one expected highest, which need not be the
                        # pick ("difference to full fine-tuning" beside a LoRA pick read as a slip; a review).
                        + (", the option expected highest," if top != rec.best else "")
                        + " beyond the margin ("
                        + (", ".join(offs) + "; " if offs else "")
                        + f"scores {', '.join(scored(o) for o in counted)} against {rec.option(rec.best).score:.0f})"
                        if counted else ""))
    if above:
        parts.append(f"{', '.join(rec.label(o) for o in above)} {'is' if len(above) == 1 else 'are'} expected "
                     f"{_points_range([vs[o] for o in above])} above {best}, also less than one standard deviation "
                     f"({width} points), and {lost(above)}")
    chance = [f"{rec.label(o)} {chance_text(rec, o)}" for o in close if chance_text(rec, o)]
    return ("Close call: " + "; ".join(parts) + "." + (f" The chance that each is at least as accurate as {best}: "
            + ", ".join(chance) + "." if chance else "") + " A measurement on your data could reverse it.")


def _points_range(values: list[float]) -> str:
    lo, hi = min(values), max(values)
    return f"{lo:.1f} points" if round(lo, 1) == round(hi, 1) else f"{lo:.1f}-{hi:.1f} points"


def _pilot_time(advice: str) -> str:
    """The measured duration of the quick pilot, when the advice proposes it (issue 22: say how long a step takes)."""
    note = pilot_quick_note() if "pilot --quick" in advice else ""
    return f" ({note})" if note else ""


def vs_column_name(rec: Recommendation) -> str:
    """The ranking table's column of each option's difference to full fine-tuning, named as the answer names it."""
    return f"vs {rec.label('full_finetuning')} [10-90%], points"


CHANCE_COLUMN = "chance as accurate as the pick"
CHANCE_NOTE = ("the chance each option is at least as accurate as the pick, from the expected difference and its "
               "error (the in-store error of a predicted difference, widened with the distance from the evidence). "
               "The score is the expected-value judgement; an option scored 0 may still have a fair chance.")


def below_chance_note(rec: Recommendation) -> str | None:
    """Why an interval may reach below guessing, said where one does (a review, 2026-12-05: "0.571 [0.35-0.74]" on a
    binary task with no word on it): one sentence for the CLI, the page and the Markdown."""
    p = rec.profile
    if getattr(p, "task_kind", "classification") != "classification":
        return None
    guess = 1.0 / max(p.num_classes, 1)
    if not any(r.expected_accuracy and r.expected_accuracy["low"] < guess for r in rec.ranking if r.feasible):
        return None
    return (f"Guessing scores {guess:.2f} with {p.num_classes:,} classes: no expected accuracy is below it, but a "
            "10% end may be — a training run can collapse to the commonest class, and on an imbalanced task the "
            "score is macro-F1, which then falls below guessing (some of our measured runs did).")


def chance_text(rec: Recommendation, option: str) -> str | None:
    """The chance `option` is at least as accurate as the pick (advisor.decision.chance_as_accurate), as the table,
    the CLI and the close-call sentence show it: "pick" for the pick, None where there is none (infeasible)."""
    chances = (rec.extra.get("decision") or {}).get("chance_vs_pick") or {}
    if option == rec.best:
        return "pick" if chances else None
    c = chances.get(option)
    if c is None:
        return None
    return chance_percent(c)


def ranking_rows(rec: Recommendation) -> list[dict[str, Any]]:
    """The ranking as the page's table, the Markdown report and the CSV download all show it: one row per option,
    one computation (an infeasible option has no score anywhere; the JSON says None)."""
    weights = rec.profile.model_access == "weights"
    vs_column = vs_column_name(rec)
    rows = []
    for r in rec.ranking:
        c, e = r.cost, r.expected_accuracy
        vs = vs_full_finetuning(rec, r)
        rows.append({
            "rank": r.rank, "option": rec.label(r.option),
            "score": round(r.score, 1) if r.feasible else None,
            "feasible": "yes" if r.feasible else "no",
            "expected accuracy [10-90%]": format_accuracy(e),
            CHANCE_COLUMN: chance_text(rec, r.option),
            vs_column: f"{vs[0]} {vs[1]}" if vs else None,
            "basis": (e or {}).get("provenance", {}).get("kind", ""),
            # Through an API the provider's hardware trains and serves: no GPU time, memory or configuration of
            # the user's to show (a hosted model's prompt said "4-bit weights"; blocked options "8.5 days").
            # An option that cannot run has no cost of any kind here, time included (it showed 7.4 h beside a cost
            # of "—"; a review, 2026-12-05).
            "training time": human_duration(c.train_hours) if c.train_gpu_hours and weights and r.feasible else "—",
            # Its money at the GPU-hour price (advisor.costs.training_dollars; the plan's figure too).
            "training cost": dollars_range(*c.train_dollars) if c.train_dollars and r.feasible else "—",
            # Under a budget, the examples each option's figures are for (advisor.costs.estimate).
            "examples trained on": (f"{c.examples:,}" + (" (budget)" if budget_binds(c, rec.profile) else ""))
            if c.budget_examples is not None else "—",
            # API access: the provider's hardware holds the weights; there is no memory of yours to size.
            "memory GB per GPU": round(c.train_memory_gb, 1) if weights else None,
            "configuration": (c.configuration or "—") if weights else "—",
            # What the provider bills, for the job it runs (an option it does not offer has no bill).
            "provider cost": f"${c.provider_dollars:,.2f}" if c.provider_dollars is not None and r.feasible else None,
            # The provider stores what it trains, and a blocked option stores nothing (as the CLI shows it).
            "stored per task": format_bytes(c.storage_bytes_per_task)
            if r.feasible and (weights or not c.training_tokens) else "—",
            "extra inference tokens": c.extra_inference_tokens,
            "provider training tokens": f"{c.training_tokens:,}" if c.training_tokens and r.feasible else None,
            # The long reason goes last so it cannot push the cost columns off-screen.
            "why not feasible": r.why_not_feasible,
        })
    # The gap column only where an option was not measured here (it is the 10-90% interval of the difference the
    # decision rests on, free of the task's difficulty); left out the same way on the page and in the downloads.
    if rec.profile.budget_gpu_hours is None:  # the column only says something under a budget
        for row in rows:
            del row["examples trained on"]
    if not any(row[vs_column] for row in rows):
        for row in rows:
            del row[vs_column]
    if not (rec.extra.get("decision") or {}).get("chance_vs_pick"):  # rules only: no accuracies to be uncertain about
        for row in rows:
            del row[CHANCE_COLUMN]
    # A column with nothing in any row says nothing (memory through an API, provider figures with your own weights):
    # left out rather than shown as a column of blanks ("None" on the page).
    for column in ("memory GB per GPU", "provider cost", "provider training tokens"):
        if all(row[column] is None for row in rows):
            for row in rows:
                del row[column]
    return rows


def display_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows as the page's table shows them: a missing value in a text column reads "—", as in the Markdown, never
    Streamlit's grey "None" (a review, 2026-12-05); numeric columns keep None, so they still sort as numbers."""
    text = {k for k in (rows[0] if rows else {})
            if all(row[k] is None or isinstance(row[k], str) for row in rows)}
    return [{k: "—" if v is None and k in text else v for k, v in row.items()} for row in rows]


def _cell(v: Any) -> str:
    return "—" if v is None or v == "" else str(v).replace("|", "/")


def to_markdown(rec: Recommendation, evidence: list[dict[str, Any]] | None = None) -> str:
    rows = ranking_rows(rec)
    lines = ["# tuning-advisor recommendation", "", f"**{rec.summary()}**", "",
             f"Decision table {rec.table_version}; mode: {rec.mode}.", "", "## Ranking", ""]
    if rows:
        lines += ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        lines += ["| " + " | ".join(_cell(v) for v in row.values()) + " |" for row in rows]
        if CHANCE_COLUMN in rows[0]:
            lines += ["", f"*{CHANCE_COLUMN[0].upper() + CHANCE_COLUMN[1:]}*: {CHANCE_NOTE}"]
        below = below_chance_note(rec)
        if below:
            lines += ["", below]
    if rec.extra.get("basis"):
        lines += ["", f"**What the numbers rest on.** {rec.extra['basis']}"]
        lines += [f"- {line}" for line in basis_lines(rec)]
        if gap_line(rec):
            lines += ["", gap_line(rec)]
    decision = rec.extra.get("decision") or {}
    if decision:
        lines += ["", f"**How the pick is made.** {decision['rule']}."]
        if tie_sentence(rec):
            lines.append(tie_sentence(rec))
    lines += ["", "## Why"]
    for r in rec.ranking:
        lines += ["", f"### {rec.label(r.option)}"]
        lines += [f"- infeasible: {why}" for why in r.infeasible_reasons]
        lines += [f"- {'+' if x.direction == 'for' else '−'} **{factor_words(x.factor)}** (weight {x.weight:g}): {x.rationale} "
                  f"*Source: {x.source}*" for x in r.reasons[:4]]
    if evidence:
        lines += ["", "## Measured evidence (tasks most like yours)", ""]
        lines += [f"- {e['sentence']} ({e['backbone']})" for e in evidence]
    for title, items in (("Caveats", rec.caveats), ("What would change the answer", rec.counterfactuals)):
        if items:
            lines += ["", f"## {title}", ""] + [f"- {x}" for x in items]
    if rec.hybrids:
        lines += ["", "## Hybrids worth considering", ""] + [f"- **{h['name']}**: {h['rationale']}" for h in rec.hybrids]
    lines += ["", "## Your answers", "", "```yaml", rec.profile.to_yaml().rstrip(), "```", ""]
    return "\n".join(lines)


def vs_full_finetuning(rec: Recommendation, r: Any) -> tuple[str, str, bool] | None:
    """(point, '[low to high]', at the ceiling) of an option's difference to full fine-tuning, as every surface shows
    it (the CLI line, the page's table, the Markdown and CSV): both at the ceiling we allow where nothing was
    measured, their difference of 0 is the cap, not a finding (100k examples on 13B showed LoRA, prefix and prompt
    tuning "+0.0" beside full fine-tuning)."""
    from advisor.artifact import UNMEASURED_CEILING

    g = (r.expected_accuracy or {}).get("vs_full_finetuning")
    if not g:
        return None
    ft = rec.option("full_finetuning").expected_accuracy or {}
    at_cap = "point" in ft and min(r.expected_accuracy["point"], ft["point"]) >= UNMEASURED_CEILING - 1e-9
    # Prompting above the cap (its value where we measured: `_capped` 'edge') beside a full fine-tuning held at it:
    # the points' difference is the cap's, not a finding, and is said as such.
    point = ((f"{100 * g['point']:+.1f} (beside {rec.label('full_finetuning')} held at the ceiling: not a finding)"
              if _capped(r) == "edge" else
              "level (both at the ceiling)") if at_cap else
             "level" if abs(100 * g["point"]) < 0.05 else f"{100 * g['point']:+.1f}")
    return point, f"[{100 * g['low']:+.1f} to {100 * g['high']:+.1f}]", at_cap


def gap_line(rec: Recommendation) -> str | None:
    """Each option's difference to full fine-tuning at a model size we did not measure, with the size-and-data
    model's 10-90% interval (advisor.artifact `vs_full_finetuning`); None where nothing carries one."""
    from advisor.artifact import UNMEASURED_CEILING

    parts, capped, edge = [], [], []
    for r in rec.ranking:
        vs = vs_full_finetuning(rec, r)
        if vs:
            point, interval, at_cap = vs
            if at_cap:
                (edge if _capped(r) == "edge" else capped).append(rec.label(r.option))
            value, _, note = point.partition(" (")  # '+1.2 (...)' reads '+1.2 points (...)'
            unit = "" if value.startswith("level") else " points"
            parts.append(f"{rec.label(r.option)} {value}{unit}{' (' + note if note else ''} {interval}")
    if not parts:
        return None
    ft = rec.label("full_finetuning")
    cap = (f" {', '.join(capped + [ft])} {'are' if capped else 'is'} held at {UNMEASURED_CEILING:.2f}, the most we "
           "expect anywhere we did not measure"
           + (f" ({', '.join(edge)} keeps its value where we measured)" if edge else "")
           + ": between them the interval, not the point, is the comparison."
           if capped or edge else "")
    # Two figures answer two questions (a review, 2026-12-05: "-7.7 [-16.8 to -5.9]" beside a 33% chance): these
    # intervals are how the size-and-data model moves the gap to your size; the chance column adds how far a task
    # of yours may sit from ours (the in-store error of a difference), so it is the wider, and the one to act on.
    width = (rec.extra.get("decision") or {}).get("close_call_width_points")
    task = (" The chance of being as accurate as the pick, beside each score, adds how far your task may differ "
            f"from ours (one standard deviation of a difference between options, {width} points, in our "
            "evaluation), so its chances are wider than these intervals: read the chance for how sure the pick is."
            if width and (rec.extra.get("decision") or {}).get("chance_vs_pick") else "")
    return (f"Difference to {ft} at your model and data size, 10-90% (from the size-and-data model; "
            "narrower than the accuracies above, which also carry how hard your unmeasured task is): "
            + "; ".join(parts) + "." + cap + task)
