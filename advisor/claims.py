"""The claims audit: each belief the decision table relies on, tested against measured runs.

Each claim compares two methods on *matched* runs (same backbone, task, train size, seed) of the one results
view (`bench.results.runs_view`: accuracy, macro-F1 on the imbalanced tasks, exact match on generation) and
counts how often the claim holds. Verdict: supported when it holds in >= 75% of the
matched comparisons, contradicted when in <= 25%, mixed in between, and "not testable here"
with fewer than 3 comparisons. Every line cites the numbers and the run files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

MIN_CELLS = 3
# Decision-table rules (data/decision_table.yaml ids) resting on each claim.
CLAIM_RULES: dict[str, tuple[str, ...]] = {
    "Prompt tuning needs less compute than full fine-tuning": ("compute.minimal", "compute.low"),
    "Prompt tuning needs less memory than full fine-tuning": ("compute.minimal", "compute.low"),
    "With little data (n <= 64) prompt tuning beats full fine-tuning": ("data.few",),
    # The table puts prefix tuning at 0 and LoRA at -1 under 100 examples (data.few): a preference this tests.
    "With little data (n <= 64) prefix tuning beats LoRA": ("data.few",),
    "With more data (n >= 256) full fine-tuning beats prompt tuning": ("data.thousands", "data.large"),
    "On simple tasks prompt tuning is within 2 points of full fine-tuning": ("complexity.simple",),
    "On complex tasks full fine-tuning beats prompt tuning": ("complexity.complex",),
    "Full fine-tuning reaches higher accuracy than LoRA": ("goal.critical",),
    "Prompt tuning overfits less than full fine-tuning": ("overfitting.high", "overfitting.medium"),
    "Full fine-tuning forgets more than LoRA": ("preserve.yes",),
    "Soft prompts beat hand-written prompts": ("complexity.moderate", "data.hundreds"),
    "A soft prompt is far smaller to store than a LoRA adapter": ("tasks.many",),
    "Switching tasks is cheaper with prompts: less to swap than a fine-tuned model": ("tasks.several", "iteration.fast"),
    "Soft prompts are not human-readable": (),  # an interpretability caveat; no table rule rests on it
}
READABLE_SHARE = 0.5  # a prompt is "not readable" when most of its virtual tokens sit off the vocabulary


@dataclass
class ClaimResult:
    claim: str
    table_rows: str
    test: str
    verdict: str
    holds: int
    cells: int
    numbers: str
    runs: list[str] = field(default_factory=list)
    rules: tuple[str, ...] = ()  # decision-table rules that rest on the claim
    table_action: str = ""  # what the table did about the verdict

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _pairs(df: Any, a: str, b: str) -> Any:
    keys = ["backbone", "task", "train_size", "seed"]
    left = df[df.method == a].set_index(keys)
    right = df[df.method == b].set_index(keys)
    return left.merge(right, left_index=True, right_index=True, suffixes=("_a", "_b"), how="inner").reset_index()


def _verdict(holds: int, n: int) -> str:
    if n < MIN_CELLS:
        return "not testable here"
    share = holds / n
    return "supported" if share >= 0.75 else "contradicted" if share <= 0.25 else "mixed"


def _compare(df: Any, claim: str, rows: str, a: str, b: str, column: str, better: Callable[[Any, Any], Any],
             unit: str, test: str, where: Callable[[Any], Any] | None = None) -> ClaimResult:
    pairs = _pairs(df, a, b)
    if where is not None and len(pairs):
        pairs = pairs[where(pairs)]
    pairs = pairs.dropna(subset=[f"{column}_a", f"{column}_b"])
    holds = int(better(pairs[f"{column}_a"], pairs[f"{column}_b"]).sum()) if len(pairs) else 0
    n = len(pairs)
    numbers = (f"{a} median {pairs[f'{column}_a'].median():.4g} vs {b} {pairs[f'{column}_b'].median():.4g} {unit}; "
               f"holds in {holds}/{n} matched cells") if n else "no matched cells yet"
    if n and pairs.backbone.nunique() > 1:  # a pooled verdict can hide a backbone where it goes the other way
        per = [f"{bb} {int(better(g[f'{column}_a'], g[f'{column}_b']).sum())}/{len(g)}"
               for bb, g in pairs.groupby("backbone")]
        numbers += f" ({', '.join(per)})"
    runs = sorted(pairs.path_a.tolist() + pairs.path_b.tolist())[:6] if n else []
    return ClaimResult(claim, rows, test, _verdict(holds, n), holds, n, numbers, runs)


def _soft_prompt_readability(df: Any) -> ClaimResult:
    """Per prompt-tuning run (its result file's metrics.prompt_readability, measured by bench after training):
    the claim holds when most virtual tokens are farther from every real token than 95% of real tokens are
    from their nearest other token (bench/methods/prompt_inspect.py)."""
    import json

    claim = "Soft prompts are not human-readable"
    rows = "extended: interpretability of soft prompts (Lester et al. 2021 section 7)"
    test = (f"share of virtual tokens whose max cosine to any vocabulary token is below the 5th percentile of "
            f"real tokens' nearest-neighbour cosine; holds when >= {READABLE_SHARE:.0%}")
    measured = []
    for path in df[df.method == "prompt_tuning"].path if len(df) else []:
        try:
            stats = json.loads(Path(path).read_text(encoding="utf-8")).get("metrics", {}).get("prompt_readability")
        except (OSError, ValueError):
            stats = None
        if stats:
            measured.append((path, stats))
    holds = sum(s["share_off_vocabulary"] >= READABLE_SHARE for _, s in measured)
    n = len(measured)
    if n:
        med = lambda key: float(np.median([s[key] for _, s in measured]))  # noqa: E731
        numbers = (f"median share off-vocabulary {med('share_off_vocabulary'):.2f}; virtual tokens' max cosine "
                   f"median {med('virtual_max_cos_median'):.3f} vs real tokens' nearest-neighbour "
                   f"{med('reference_max_cos_median'):.3f} (5th pct {med('reference_max_cos_p05'):.3f}); "
                   f"holds in {holds}/{n} prompt-tuning runs")
    else:
        numbers = "no prompt-tuning run with a saved prompt yet"
    return ClaimResult(claim, rows, test, _verdict(holds, n), holds, n, numbers, sorted(p for p, _ in measured)[:6])


def crossover(runs: Any, a: str = "prompt_tuning", b: str = "full_finetuning") -> dict[str, Any]:
    """Per task (`runs`: bench.results.runs_view): the smallest measured size at which `b` overtakes `a` (mean
    score over seeds)."""
    from bench.results import cells_view

    cells = cells_view(runs)
    out = {}
    for (backbone, task), g in cells[cells.method.isin([a, b])].groupby(["backbone", "task"]):
        curve = g.pivot_table(index="train_size", columns="method", values="score").dropna()
        if a in curve and b in curve and len(curve):
            over = curve.index[curve[b] > curve[a]]
            out[f"{backbone}/{task}"] = int(over.min()) if len(over) else None
    return out


def audit(runs: Any, table: Any = None) -> list[ClaimResult]:
    """Run every claim on the results (bench.results.runs_view: successful runs scored by their task's metric),
    linked to the table's rules."""
    from advisor.table import load_table

    table = table or load_table()
    ok = runs
    lesson = "Lesson 5: Prompt Tuning vs Fine-Tuning — row "
    lt, gt = (lambda x, y: x < y), (lambda x, y: x > y)
    small = lambda p: p.train_size <= 64  # noqa: E731
    large = lambda p: p.train_size >= 256  # noqa: E731
    out = [
        _compare(ok, "Prompt tuning needs less compute than full fine-tuning", lesson + "Computational Resources",
                 "prompt_tuning", "full_finetuning", "train_time_s", lt, "s", "train time, matched cells"),
        _compare(ok, "Prompt tuning needs less memory than full fine-tuning", lesson + "Computational Resources",
                 "prompt_tuning", "full_finetuning", "peak_rss_mb", lt, "MB", "peak RSS, matched cells"),
        _compare(ok, "With little data (n <= 64) prompt tuning beats full fine-tuning", lesson + "Data Availability",
                 "prompt_tuning", "full_finetuning", "score", gt, "score", "test score, n <= 64", small),
        _compare(ok, "With little data (n <= 64) prefix tuning beats LoRA",
                 "extended: data.few (prefix tuning 0, LoRA -1 under 100 examples)", "prefix_tuning", "lora", "score",
                 gt, "score", "test score, n <= 64", small),
        _compare(ok, "With more data (n >= 256) full fine-tuning beats prompt tuning", lesson + "Data Availability",
                 "full_finetuning", "prompt_tuning", "score", gt, "score", "test score, n >= 256", large),
        _compare(ok, "On simple tasks prompt tuning is within 2 points of full fine-tuning", lesson + "Task Complexity",
                 "prompt_tuning", "full_finetuning", "score", lambda x, y: x >= y - 0.02, "score",
                 "test score on tasks declared simple", lambda p: p.complexity_a.eq("simple")),
        _compare(ok, "On complex tasks full fine-tuning beats prompt tuning", lesson + "Task Complexity",
                 "full_finetuning", "prompt_tuning", "score", gt, "score",
                 "test score on tasks declared complex", lambda p: p.complexity_a.eq("complex")),
        _compare(ok, "Full fine-tuning reaches higher accuracy than LoRA", lesson + "Performance Goal",
                 "full_finetuning", "lora", "score", gt, "score", "test score, matched cells"),
        _compare(ok, "Prompt tuning overfits less than full fine-tuning", lesson + "Overfitting Risk",
                 "prompt_tuning", "full_finetuning", "overfitting_gap", lt, "train-test gap", "overfitting gap"),
        _compare(ok, "Full fine-tuning forgets more than LoRA", "extended: preserve_capabilities (Biderman et al. 2024)",
                 "full_finetuning", "lora", "forgetting", gt, "forgetting", "forgetting probe (README)"),
        _compare(ok, "Soft prompts beat hand-written prompts", "extended: prompt tuning vs prompt engineering",
                 "prompt_tuning", "prompt_engineering", "score", gt, "score", "test score, matched cells"),
        _compare(ok, "A soft prompt is far smaller to store than a LoRA adapter", "extended: num_tasks (storage per task)",
                 "prompt_tuning", "lora", "stored_bytes", lt, "bytes", "stored bytes per task"),
        _compare(ok, "Switching tasks is cheaper with prompts: less to swap than a fine-tuned model",
                 "extended: num_tasks, iteration_speed", "prompt_tuning", "full_finetuning", "stored_bytes",
                 lambda x, y: x * 100 < y, "bytes", "bytes to load per task switch (proxy; swap latency not measured)"),
        _soft_prompt_readability(ok),
    ]
    return [_table_action(r, table) for r in out]


def _table_action(result: ClaimResult, table: Any) -> ClaimResult:
    """Link a verdict to the rules resting on it and say what the table did about it."""
    rules = CLAIM_RULES.get(result.claim, ())
    revised = [r for r in table.rules if r.id in rules and r.revised and r.revised.get("claim") == result.claim]
    if revised:
        action = "table revised: " + "; ".join(_change(r) for r in revised)
    elif result.verdict == "contradicted":
        action = "CONTRADICTED BUT NOT YET REFLECTED IN THE TABLE"
    elif result.verdict == "mixed":
        action = "kept (mixed evidence; the learned model carries the measured differences)"
    elif result.verdict == "supported":
        action = "kept (supported)"
    else:
        action = "kept (not testable here yet)"
    result.rules, result.table_action = rules, action
    return result


def _change(rule: Any) -> str:
    was = rule.revised["was"]
    parts = []
    if float(was.get("weight", rule.weight)) != rule.weight:
        parts.append(f"weight {float(was['weight']):g} -> {rule.weight:g}")
    before = {o: float(v) for o, v in was.get("effects", {}).items()}
    parts += [f"{o} {before[o]:g} -> {v:g}" for o, v in rule.effects.items() if o in before and before[o] != v]
    return f"{rule.id} ({', '.join(parts) or 'unchanged'})"


def table_changes(table: Any) -> list[dict[str, str]]:
    """Every rule the audit changed: id, the change, the claim and the evidence."""
    return [{"rule": r.id, "change": _change(r), "claim": r.revised["claim"], "evidence": r.revised["evidence"]}
            for r in table.rules if r.revised]


def to_markdown(results: list[ClaimResult], cross: dict[str, Any], source: str, table: Any = None,
                protocols: dict[str, dict[str, Any]] | None = None) -> str:
    from advisor.table import load_table

    table = table or load_table()
    lines = ["# Claims audit", "", f"Measured runs from `{source}`. Verdict: supported >= 75% of matched "
             "comparisons, contradicted <= 25%, mixed between, not testable with fewer than 3.", ""]
    if protocols:
        from bench.results import protocols_text

        lines += ["Protocol per backbone (the audit never mixes protocols, like the calibration): "
                  + protocols_text(protocols), ""]
    lines += ["| claim | table row | verdict | numbers | decision table |", "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.claim} | {r.table_rows} | **{r.verdict}** | {r.numbers} | {r.table_action} |")
    changes = table_changes(table)
    lines += ["", f"## Decision-table changes made from this audit (table {table.version})", ""]
    lines += [f"- `{c['rule']}`: {c['change']} — claim \"{c['claim']}\": {c['evidence']}" for c in changes] or ["- none"]
    lines += ["", "## Crossover: smallest measured size where full fine-tuning overtakes prompt tuning", ""]
    lines += [f"- {k}: {'never in the measured sizes' if v is None else f'n = {v}'}" for k, v in sorted(cross.items())]
    lines += ["", "## Run references (first files per claim)", ""]
    for r in results:
        if r.runs:
            lines.append(f"- {r.claim}: " + ", ".join(f"`{Path(p).relative_to(Path(p).parents[3])}`" for p in r.runs[:4]))
    return "\n".join(lines) + "\n"


def summary_counts(results: list[ClaimResult]) -> dict[str, int]:
    return {v: int(np.sum([r.verdict == v for r in results]))
            for v in ("supported", "contradicted", "mixed", "not testable here")}
