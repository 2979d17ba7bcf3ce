"""A Markdown report of a recommendation (the app's download, also usable from Python)."""

from __future__ import annotations

from typing import Any

from advisor.options import label
from advisor.recommend import Recommendation


def format_bytes(n: float) -> str:
    """1234567 -> '1 MB' (decimal units)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000:
            return f"{n:,.0f} {unit}"
        n /= 1000
    return f"{n:,.0f} PB"


def to_markdown(rec: Recommendation, evidence: list[dict[str, Any]] | None = None) -> str:
    lines = ["# tuning-advisor recommendation", "", f"**{rec.summary()}**", "",
             f"Decision table {rec.table_version}; mode: {rec.mode}.", "", "## Ranking", "",
             "| # | option | score | feasible | train GPU-h | train memory | stored per task | extra tokens |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rec.ranking:
        c = r.cost
        lines.append(f"| {r.rank} | {label(r.option)} | {r.score:.0f} | {'yes' if r.feasible else 'no'} | "
                     f"{c.train_gpu_hours:.3g} | {c.train_memory_gb:.1f} GB | {format_bytes(c.storage_bytes_per_task)} | "
                     f"{c.extra_inference_tokens} |")
    lines += ["", "## Expected accuracy", ""]
    # `basis` and `decision` arrive with the calibrated recommender; absent in older answers.
    extra = rec.to_dict()
    basis = extra.get("basis")
    if basis:
        lines += [basis, ""]
    for r in rec.ranking:
        e = r.expected_accuracy
        if not e:
            lines.append(f"- {label(r.option)}: no estimate ({r.expected_accuracy_note})")
            continue
        prov = e.get("provenance") or {}
        where = f" — {prov.get('kind')}: {prov.get('detail', '')}".rstrip(": ") if prov else ""
        tied = " (tied)" if e.get("tied") else ""
        lines.append(f"- {label(r.option)}: {e['point']:.2f} (range {e.get('low', e['point']):.2f}–"
                     f"{e.get('high', e['point']):.2f}){tied}{where}. {r.expected_accuracy_note}")
    decision = extra.get("decision")
    if decision:
        lines += ["", f"Decision rule: {decision.get('rule', '')}"]
        if decision.get("tied"):
            lines.append(f"Tied: {', '.join(label(o) for o in decision['tied'])}; settle with: "
                         f"{decision.get('settle_with', '')}")
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
