"""`bench report`: REPORT.md + PNG charts from the result store (torch-free; matplotlib Agg).

Per task and backbone: accuracy vs train size per method (learning curves), accuracy vs
train time and vs stored bytes (Pareto), and overfitting gap and forgetting per method.
Every number comes from the result files; the report lists which cells exist.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.results import DEFAULT_RESULTS_DIR, cells_view, flagged_lines, load, runs_view, safe_name

METHOD_ORDER = ("prompt_engineering", "linear_probe", "prompt_tuning", "prefix_tuning", "lora", "full_finetuning")


def _plots(cells: Any, backbone: str, task: str, out_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = cells[(cells.backbone == backbone) & (cells.task == task)]
    metric = str(curves.metric.iloc[0]).replace("_", " ")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for method in [m for m in METHOD_ORDER if m in set(curves.method)]:
        c = curves[curves.method == method].sort_values("train_size")
        axes[0].errorbar(c.train_size, c.score, yerr=c.score_sd.fillna(0), marker="o", capsize=3, label=method)
        axes[1].scatter(c.train_time_s.clip(lower=1e-2), c.score, label=method)
        axes[2].scatter(c.stored_bytes.clip(lower=1), c.score, label=method)
    axes[0].set(xscale="log", xlabel="training examples", ylabel=f"test {metric}", title="learning curves")
    sizes = sorted(int(n) for n in curves.train_size.unique())
    axes[0].set_xticks(sizes, [str(n) for n in sizes])  # the measured sizes, not 2x10^1-style minor labels
    axes[0].minorticks_off()
    axes[1].set(xscale="log", xlabel="train time (s)", ylabel=f"test {metric}", title=f"{metric} vs train time")
    axes[2].set(xscale="log", xlabel="stored bytes per task", ylabel=f"test {metric}", title=f"{metric} vs storage")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{backbone} / {task}")
    fig.tight_layout()
    name = f"{safe_name(backbone)}__{safe_name(task)}.png"
    fig.savefig(out_dir / name, dpi=80)
    plt.close(fig)
    return [name]


def _gap_forgetting_plot(df: Any, out_dir: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    agg = df.groupby(["backbone", "method"], as_index=False).agg(
        gap=("overfitting_gap", "mean"), forgetting=("forgetting", "mean"))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, col, title in ((axes[0], "gap", "overfitting gap (train - test accuracy)"),
                           (axes[1], "forgetting", "forgetting (see README)")):
        labels = [f"{r.backbone}\n{r.method}" for r in agg.itertuples()]
        ax.bar(range(len(agg)), agg[col].fillna(0))
        ax.set_xticks(range(len(agg)), labels, rotation=60, fontsize=7, ha="right")
        ax.set_title(title)
    fig.tight_layout()
    name = "gap_forgetting.png"
    fig.savefig(out_dir / name, dpi=80)
    plt.close(fig)
    return name


def _budgets(ok: Any) -> dict[tuple[str, tuple], int]:
    """(backbone, (batch, min steps, max steps, test cap)) -> number of runs, from each run's recorded protocol.

    Prompt engineering trains nothing, so its step settings are not part of the budget it ran under.
    """
    from collections import Counter

    from bench.results import read_result

    counts: Counter = Counter()
    for r in ok[ok.method != "prompt_engineering"].itertuples():
        proto = (read_result(r.path) or {}).get("config", {}).get("protocol", {})
        counts[(r.backbone, tuple(proto.get(k, "?") for k in ("batch_size", "min_steps", "max_steps", "test_cap")))] += 1
    return dict(sorted(counts.items()))


MAX_LISTED = 50  # failed or flagged files listed by name in REPORT.md
ERROR_CHARS = 200


def _one_line(text: Any) -> str:
    t = " ".join(str(text).split())
    return t if len(t) <= ERROR_CHARS else t[:ERROR_CHARS - 3] + "..."


def _rel(path: Any, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return str(path)


def _flagged_section(invalid: list, root: Path) -> list[str]:
    """The files every reader set aside (invalid, foreign or out of layout): name + reason, capped."""
    if not invalid:
        return []
    return (["", "## Flagged files (not used)", "", f"{len(invalid)} file(s) in this folder are not used by any "
             "reader: invalid, naming a backbone/task/seed we do not know, or outside the layout.", ""]
            + [f"- {_one_line(line)}" for line in flagged_lines(invalid, root, limit=MAX_LISTED)])


def write_report(results_dir: str | Path = DEFAULT_RESULTS_DIR) -> Path:
    """Write REPORT.md and charts into `results_dir`; returns the report path."""
    root = Path(results_dir)
    df, invalid = load(root, include_failed=True, return_invalid=True)
    flagged = _flagged_section(invalid, root)
    ok = runs_view(df)  # successful runs, scored by their task's metric (bench.results: the one results view)
    out = root / "REPORT.md"
    lines = ["# Benchmark report", "", "Generated by `bench report` from the result files in this folder; "
             "every number below is a measured run (mean over seeds where several exist), in the task's own metric: "
             "accuracy, macro-F1 for the imbalanced tasks, exact match for generation.", ""]
    if ok.empty:
        lines.append("No successful runs yet.")
        out.write_text("\n".join(lines + flagged) + "\n", encoding="utf-8")
        return out
    failed = df[df.status != "ok"]
    cells = cells_view(ok)
    lines += [f"{len(ok)} successful runs, {len(failed)} failed.", "", "## Which cells exist", "",
              "| backbone | task | method | sizes (seeds) |", "|---|---|---|---|"]
    for (b, t, m), g in ok.groupby(["backbone", "task", "method"]):
        sizes = ", ".join(f"{n} ({len(gg)})" for n, gg in g.groupby("train_size"))
        lines.append(f"| {b} | {t} | {m} | {sizes} |")
    lines += ["", "## Budget per backbone", "", "Within a backbone every method of a cell gets the same budget; "
              "the slower causal LM runs under a smaller step cap and test subset (recorded in each run's config).",
              "", "| backbone | batch | min steps | max steps | test cap | runs |", "|---|---|---|---|---|---|"]
    for (b, budget), n in _budgets(ok).items():
        lines.append(f"| {b} | " + " | ".join(str(v) for v in budget) + f" | {n} |")
    for (b, t), g in cells.groupby(["backbone", "task"]):
        lines += ["", f"## {b} / {t} (test {g.metric.iloc[0].replace('_', ' ')})", ""]
        pivot = g.pivot_table(index="method", columns="train_size", values="score")
        pivot = pivot.reindex([m for m in METHOD_ORDER if m in pivot.index])
        sizes = list(pivot.columns)
        lines += ["| method | " + " | ".join(f"n={s}" for s in sizes) + " | mean train s | stored bytes |",
                  "|---|" + "---|" * (len(sizes) + 2)]
        for method, row in pivot.iterrows():
            mg = g[g.method == method]
            lines.append(f"| {method} | " + " | ".join("" if row[s] != row[s] else f"{row[s]:.3f}" for s in sizes)
                         + f" | {mg.train_time_s.mean():.1f} | {mg.stored_bytes.median():,.0f} |")
        for name in _plots(cells, b, t, root):
            lines += ["", f"![{b} {t}]({name})"]
    lines += ["", "## Overfitting gap and forgetting per method", "",
              "| backbone | method | overfitting gap | forgetting |", "|---|---|---|---|"]
    for (b, m), g in ok.groupby(["backbone", "method"]):
        lines.append(f"| {b} | {m} | {g.overfitting_gap.mean():.3f} | "
                     f"{'' if g.forgetting.isna().all() else format(g.forgetting.mean(), '.4f')} |")
    lines += ["", f"![gap and forgetting]({_gap_forgetting_plot(ok, root)})"]
    if not failed.empty:
        # One line per failed run, its error cut to ERROR_CHARS and the list to MAX_LISTED: a run that failed with
        # a 4 MB error made REPORT.md 4 MB.
        lines += ["", "## Failed runs", ""] + [f"- {_rel(r.path, root)}: {_one_line(r.error)}"
                                                for r in list(failed.itertuples())[:MAX_LISTED]]
        if len(failed) > MAX_LISTED:
            lines.append(f"- ... and {len(failed) - MAX_LISTED} more (bench status lists them all)")
    out.write_text("\n".join(lines + flagged) + "\n", encoding="utf-8")
    return out
