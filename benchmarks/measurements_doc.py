"""Regenerate docs/measurements.md from the project's own sources (issue 24): no figure in it is typed by hand.

Every number in the document comes from one of:
  * the result store (data/results, read with `bench.results.load`, the loader `bench status` uses);
  * the served calibration (data/calibration/SERVED names its folder): its evaluation.md, calibration.json, and its
    promotion record in data/calibration/history.jsonl;
  * `advisor claims --no-write` (the claims audit, recomputed on the store; writes nothing);
  * the stdout of the benchmarks/*.py scripts that finish in seconds, embedded verbatim under their command.
The slow benchmarks (training runs, minutes each) only run with --all; by default their section names the command.

    make measurements                    # the default set (about a minute on 2 cores)
    make measurements ARGS=--all         # the slow benchmarks too (hours)
    .venv/bin/python benchmarks/measurements_doc.py [--out PATH] [--all | --skip-benchmarks]

It writes only the output file (docs/measurements.md or --out). Given the same store, calibration and code, the
output is the same apart from the header's date and commit and the timing figures the benchmarks print. A missing
or unreadable source stops it with one line naming the source, and the old document is left as it was.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `python benchmarks/measurements_doc.py` puts benchmarks/ first, not the repository

DEFAULT_OUT = ROOT / "docs" / "measurements.md"
RESULTS = ROOT / "data" / "results"
CAL_ROOT = ROOT / "data" / "calibration"
SHOWN_PYTHON = ".venv/bin/python"  # how commands are written in the document (what `make` runs)
FAST_TIMEOUT_S = 180  # the default benchmarks took 0.3-25 s each on the 2-core development machine under load
SLOW_TIMEOUT_S = 3600
# Operator overrides (and the test suite's rules-only defaults) must not reach the benchmarks this starts: the
# document describes the repository's own store and served calibration. In-process readers get explicit paths.
ENV_OVERRIDES = ("TUNING_ADVISOR_CALIBRATION", "TUNING_ADVISOR_RESULTS")


class SourceError(Exception):
    """A source is missing, unreadable or failed: one line, shown without a traceback."""


@dataclass(frozen=True)
class Bench:
    script: str
    args: tuple[str, ...] = ()
    slow: bool = False  # minutes of training: runs only with --all

    def argv(self, python: str) -> list[str]:
        return [python, str(ROOT / "benchmarks" / self.script), *self.args]

    def shown(self) -> str:
        return " ".join([SHOWN_PYTHON, f"benchmarks/{self.script}", *self.args])


# Which benchmark goes where. Fast = timed at 0.3-25 s each on the development machine; slow = trains models, starts
# pilots or corrupts copies of the store (minutes to an hour). The test checks that every script in benchmarks/ is classified here.
GRID_TIME = Bench("grid_time.py")
CONVERGENCE = Bench("convergence.py")
ANSWERS = Bench("answers_at_scale.py")
LATENCY = Bench("recommend_latency.py")
APP_FIRST = Bench("app_first_answer.py")
EVIDENCE_PAINT = Bench("evidence_first_paint.py")
PT_RECIPE = Bench("prompt_tuning_recipe.py", ("--summary-only",))  # without the flag it trains the missing cells
PT_RERUN = Bench("rerun_change.py", ("--change", "recipe"))
PROTOCOL_RERUN = Bench("rerun_change.py", ("--change", "protocol"))
MEMORY = Bench("memory_validation.py")
SLOW = (
    Bench("nonfinite_forward.py", slow=True),
    Bench("trial_speed.py", slow=True),
    Bench("dask_speedup.py", slow=True),
    Bench("prefix_init.py", slow=True),
    Bench("pilot_time.py", slow=True),
    Bench("fault_injection.py", slow=True),
)
FAST = (GRID_TIME, CONVERGENCE, ANSWERS, LATENCY, APP_FIRST, EVIDENCE_PAINT, PT_RECIPE, PT_RERUN, PROTOCOL_RERUN,
        MEMORY)
THIS_SCRIPT = Path(__file__).name


def shown_path(path: Path) -> str:
    """A path as the document and the messages show it: relative to the repository when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def log(message: str) -> None:
    print(f"measurements: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- small helpers


def md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def fenced(text: str) -> list[str]:
    body = text.rstrip().replace("```", "'''")  # a stray fence in a script's output must not end the block
    return ["```text", *[line.rstrip() for line in body.splitlines()], "```"]


def regenerate(command: str, how: str = "") -> str:
    return f"*Regenerate: `{command}`" + (f" ({how})" if how else "") + ".*"


def points(x: float) -> str:
    return f"{100 * x:.1f}"


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_OVERRIDES}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_command(argv: list[str], shown: str, timeout: int) -> str:
    """The command's stdout; a failure or timeout is a SourceError naming the command and its last line."""
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(argv, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SourceError(f"`{shown}` did not finish within {timeout} s") from None
    except OSError as e:
        raise SourceError(f"`{shown}` could not start: {e}") from None
    if proc.returncode != 0:
        tail = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-1]
        raise SourceError(f"`{shown}` failed (exit {proc.returncode}): {tail}")
    log(f"{shown}: {time.perf_counter() - t0:.1f} s")
    return proc.stdout


def git_line(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", "--no-optional-locks", *args], cwd=ROOT, capture_output=True, text=True,
                             timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def docstring_summary(script: str) -> str:
    """The first sentence of a benchmark's docstring: what it measures, in its author's words."""
    path = ROOT / "benchmarks" / script
    try:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    except (OSError, SyntaxError) as e:
        raise SourceError(f"benchmarks/{script} cannot be read: {e}") from None
    first = " ".join(doc.split("\n\n")[0].split())
    if not first:
        return "(no description)"
    sentence = re.split(r"(?<=[.?!])\s", first, maxsplit=1)[0]
    return sentence if sentence[-1] in ".?!" else sentence + "."


# ---------------------------------------------------------------- the sources, read once


@dataclass
class Sources:
    df: object  # bench.results.load(...): every valid record, failed ones included
    invalid: list
    runs: object  # runs_view: successful, scored runs
    kept: object  # one protocol per backbone (what the calibration fits)
    protocols: dict  # backbone -> {"protocol": version kept, "trained_runs": ..., "set_aside": {...}}
    served: Path
    calibration: dict
    evaluation_md: str
    history: list[dict]


def read_sources() -> Sources:
    import warnings

    from bench.refresh import history, served_dir
    from bench.results import InvalidResultWarning, load, one_protocol_per_backbone, runs_view

    if not RESULTS.is_dir():
        raise SourceError(f"no result store at {shown_path(RESULTS)}")
    with warnings.catch_warnings():  # invalid files are counted in the document instead
        warnings.simplefilter("ignore", InvalidResultWarning)
        df, invalid = load(RESULTS, return_invalid=True)
    if df.empty:
        raise SourceError(f"the result store {shown_path(RESULTS)} holds no valid runs")
    runs = runs_view(df)
    kept, protocols = one_protocol_per_backbone(runs)

    served = served_dir(CAL_ROOT)
    if served is None:
        raise SourceError(f"no served calibration: {shown_path(CAL_ROOT / 'SERVED')} is missing or names no "
                          "calibration folder")
    try:
        calibration = json.loads((served / "calibration.json").read_text(encoding="utf-8"))
        evaluation_md = (served / "evaluation.md").read_text(encoding="utf-8")
    except (OSError, ValueError) as e:
        raise SourceError(f"the served calibration folder {shown_path(served)} is incomplete: {e}") from None
    if not (CAL_ROOT / "history.jsonl").exists():
        raise SourceError(f"{shown_path(CAL_ROOT / 'history.jsonl')} is missing (the record of promotions)")
    return Sources(df, invalid, runs, kept, protocols, served, calibration, evaluation_md, history(CAL_ROOT))


def method_order() -> list[str]:
    from advisor.options import LABELS

    return list(LABELS)  # prompt engineering ... full fine-tuning: the order the advisor presents them in


def label(method: str) -> str:
    from advisor.options import LABELS

    return LABELS.get(method, method.replace("_", " "))


def seed_noise(kept) -> tuple[float, int]:
    """The seed noise (points) and how many cells have >= 2 seeds: advisor.evaluate.seed_noise, the one computation."""
    from advisor.evaluate import seed_noise as noise

    got = noise(kept)
    if got is None:
        raise SourceError("no cell in the store has two seeds: the seed noise cannot be computed")
    return got["mean_abs_seed_difference"], got["cells"]


# ---------------------------------------------------------------- benchmark blocks


class Runner:
    def __init__(self, mode: str):
        self.mode = mode  # "skip" | "default" | "all"

    def block(self, bench: Bench, title: str, keep=None, note: str = "") -> list[str]:
        """A heading with the command, then its stdout (or why it did not run)."""
        lines = [f"### {title}: `{bench.shown()}`", ""]
        if self.mode == "skip" or (bench.slow and self.mode != "all"):
            if self.mode == "skip":
                why, fill = "skipped in this generation (`--skip-benchmarks`)", "`make measurements`"
            else:
                why, fill = "not run by default (minutes)", "`make measurements ARGS=--all`"
            return lines + [f"Not run here: {why}. Run `{bench.shown()}` for its figures, or regenerate this file "
                            f"with {fill}.", ""]
        timeout = SLOW_TIMEOUT_S if bench.slow else FAST_TIMEOUT_S
        out = run_command(bench.argv(sys.executable), bench.shown(), timeout)
        if keep is not None:
            out = "\n".join(line for line in out.splitlines() if keep(line))
        if note:
            lines += [note, ""]
        return lines + fenced(out) + [""]


# ---------------------------------------------------------------- sections


def header(mode: str) -> list[str]:
    commit = git_line("rev-parse", "--short", "HEAD") or "unknown (not a git checkout)"
    dirty = git_line("status", "--porcelain", "--untracked-files=no")
    state = " (the working tree had uncommitted changes)" if dirty else ""
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    which = {"all": "every benchmark, the slow ones included (`ARGS=--all`)",
             "default": "the fast benchmarks (the slow ones are named, not run)",
             "skip": "no benchmarks (`--skip-benchmarks`)"}[mode]
    return [
        "# Measurements",
        "",
        "<!-- Generated by `make measurements` (benchmarks/measurements_doc.py). Do not edit by hand: change the "
        "script and rerun it. -->",
        "",
        f"> **Generated by `make measurements` — do not edit by hand.** Generated {when} at commit `{commit}`{state}; "
        f"ran {which}.",
        "",
        "Every figure below is computed when this file is generated: from the result store (`data/results`), the "
        "served calibration (`data/calibration/SERVED`), `advisor claims`, or the output of a script in "
        "`benchmarks/`, shown verbatim under the command that prints it. Timings depend on the machine and its "
        "load at the time. The headline numbers are in the [README](../README.md#measured-so-far).",
        "",
    ]


def section_store(src: Sources, runner: Runner) -> list[str]:
    from bench.results import read_result

    df, runs = src.df, src.runs
    lines = ["## The result store", "",
             regenerate("make measurements", "reads the result store; `.venv/bin/bench status` lists its cells"), "",
             "One record per run: a backbone, a task, a method, a training-set size *n* and a seed. A *cell* is "
             "a backbone, task, method and *n*; its seeds are repeated measurements of it.", ""]
    rows = []
    for backbone, g in sorted(df.groupby("backbone"), key=lambda kv: kv[0]):
        ok = g[g.status == "ok"]
        devices = ", ".join(f"{d} {n}" for d, n in sorted(g.device.fillna("unknown").value_counts().items()))
        versions = ", ".join(f"v{v} {n}" for v, n in sorted(g.protocol_version.value_counts().items()))
        rows.append([backbone, len(ok), int((g.status == "failed").sum()), ok.task.nunique(),
                     len(ok[["task", "method", "train_size"]].drop_duplicates()),
                     ", ".join(str(n) for n in sorted(ok.train_size.unique())),
                     ", ".join(str(s) for s in sorted(ok.seed.unique())), devices, versions])
    lines += md_table(["backbone", "successful runs", "failed records", "tasks", "cells", "sizes n", "seeds",
                       "device (records)", "protocol (records)"], rows)
    lines += ["", f"Invalid files skipped by every reader: {len(src.invalid)}.", ""]

    # Runs per size and seed: where the grid is complete and where it is not.
    seeds = sorted(runs.seed.unique())
    rows = []
    for (backbone, n), g in sorted(runs.groupby(["backbone", "train_size"]), key=lambda kv: kv[0]):
        counts = g.seed.value_counts()
        rows.append([backbone, n, *[int(counts.get(s, 0)) for s in seeds]])
    lines += ["Successful runs per training size and seed:", ""]
    lines += md_table(["backbone", "n", *[f"seed {s}" for s in seeds]], rows) + [""]

    failed = df[df.status == "failed"]
    if len(failed):
        kinds = failed.error.fillna("").map(lambda e: e.split(":")[0].strip()[:60] or "no message")
        groups = failed.assign(kind=kinds).groupby(["kind", "backbone", "method"]).size()
        parts = [f"{n} {kind} ({backbone}, {label(method)})" for (kind, backbone, method), n in sorted(groups.items())]
        lines += [f"Failed records: {len(failed)} — " + "; ".join(parts) + ". An *unsupported* record is written on "
                  "purpose when a method cannot run a task (an encoder cannot write text; a linear probe cannot "
                  "generate), so the grid knows the cell is settled.", ""]

    noise, n_cells = seed_noise(src.kept)
    lines += [f"**Seed noise.** Two seeds of the same cell differ by **{noise:.1f} points** on average (mean "
              f"absolute difference of the task's metric between two seeds, over the five options' {n_cells} cells "
              "with two or more seeds, one protocol "
              "per backbone as the calibration fits, on the store as it is now; the calibration's evaluation below "
              "states the same figure for the store it was fitted on). Differences smaller than this are not "
              "findings.", ""]

    # The per-method summary a reader looks for first. Means are over the same tasks for every method (the tasks
    # where all five were measured at that size): while a rerun is under way the methods cover different tasks, and
    # a mean over different tasks compares the tasks, not the methods. Each task's seeds are averaged first, so a
    # task measured with more seeds does not weigh more.
    methods = method_order()
    cls = src.kept[src.kept.task_kind == "classification"]
    lines += ["**Mean score per method and training size** (classification tasks measured with all five methods "
              "at that size; each task's own metric — accuracy, macro-F1 for the imbalanced ones — averaged over "
              "its seeds, then over the tasks):", ""]
    for backbone, g in sorted(cls.groupby("backbone"), key=lambda kv: kv[0]):
        per_task = g[g.method.isin(methods)].groupby(["train_size", "task", "method"]).score.mean().unstack("method")
        per_task = per_task.dropna()  # only tasks with every method at this size
        if per_task.empty or len(per_task.columns) < len(methods):
            continue
        rows = []
        for n, t in per_task.groupby(level="train_size"):
            rows.append([n, len(t), *[f"{t[m].mean():.3f}" for m in methods]])
        version = (src.protocols.get(backbone) or {}).get("protocol")
        title = f"*{backbone}*" + (f" (protocol v{version} runs)" if version is not None else "")
        lines += [title, ""] + md_table(["n", "tasks", *[label(m) for m in methods]], rows) + [""]

    # Trained runs on a causal backbone measured on the CPU rather than the GPU that measured the rest of its grid.
    trained = ~runs.method.isin(["prompt_engineering", "linear_probe"])
    cpu = runs[trained & (runs.device == "cpu") & (runs.task_kind == "classification")]
    gpu_backbones = set(runs[runs.device.fillna("").str.startswith("cuda")].backbone)
    cpu = cpu[cpu.backbone.isin(gpu_backbones)].sort_values(["backbone", "task", "train_size", "seed", "method"])
    if len(cpu):
        rows = []
        for r in cpu.itertuples():
            rec = read_result(r.path) or {}
            threads = (rec.get("env") or {}).get("threads")
            wall = rec.get("wall_time_s")
            rows.append([r.backbone, r.task, r.train_size, r.seed, label(r.method), f"{r.score:.3f}",
                         f"{wall / 60:.0f}" if wall else "—", threads if threads is not None else "—"])
        lines += ["**Trained classification runs measured on the CPU** (fp32) on a backbone whose other runs "
                  "came from a GPU: on the GPU these cells diverged under bf16 autocast at every learning rate, so "
                  "they were rerun on the CPU.", ""]
        lines += md_table(["backbone", "task", "n", "seed", "method", "score", "wall time (min)", "threads"], rows)
        lines += ["", "Whether the data of a diverged cell is itself the cause (the pristine model's forward pass "
                  "over its training set in fp32 and bf16): `.venv/bin/python benchmarks/nonfinite_forward.py`, "
                  "under *Slower benchmarks* below.", ""]

    lines += runner.block(GRID_TIME, "What the measured grid cost",
                          note="Per backbone, device and *n*: trials, mean wall time and optimizer steps per trial, "
                               "and the projected time of the runs still missing from the configured grids.")
    return lines


def section_generation(src: Sources) -> list[str]:
    from bench.tasks import load_task

    runs = src.runs
    gen = runs[runs.task_kind == "generation"]
    lines = ["## The generative task", "", regenerate("make measurements", "reads the result store"), ""]
    if gen.empty:
        return lines + ["The store holds no generation runs.", ""]
    noise, _ = seed_noise(src.kept)
    for (backbone, task), g in sorted(gen.groupby(["backbone", "task"]), key=lambda kv: kv[0]):
        try:
            spec = load_task(task)
            description = " ".join(spec.description.split())
        except Exception as e:  # noqa: BLE001 - a task file that will not load is a missing source
            raise SourceError(f"the task file of {task} cannot be read: {e}") from None
        metric = g.metric.iloc[0]
        lines += [f"**{task} on {backbone}** — {description}. Metric: {metric.replace('_', ' ')} on the test "
                  "split, each cell's value per seed.", ""]
        methods = [m for m in method_order() if m in set(g.method)]
        rows = []
        for n, gn in sorted(g.groupby("train_size"), key=lambda kv: kv[0]):
            seeds = sorted(gn.seed.unique())
            cells = []
            for m in methods:
                by_seed = dict(zip(gn[gn.method == m].seed, gn[gn.method == m].score))
                cells.append(" / ".join(f"{by_seed[s]:.3f}" if s in by_seed else "—" for s in seeds))
            rows.append([f"{n} (seed {' / '.join(str(s) for s in seeds)})", *cells])
        lines += md_table(["n", *[label(m) for m in methods]], rows) + [""]

        spreads = []
        for (n, seed), gs in sorted(g.groupby(["train_size", "seed"]), key=lambda kv: kv[0]):
            if gs.method.nunique() >= 2:
                spreads.append(f"n = {n} seed {seed}: {points(gs.score.max() - gs.score.min())}")
        lines += ["Largest difference between two methods (points): " + "; ".join(spreads) +
                  f". Compare the store's seed noise, {noise:.1f} points.", ""]

        devices = []
        for device, gd in sorted(g.groupby(g.device.fillna("unknown")), key=lambda kv: kv[0]):
            parts = []
            for m in methods:
                gm = gd[gd.method == m].sort_values(["train_size", "seed"])
                if len(gm):
                    parts.append(f"{label(m)} " + ", ".join(f"n = {n} s{s}" for n, s in zip(gm.train_size, gm.seed)))
            devices.append(f"{device}: " + "; ".join(parts))
        lines += ["Where each run was measured — " + ". ".join(devices) + ".", ""]

        # Prompt engineering picks its prompt variant on validation; every variant's test score is recorded.
        from bench.results import read_result

        pe = g[g.method == "prompt_engineering"].sort_values(["train_size", "seed"])
        records = [(r.train_size, r.seed, (read_result(r.path) or {}).get("metrics") or {}) for r in pe.itertuples()]
        variants = sorted({v for _, _, m in records for v in (m.get("variants") or {})})
        if variants:
            rows = []
            for n, seed, m in records:
                got = m.get("variants") or {}
                rows.append([n, seed, str(m.get("variant", "—")).replace("_", " "),
                             *[f"{got[v].get(metric, got[v].get('accuracy', float('nan'))):.3f}" if v in got else "—"
                               for v in variants]])
            lines += ["Prompt engineering's variants (test score of each; the run keeps the one best on "
                      "validation):", ""]
            lines += md_table(["n", "seed", "picked", *[v.replace("_", " ") for v in variants]], rows) + [""]
    return lines


def section_budget(runner: Runner) -> list[str]:
    from bench.protocol import Protocol

    p = Protocol()
    return [
        "## Step budget and early stopping", "",
        regenerate(CONVERGENCE.shown()), "",
        f"The protocol (version {p.version}) gives every trained method {p.epochs} epochs, at least {p.min_steps} "
        f"and at most {p.max_steps} optimizer steps, extended up to {p.extend_factor:g}x while validation still "
        f"improves; a validation check every {p.eval_every_fraction:.0%} of the budget; past the budget, a run stops "
        f"after {p.patience} checks without a gain. The smallest validation set has {p.val_min} examples, so "
        f"validation accuracy moves in steps of {100 / p.val_min:.1f} points there. *Cut off* = the run reached the "
        "step cap while its last check was still its best; *stopped flat* = it ended before its budget with its "
        "best check the first one (the stopping rule, not the method, ended it — version 1 only).", "",
        *runner.block(CONVERGENCE, "Per backbone, method and size"),
        *runner.block(PROTOCOL_RERUN, "The same cells under protocol v1 (read from git) and v2 (the store)"),
    ]


def _eval_part(md: str, pattern: str, what: str, served: Path) -> str:
    m = re.search(pattern, md, flags=re.S | re.M)
    if not m:
        raise SourceError(f"{shown_path(served / 'evaluation.md')} has no {what}")
    return m.group(0).strip()


def section_evaluation(src: Sources) -> list[str]:
    md, served, cal = src.evaluation_md, src.served, src.calibration
    name = served.name
    table = _eval_part(md, r"^\| strategy \|.*?(?=\n\s*\n)", "strategy table", served)
    targets = _eval_part(md, r"Targets:[^\n]*", "'Targets:' sentence", served)
    per_backbone = re.findall(r"^\*\*[^*]+\*\* \(\d+ cells\):[^\n]*", md, flags=re.M)
    noise = _eval_part(md, r"^Noise floor:[^\n]*", "'Noise floor' paragraph", served)
    floor = _eval_part(md, r"^Floor for regret:[^\n]*", "'Floor for regret' paragraph", served)
    # The chances shown beside each score against the held-out cells (calibrations from 20261205T044445Z on).
    chance = re.search(r"^\*\*The chance an option.*?(?=\n\s*\n[^|])", md, flags=re.S | re.M)

    def aside(p: dict) -> str:  # runs of another protocol in the snapshot, which this calibration does not fit
        return "".join(f"; {k} protocol-v{v} runs set aside" for v, k in sorted((p.get("set_aside") or {}).items()))

    protocols = "; ".join(f"{b}: protocol v{p.get('protocol')} ({p.get('trained_runs')} trained runs{aside(p)})"
                          for b, p in sorted((cal.get("protocols") or {}).items()))
    lines = [
        "## The advisor on task families it never saw", "",
        regenerate("make measurements", f"reads `data/calibration/{name}/evaluation.md`, which "
                   "`.venv/bin/advisor evaluate --write` wrote when the calibration was fitted; rerunning the "
                   "evaluation itself takes much longer"), "",
        f"Served calibration **{name}**, fitted {str(cal.get('created_at', 'at an unrecorded time'))[:10]} on "
        f"{cal.get('n_runs', '?')} runs ({protocols}). Nested leave-one-family-out: for each task family, everything "
        "learned from data (features, ridge penalty, the decision's weights) is chosen without that family, and the "
        "advisor's pick is scored against what was measured there. *Regret* = points lost against the measured best "
        "option; *within 1 point* = share of cells where the pick is at most 1 point below the best; *MAE* = error "
        "of the expected accuracy; *coverage* = share of measurements inside the 10–90% interval.", "",
        targets, "",
        table, "",
        *[line for pair in zip(per_backbone, [""] * len(per_backbone)) for line in pair],
        noise, "",
        floor, "",
        *([chance.group(0).strip(), ""] if chance else []),
    ]
    # The promotion record of the served calibration: which gates it passed, and any person's override.
    record = next((r for r in reversed(src.history) if r.get("calibration") == name and r.get("promoted")), None)
    if record and record.get("gates"):
        lines += [f"Promotion of {name} (`.venv/bin/bench history`), gates against the calibration served before:",
                  ""]
        lines += md_table(["gate", "value", "rule", "passed"],
                          [[g.get("gate"), g.get("value"), g.get("rule"), "yes" if g.get("passed") else "**no**"]
                           for g in record["gates"]]) + [""]
    overrides = [r for r in src.history if r.get("override")]
    for r in overrides[-1:]:
        o = r["override"]
        failed = ", ".join(f"{g.get('gate')} ({g.get('value')})" for g in o.get("failed_gates") or [])
        lines += [f"Latest promotion over a failed gate: {r.get('calibration')} on {str(r.get('started'))[:10]} "
                  f"(failed: {failed}), recorded with the reason: “{o.get('reason', '').strip()}”", ""]
    lines += [f"Per-cell picks and the feature selection: `data/calibration/{name}/evaluation.md`.", ""]
    return lines


def section_answers(runner: Runner) -> list[str]:
    ranking_row = re.compile(r"^\s+\d+\.\s")
    return [
        "## Answers at the sizes users adapt", "",
        regenerate(ANSWERS.shown()), "",
        "The example profiles (`data/examples`) and the cases users tried at 1–70B with few examples, answered by "
        "the served calibration: the pick, which part of the decision decided it, and what single change would "
        "change it.", "",
        *runner.block(ANSWERS, "The answers", keep=lambda line: not ranking_row.match(line),
                      note="Each option's ranking row (score, expected accuracy with its 10–90% interval, distance "
                           "from the evidence) is left out here; the command prints them."),
    ]


def section_serving(runner: Runner) -> list[str]:
    # Other work on the machine slows every timing: say how busy it was (not every script prints it).
    load = f"; 1-minute load average {os.getloadavg()[0]:.1f} when this section started" \
        if hasattr(os, "getloadavg") and runner.mode != "skip" else ""
    return [
        "## Serving speed", "",
        regenerate("make measurements"), "",
        f"Wall times on the machine that generated this file ({os.cpu_count()} cores{load}); other work on the "
        "machine slows every figure.", "",
        *runner.block(LATENCY, "`recommend()` warm and the CLI cold"),
        *runner.block(APP_FIRST, "The app's first answer on a fresh server"),
        *runner.block(EVIDENCE_PAINT, "The Evidence page's first paint"),
    ]


def section_generation_profiles(src: Sources) -> list[str]:
    from advisor.artifact import load_served
    from advisor.calibration import profile_for_cell

    cal = load_served(src.served / "calibration.json")
    if cal is None:
        from advisor.artifact import last_problem

        raise SourceError(f"the served calibration {src.served.name} cannot be loaded: {last_problem()}")
    gen = src.kept[src.kept.task_kind == "generation"]
    lines = ["## Generation profiles", "", regenerate("make measurements", "the served calibration against the store"), "",
             "What the served calibration expects for a generation task (exact match) on the backbone the "
             "generation runs used, at each measured size, against what was measured (mean over seeds); the profile "
             "is the cell's own (input length, complexity, model size), as the evaluation builds it.", ""]
    if gen.empty:
        return lines + ["The store holds no generation runs.", ""]
    rows, inside, total = [], 0, 0
    for (backbone, task, n), g in sorted(gen.groupby(["backbone", "task", "train_size"]), key=lambda kv: kv[0]):
        # The cell's own profile, as the evaluation builds it (input length, complexity, model size): a profile with
        # the default 64-token inputs described another task than en_fr_words' single words, and once the
        # calibration read input length it put every option at 0.000 there.
        expected = cal.expected(profile_for_cell(g.iloc[0]))
        for method in method_order():
            measured = g[g.method == method].score
            if measured.empty or method not in expected:
                continue
            e = expected[method]
            hit = e["low"] <= measured.mean() <= e["high"]
            inside += hit
            total += 1
            rows.append([f"{task} ({backbone})", n, label(method), f"{measured.mean():.3f}",
                         f"{e['point']:.3f} [{e['low']:.2f}–{e['high']:.2f}]", "yes" if hit else "**no**"])
    lines += md_table(["task", "n", "option", "measured", "expected [10–90%]", "inside"], rows)
    lines += ["", f"{inside} of {total} measured cells lie inside the calibration's 10–90% interval. One generation "
              "task is one point: another generation task (longer outputs, a model that knows the domain) may sit "
              "far from it, and the answer says so.", ""]
    return lines


def section_extrapolation(src: Sources) -> list[str]:
    md, served = src.evaluation_md, src.served
    part = _eval_part(md, r"^## Extrapolation of the size-and-data model\n.*?(?=^## |\Z)",
                      "'Extrapolation of the size-and-data model' section", served)
    body = part.split("\n", 1)[1].strip()
    s = src.calibration.get("scaling") or {}
    lines = ["## Extrapolation to larger models", "",
             regenerate("make measurements", f"reads `data/calibration/{served.name}/evaluation.md` and "
                        "calibration.json"), "",
             "The size-and-data model predicts each option's difference to full fine-tuning at sizes we did not "
             "run, from published comparisons and our two backbones. *Leave one source out*: every row of one "
             "paper (or one of our backbones) is predicted by a model fitted without it; *ordering right*: the share "
             "of option pairs put in the measured order.", "",
             body, ""]
    if "ft_slope_per_decade" in s:
        lines += [f"Full fine-tuning's own size law, learned inside {s.get('n_ft_settings', '?')} published settings "
                  f"at several sizes ({s.get('n_ft_rows', '?')} rows): **{100 * s['ft_slope_per_decade']:+.1f} "
                  f"points per decade** of parameters ({100 * s.get('ft_error_shrink_per_decade', 0):.0f}% of the "
                  "remaining error per decade).", ""]
    if "pe_slope_per_decade" in s:
        lines += [f"Prompting's own size law (in-context accuracy by model size inside one published setting, "
                  f"{s.get('n_pe_rows', '?')} rows in {s.get('n_pe_settings', '?')} settings): "
                  f"**{100 * s['pe_slope_per_decade']:+.1f} points per decade** "
                  f"({100 * s.get('pe_error_shrink_per_decade', 0):.0f}% of the remaining error per decade).", ""]
        for kind, law in (s.get("pe_by_kind") or {}).items():
            served = ("served for them" if law["served"] else "not served: held out, it does not beat no size "
                      "effect, so they get the pooled law") if "served" in law else \
                "not served: this calibration predates the held-out check, so they get the pooled law"
            lines += [f"- {kind} tasks' own law ({served}): {law.get('n_rows', '?')} rows in "
                      f"{law.get('n_settings', '?')} settings ({', '.join(law.get('sources', []))}; {len(law.get('tasks', []))} tasks): "
                      f"**{100 * law.get('slope_per_decade', 0.0):+.1f} points per decade** "
                      f"({100 * law['error_shrink_per_decade']:.0f}% of the remaining error per decade)."]
        lines += [""] if s.get("pe_by_kind") else []
    return lines


def section_recipe(runner: Runner) -> list[str]:
    return [
        "## Prompt tuning's recipe", "",
        regenerate("make measurements"), "",
        "Does the protocol give prompt tuning its best-known recipe? Every learning rate × initialisation at the "
        "full budget on a few cells, against the protocol's own learning-rate race (version 1: instruction-text "
        "init; version 2: class-label init and a higher learning rate, after Lester et al. 2021). Then, over the "
        "whole store, how each prompt-tuning cell moved when it was rerun under version 2.", "",
        *runner.block(PT_RECIPE, "Every configuration on the recipe cells (records in `data/benchmarks/pt-recipe`, "
                      "protocol v1, and `data/benchmarks/pt-recipe-v2`)",
                      note="Without `--summary-only` the script trains the missing configurations (hours)."),
        *runner.block(PT_RERUN, "Recipe version 1 against version 2 over the store under protocol v1 (both read "
                      "from git)"),
    ]


def section_claims() -> list[str]:
    shown = ".venv/bin/advisor claims --no-write"
    lines = ["## Claims audit", "", regenerate(shown), "",
             "Each belief of the decision table, tested against the measured runs (all of the store, as it stands "
             "now). *Holds in a/b matched cells* counts cells where both methods were measured.", ""]
    exe = Path(sys.executable).parent / "advisor"
    argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "advisor.cli"]
    out = run_command([*argv, "claims", "--no-write"], shown, FAST_TIMEOUT_S)
    # The audit table and its verdict rule: everything before the first second-level heading.
    head = out.split("\n## ", 1)[0]
    body = [line for line in head.splitlines() if not line.startswith("# ")]
    while body and not body[0].strip():
        body.pop(0)
    if not any(line.startswith("| claim |") for line in body):
        raise SourceError(f"`{shown}` printed no claims table")
    lines += [*[line.rstrip() for line in body], ""]
    lines += ["The command also prints the decision-table changes made from this audit and, per backbone and task, "
              "the smallest measured size where full fine-tuning overtakes prompt tuning.", ""]
    return lines


def section_memory(runner: Runner) -> list[str]:
    return [
        "## Memory: measured vs predicted", "",
        regenerate(MEMORY.shown()), "",
        "Predicted = `advisor.costs.plan_memory` for the configuration each source describes. Published rows: the "
        "source's own figure. Our rows: the difference in peak process memory between two methods on the same "
        "task, size and seed (Python, torch and the data dominate a run's absolute memory, so only differences "
        "are comparable); the prediction is the difference of what the two hold while the learning-rate race runs.",
        "",
        *runner.block(MEMORY, "Every case"),
    ]


def section_slow(runner: Runner) -> list[str]:
    known = {b.script for b in (*FAST, *SLOW)} | {THIS_SCRIPT}
    unclassified = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py") if p.name not in known)
    lines = ["## Slower benchmarks", "",
             "These train models, run pilots or corrupt copies of the store (minutes to an hour each); most need "
             "the shared data (`../shared/data`). `make measurements` names them; "
             "`make measurements ARGS=--all` runs them too and puts their output here.", ""]
    for bench in SLOW:
        lines += [f"- `{bench.shown()}` — {docstring_summary(bench.script)}"]
    for script in unclassified:
        lines += [f"- `{SHOWN_PYTHON} benchmarks/{script}` — {docstring_summary(script)} (not yet sorted into "
                  f"fast or slow in {THIS_SCRIPT}: not run)"]
    lines += [""]
    if runner.mode == "all":
        for bench in SLOW:
            lines += runner.block(bench, docstring_summary(bench.script).rstrip("."))
    return lines


# ---------------------------------------------------------------- main


def build(mode: str) -> str:
    src = read_sources()
    runner = Runner(mode)
    lines = header(mode)
    for part in (
        lambda: section_store(src, runner),
        lambda: section_generation(src),
        lambda: section_budget(runner),
        lambda: section_evaluation(src),
        lambda: section_answers(runner),
        lambda: section_serving(runner),
        lambda: section_generation_profiles(src),
        lambda: section_extrapolation(src),
        lambda: section_recipe(runner),
        lambda: section_claims(),
        lambda: section_memory(runner),
        lambda: section_slow(runner),
    ):
        lines += part()
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write (default: docs/measurements.md)")
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--all", action="store_true", help="also run the slow benchmarks (minutes to an hour each)")
    group.add_argument("--skip-benchmarks", action="store_true",
                       help="run no benchmark script (for the test; `advisor claims`, seconds, still runs): each section "
                            "names its command instead")
    args = ap.parse_args(argv)
    mode = "all" if args.all else "skip" if args.skip_benchmarks else "default"
    # The script writes one file: no __pycache__ folders from the lazy imports below (the benchmarks it starts get
    # PYTHONDONTWRITEBYTECODE in child_env).
    sys.dont_write_bytecode = True
    if not args.out.parent.is_dir():  # checked first: the default run takes a minute
        print(f"measurements: --out {args.out}: the folder {args.out.parent} does not exist", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    try:
        text = build(mode)
    except SourceError as e:
        print(f"measurements: {e}", file=sys.stderr)
        return 1
    # Written only once the whole page is built: a failed source leaves the previous page as it was.
    args.out.write_text(text, encoding="utf-8")
    log(f"wrote {args.out} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
