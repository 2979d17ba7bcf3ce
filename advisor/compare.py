"""Two scenarios side by side: each profile's ranking, expected accuracy and cost for every option.

One function builds the comparison (`compare`), used by `advisor compare` and the app's Compare page, so both
show the same numbers: `recommend()`'s own, never recomputed here.
"""

from __future__ import annotations

from typing import Any

from advisor.costs import dollars_range, format_dollars, format_hours
from advisor.options import LABELS, OPTIONS
from advisor.profile import WEIGHTS_ONLY_FIELDS, ProjectProfile, field_names
from advisor.recommend import OptionResult, Recommendation, format_accuracy, recommend
from advisor.report import format_bytes


def _cell(r: OptionResult, weights: bool, label: str) -> dict[str, Any]:
    """One option's answer for one profile (the columns the comparison shows). With API access the provider's
    hardware holds the weights: there is no memory of yours to size (None), as on the answer page."""
    acc = r.expected_accuracy
    c = r.cost
    return {
        "label": label,  # as that answer names it: "the provider's fine-tuning API" for full fine-tuning via an API
        # The answer's own money figure (advisor.costs.training_dollars, or the provider's token bill): a price per
        # GPU-hour changed nothing visible here (a review, 2026-12-05).
        "train_dollars": list(c.train_dollars) if c.train_dollars and r.feasible else None,
        "provider_dollars": c.provider_dollars if r.feasible else None,  # a bill for what cannot run is no figure
        "rank": r.rank,
        "feasible": r.feasible,
        "score": round(r.score, 1),
        "expected_accuracy": ({"point": acc["point"], "low": acc["low"], "high": acc["high"]} if acc else None),
        "expected_accuracy_note": None if acc else r.expected_accuracy_note,
        # An option that cannot run has no cost here, as on the answer page (a review, 2026-12-05: Compare showed
        # GPU-hours and storage the page hid); through an API nothing of the user's trains.
        "train_gpu_hours": c.train_gpu_hours if r.feasible and weights else None,
        # The rows its time is for: all it would train on, or what a budget pays for (a review: under a budget
        # every option read "2" GPU-hours, and nothing said each trained on a different share of the data).
        "trains_on": c.examples if r.option != "prompt_engineering" and r.feasible else None,
        # The memory the option needs at its peak: training memory, or inference memory for prompting.
        "peak_memory_gb": c.train_memory_gb if weights else None,
        "storage_bytes_per_task": c.storage_bytes_per_task if r.feasible else None,
        "provider_training_tokens": c.training_tokens or None,
        "why_not_feasible": "" if r.feasible else (r.why_not_feasible or "infeasible"),
    }


def _side(name: str, rec: Recommendation) -> dict[str, Any]:
    return {"name": name, "best": rec.best, "best_label": rec.label(rec.best), "summary": rec.summary(),
            "mode": rec.mode, "profile": rec.profile.to_dict()}


def shown(value: Any) -> str:
    """A profile value as a reader says it: yes/no, "not set" — never Python's False or None."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return format_hours(value) if isinstance(value, float) else str(value)  # "1,000,000,000", never "1e+09"


def differences(a: ProjectProfile, b: ProjectProfile) -> list[dict[str, Any]]:
    """The profile fields whose values differ, in declaration order (what the two scenarios change). A GPU setting
    is compared only where both sides hold the weights: through an API it is an unasked default ("compute medium ->
    low" read as a choice; a review, 2026-12-05)."""
    da, db = a.to_dict(), b.to_dict()
    both = a.model_access == b.model_access == "weights"
    return [{"field": f, "a": da[f], "b": db[f]} for f in field_names()
            if da[f] != db[f] and (both or f not in WEIGHTS_ONLY_FIELDS)]


def compare(a: ProjectProfile | dict[str, Any], b: ProjectProfile | dict[str, Any],
            names: tuple[str, str] = ("A", "B"), *, calibration: Any = "auto") -> dict[str, Any]:
    """Both recommendations, option by option. Raises `ProfileError` for an invalid profile.

    Returns {"a": side, "b": side, "same_best": bool, "differences": [...], "options": [{option, label, a, b}]},
    each side with its name, best option, summary sentence, mode and profile; each option cell with rank,
    feasibility, score, expected accuracy (point, low, high) or why there is none, the rows trained on (None for
    prompting), GPU-hours, peak memory (None
    with API access), storage per task and the reason it is infeasible.
    """
    pa, pb = ProjectProfile.from_dict(a), ProjectProfile.from_dict(b)
    ra = recommend(pa, calibration=calibration)
    rb = recommend(pb, calibration=calibration)
    return {
        "a": _side(names[0], ra),
        "b": _side(names[1], rb),
        "same_best": ra.best == rb.best,
        "differences": differences(pa, pb),
        "options": [{"option": o, "label": LABELS[o],
                     "a": _cell(ra.option(o), pa.model_access == "weights", ra.label(o)),
                     "b": _cell(rb.option(o), pb.model_access == "weights", rb.label(o))} for o in OPTIONS],
    }


def accuracy_text(cell: dict[str, Any]) -> str:
    """'0.812 [0.74-0.87]', or 'n/a' when the answer is rules-only (no calibration)."""
    e = cell["expected_accuracy"]
    return format_accuracy(e)


def money_text(cell: dict[str, Any]) -> str:
    """Training money as the answer says it: the GPU-hours at their price, or the provider's bill; "—" for none."""
    if cell["train_dollars"]:
        return dollars_range(*cell["train_dollars"]).replace("about ", "")
    if cell["provider_dollars"] is not None:
        return format_dollars(cell["provider_dollars"])
    return "—"


def to_text(result: dict[str, Any]) -> str:
    """The comparison as aligned plain text (the CLI's output)."""
    a, b = result["a"], result["b"]
    lines = [f"A: {a['name']}", f"   {a['summary']}", f"B: {b['name']}", f"   {b['summary']}", ""]
    lines.append(f"Top pick: A → {a['best_label']}; B → {b['best_label']}"
                 + (" (the same)" if result["same_best"] else " (they differ)"))
    if result["differences"]:
        lines.append("What differs: " + "; ".join(f"{d['field']} {shown(d['a'])} → {shown(d['b'])}" for d in result["differences"]))
    else:
        lines.append("What differs: nothing — the two profiles are identical.")
    lines.append("")
    head = (f"{'rank':>4} {'feasible':<8} {'expected acc [10-90%]':<22}{'trains on':>10}{'GPU-h':>9}{'money':>13}"
            f"{'peak mem':>11}{'stored':>10}")
    lines.append(f"{'':<22}| {'A':<{len(head)}} | B")
    lines.append(f"{'option':<22}| {head} | {head}")

    def cols(c: dict[str, Any]) -> str:
        stored = format_bytes(c["storage_bytes_per_task"]) if c["storage_bytes_per_task"] is not None else "—"
        hours = f"{c['train_gpu_hours']:>9.3g}" if c["train_gpu_hours"] is not None else f"{'—':>9}"
        mem = f"{c['peak_memory_gb']:>9.1f}GB" if c["peak_memory_gb"] is not None else f"{'provider':>11}"
        rows = f"{c['trains_on']:,}" if c["trains_on"] is not None else "—"
        return (f"{c['rank']:>4} {'yes' if c['feasible'] else 'NO':<8} {accuracy_text(c):<22}{rows:>10}"
                f"{hours}{money_text(c):>13}{mem}{stored:>10}")

    for row in result["options"]:
        lines.append(f"{row['option']:<22}| {cols(row['a'])} | {cols(row['b'])}")
    named = [f"{side} {row['option']} is {row[key]['label']}" for row in result["options"]
             for side, key in (("A", "a"), ("B", "b")) if row[key]["label"] != row["label"]]
    if named:
        lines += [""] + [f"{n} (its money is the provider's bill)." for n in named]
    notes = [f"{side} {row['option']}: {row[key]['why_not_feasible']}" for row in result["options"]
             for side, key in (("A", "a"), ("B", "b")) if not row[key]["feasible"]]
    if notes:
        lines += ["", "Not feasible:"] + [f"  {n}" for n in notes]
    return "\n".join(lines)


def table_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per option with A/B columns side by side (the app's Compare table)."""
    columns = {  # shown name -> the cell's value; A and B of each measure sit next to each other
        "rank": lambda c: c["rank"],
        "feasible": lambda c: "yes" if c["feasible"] else "no",
        "expected accuracy": accuracy_text,
        "trains on": lambda c: "—" if c["trains_on"] is None else c["trains_on"],
        "GPU-hours": lambda c: "—" if c["train_gpu_hours"] is None else round(c["train_gpu_hours"], 4),
        "training money": money_text,
        "peak memory GB": lambda c: "—" if c["peak_memory_gb"] is None else round(c["peak_memory_gb"], 1),
        "stored per task": lambda c: "—" if c["storage_bytes_per_task"] is None else
        format_bytes(c["storage_bytes_per_task"]),
    }
    return [{"option": row["label"],
             **{f"{side.upper()} {name}": value(row[side]) for name, value in columns.items() for side in ("a", "b")}}
            for row in result["options"]]
