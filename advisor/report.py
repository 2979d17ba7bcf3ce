"""A Markdown report of a recommendation (the app's download, also usable from Python)."""

from __future__ import annotations

from typing import Any

from advisor.costs import human_duration, pilot_quick_note
from advisor.options import label
from advisor.recommend import Recommendation


def format_bytes(n: float) -> str:
    """1234567 -> '1 MB' (decimal units)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000:
            return f"{n:,.0f} {unit}"
        n /= 1000
    return f"{n:,.0f} PB"


def basis_lines(rec: Recommendation) -> list[str]:
    """Where each non-measured expected accuracy comes from (one line per option), for every front end."""
    out = []
    for r in rec.ranking:
        prov = (r.expected_accuracy or {}).get("provenance")
        if prov and prov["kind"] != "measured here":
            out.append(f"{label(r.option)}: {prov['kind']} — {prov['detail']}")
    return out


def tie_sentence(rec: Recommendation) -> str | None:
    """Which part of the answer decided and why, plus any close call and the cheap measurement that would settle
    it — one text for the CLI, the app and the Markdown download; None for a rules-only answer."""
    decision = rec.extra.get("decision") or {}
    if not decision.get("why"):
        return None
    text = decision["why"]
    close = decision.get("close_calls") or []
    if close:
        text += (f" Close call: {', '.join(label(o) for o in close)} within {decision['close_call_width_points']} "
                 f"points of {label(rec.best)} (one standard deviation of a between-option difference in our "
                 f"evaluation); {label(rec.best)} is the better bet.")
    if decision.get("settle_with"):
        text += f" To settle it, {decision['settle_with']}{_pilot_time(decision['settle_with'])}."
    return text


def _pilot_time(advice: str) -> str:
    """The measured duration of the quick pilot, when the advice proposes it (issue 22: say how long a step takes)."""
    note = pilot_quick_note() if "pilot --quick" in advice else ""
    return f" ({note})" if note else ""


def to_markdown(rec: Recommendation, evidence: list[dict[str, Any]] | None = None) -> str:
    lines = ["# tuning-advisor recommendation", "", f"**{rec.summary()}**", "",
             f"Decision table {rec.table_version}; mode: {rec.mode}.", "", "## Ranking", "",
             "| # | option | score | feasible | expected accuracy [10-90%] | basis | training time | memory per GPU | "
             "stored per task | extra tokens |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rec.ranking:
        c, e = r.cost, r.expected_accuracy
        acc = f"{e['point']:.3f} [{e['low']:.2f}-{e['high']:.2f}]" if e else "n/a"
        basis = (e or {}).get("provenance", {}).get("kind", r.expected_accuracy_note if not e else "")
        lines.append(f"| {r.rank} | {label(r.option)} | {r.score:.0f} | {'yes' if r.feasible else 'no'} | {acc} | "
                     f"{basis} | {human_duration(c.train_gpu_hours) if c.train_gpu_hours else '—'} | "
                     f"{c.train_memory_gb:.1f} GB{' (' + c.configuration + ')' if c.configuration else ''} | "
                     f"{format_bytes(c.storage_bytes_per_task)} | {c.extra_inference_tokens} |")
    if rec.extra.get("basis"):
        lines += ["", f"**What the numbers rest on.** {rec.extra['basis']}"]
        lines += [f"- {line}" for line in basis_lines(rec)]
    decision = rec.extra.get("decision") or {}
    if decision:
        lines += ["", f"**How the pick is made.** {decision['rule']}."]
        if tie_sentence(rec):
            lines.append(tie_sentence(rec))
    lines += ["", "## Why"]
    for r in rec.ranking:
        lines += ["", f"### {label(r.option)}"]
        lines += [f"- infeasible: {why}" for why in r.infeasible_reasons]
        lines += [f"- {'+' if x.direction == 'for' else '−'} **{x.factor}** (weight {x.weight:g}): {x.rationale} "
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


def gap_line(rec: Recommendation) -> str | None:
    """Each option's difference to full fine-tuning at a model size we did not measure, with the size-and-data
    model's 10-90% interval (advisor.artifact `vs_full_finetuning`); None where nothing carries one."""
    parts = []
    for r in rec.ranking:
        g = (r.expected_accuracy or {}).get("vs_full_finetuning")
        if g:
            parts.append(f"{label(r.option)} {100 * g['point']:+.1f} points [{100 * g['low']:+.1f} to "
                         f"{100 * g['high']:+.1f}]")
    if not parts:
        return None
    return ("Difference to full fine-tuning at your model and data size, 10-90% (from the size-and-data model; "
            "narrower than the accuracies above, which also carry how hard your unmeasured task is): "
            + "; ".join(parts) + ".")
