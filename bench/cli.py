"""`bench` command line: run, status, tasks, methods, models, add-task, convert-smollm2.

Unknown names and bad values exit with code 2 and a message listing what is valid.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Run prompt engineering, prompt tuning, prefix tuning, LoRA and full fine-tuning on matched tasks.")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _ints(name: str, text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        _fail(f"--{name}={text!r} (allowed: comma-separated integers, e.g. 16,64,256)")
    if not values or any(v < 0 for v in values):
        _fail(f"--{name}={text!r} (allowed: comma-separated integers >= 0)")
    return values


@app.command("run")
def run_cmd(
    models: str = typer.Option("minilm", "--models", help="Backbones, comma-separated (minilm, smollm2-135m, hf:/path, ...)."),
    tasks: str = typer.Option("all", "--tasks", help="Task names, comma-separated, or all."),
    methods: str = typer.Option("all", "--methods", help="Methods, comma-separated, or all."),
    sizes: str = typer.Option("16,64,256,1024", "--sizes", help="Training-set sizes."),
    seeds: str = typer.Option("0,1", "--seeds", help="Seeds."),
    task_file: list[Path] = typer.Option([], "--task-file", help="A task YAML of your own (repeatable)."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Data folder (default: $TUNING_ADVISOR_DATA or ../shared/data)."),
    results_dir: Path = typer.Option(Path("data/results"), "--results-dir", help="Where result JSONs go."),
    executor: str = typer.Option("serial", "--executor", help="serial | process | dask"),
    workers: int = typer.Option(1, "--workers", help="Worker processes (process executor, or a local Dask cluster)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address, e.g. tcp://host:8786 "
                                                                      "(default: a LocalCluster on loopback)."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda | cuda-fp32 (cuda: bf16 autocast where supported)"),
    force: bool = typer.Option(False, "--force", help="Rerun trials whose result exists."),
    threads: Optional[int] = typer.Option(None, "--threads", help="Torch threads per trial (default: cores / workers)."),
    test_cap: Optional[int] = typer.Option(None, "--test-cap", help="Override the protocol's test-subset cap."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Override the protocol's step cap."),
    override: list[str] = typer.Option([], "--override", help="method.key=value (repeatable), e.g. "
                                       "prompt_tuning.init=class_labels or prompt_tuning.lrs=0.1 (one lr = no race); "
                                       "recorded in each result's config.overrides. Use a separate --results-dir."),
) -> None:
    """Run a grid of trials (idempotent: existing results are skipped)."""
    import dataclasses

    from bench.methods import METHODS
    from bench.models import BACKBONES, ModelError, get_spec
    from bench.protocol import Protocol
    from bench.runner import EXECUTORS, expand, parse_tasks, run_grid
    from bench.tasks import TaskError, load_task, resolve_data_dir
    from bench.trial import DEVICES, DEVICES_TEXT

    if executor not in EXECUTORS:
        _fail(f"--executor={executor!r} (allowed: {', '.join(EXECUTORS)})")
    if device not in DEVICES:
        _fail(f"--device={device!r} (allowed: {DEVICES_TEXT})")
    if workers < 1:
        _fail(f"--workers={workers} (allowed: >= 1)")
    if threads is not None and threads < 1:
        _fail(f"--threads={threads} (allowed: >= 1)")
    if override:
        import os

        from bench.trial import OVERRIDES_ENV, parse_overrides

        try:
            parse_overrides(";".join(override))
        except ValueError as err:
            _fail(str(err))
        os.environ[OVERRIDES_ENV] = ";".join(override)  # worker processes inherit it
    backbones = [m.strip() for m in models.split(",") if m.strip()]
    for b in backbones:
        try:
            get_spec(b)
        except ModelError as err:
            _fail(str(err))
    method_names = list(METHODS) if methods == "all" else [m.strip() for m in methods.split(",") if m.strip()]
    unknown = [m for m in method_names if m not in METHODS]
    if unknown:
        _fail(f"unknown method(s) {unknown} (valid: {', '.join(METHODS)}, or all)")
    try:
        specs = ([] if task_file and tasks == "all" else parse_tasks(tasks)) + [load_task(p) for p in task_file]
    except TaskError as err:
        _fail(str(err))
    root = resolve_data_dir(data_dir)
    if root is None and any(not Path(t.files["train"]).is_absolute() for t in specs):
        _fail("no data dir: pass --data-dir, set TUNING_ADVISOR_DATA, or create ../shared/data")
    protocol = Protocol()
    if test_cap is not None or max_steps is not None:
        protocol = dataclasses.replace(protocol, **{k: v for k, v in (("test_cap", test_cap), ("max_steps", max_steps))
                                                    if v is not None})
    jobs = expand(backbones, specs, method_names, _ints("sizes", sizes), _ints("seeds", seeds))
    typer.echo(f"{len(jobs)} trials in the grid; results in {results_dir}; data from {root}")
    summary = run_grid(jobs, results_dir, protocol, root, device, executor, workers, force, threads=threads,
                       scheduler=scheduler)
    typer.echo(f"ran {summary['ran']}, skipped {summary['skipped']} (already done), failed {summary['failed']} "
               f"in {summary['seconds']:.0f} s")
    for f in summary["failures"][:20]:
        typer.echo(f"  failed: {f['label']}: {f['error']}")


@app.command("probe")
def probe_cmd(
    task_file: Path = typer.Option(..., "--task-file", help="Your task YAML (see `bench add-task`)."),
    size: int = typer.Option(..., "--size", help="How many of your labeled examples to use (your labeled_examples)."),
    model: str = typer.Option("minilm", "--model", help="Backbone (minilm, smollm2-135m, hf:/path)."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir"),
    results_dir: Path = typer.Option(Path(".cache/probe-results"), "--results-dir"),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda | cuda-fp32 (cuda: bf16 autocast where supported)"),
    threads: Optional[int] = typer.Option(None, "--threads", help="Torch threads (default: all cores)."),
    methods: str = typer.Option("prompt_engineering,linear_probe", "--methods",
                                help="What to measure: prompt_engineering, linear_probe, or both (comma-separated)."),
) -> None:
    """Measure the two cheap numbers the advisor can use: zero-shot and linear-probe accuracy on your task.

    Prints them as profile lines (`zero_shot_accuracy: ...`, `probe_accuracy: ...`) to paste into
    a profile file or pass to `advisor recommend --zero-shot-accuracy ... --probe-accuracy ...`.
    Progress goes to stdout as `# ...` lines (YAML comments, so the output stays a valid profile fragment;
    `advisor pilot` streams them to its progress display).
    """
    import time

    from bench.models import ModelError, get_spec
    from bench.results import read_result
    from bench.runner import expand, run_grid
    from bench.tasks import TaskError, load_task, resolve_data_dir
    from bench.trial import DEVICES, DEVICES_TEXT

    if size < 2:
        _fail(f"--size={size} (allowed: >= 2)")
    try:
        get_spec(model)
        spec = load_task(task_file)
    except (ModelError, TaskError) as err:
        _fail(str(err))
    if device not in DEVICES:
        _fail(f"--device={device!r} (allowed: {DEVICES_TEXT})")
    if threads is not None and threads < 1:
        _fail(f"--threads={threads} (allowed: >= 1)")
    wanted = [m.strip() for m in methods.split(",") if m.strip()]
    allowed = ("prompt_engineering", "linear_probe")
    if not wanted or any(m not in allowed for m in wanted):
        _fail(f"--methods={methods!r} (allowed: {', '.join(allowed)}, comma-separated)")
    jobs = expand([model], [spec], [m for m in allowed if m in wanted], [size], [seed])
    # One trial at a time, each announced, so a caller streaming stdout can show where it is.
    steps = {"prompt_engineering": ("prompting, zero-shot and with demonstrations (loads the model, scores the "
                                    "validation and test rows)"),
             "linear_probe": "linear-probe accuracy (embeds the training, validation and test texts)"}
    for job in jobs:
        typer.echo(f"# measuring {steps[job.method]} ...")
        t0 = time.perf_counter()
        summary = run_grid([job], results_dir, None, resolve_data_dir(data_dir), device, "serial", 1, False,
                           progress=False, threads=threads)
        if summary["failed"]:
            _fail("; ".join(f"{f['label']}: {f['error']}" for f in summary["failures"]))
        typer.echo(f"# done in {time.perf_counter() - t0:.0f} s")
    got = {j.method: read_result(j.path(results_dir)) for j in jobs}
    typer.echo(f"# measured on {spec.name} with {model}, n={size}, seed {seed} ({results_dir})")
    pe, lp = got.get("prompt_engineering"), got.get("linear_probe")
    if pe is not None:
        typer.echo(f"zero_shot_accuracy: {pe['zero_shot_accuracy']:.4f}")
        # The prompt the validation split chose (zero-shot or with demonstrations), scored on the test rows: what
        # `advisor pilot --model` fills in as prompt_accuracy (chosen on validation, reported on test). As YAML
        # comments: the output stays a profile fragment, and which model's prompting it is only the caller knows.
        metrics = pe.get("metrics") or {}
        if pe.get("few_shot_accuracy") is not None:
            typer.echo(f"# few_shot_accuracy: {pe['few_shot_accuracy']:.4f}")
        typer.echo(f"# prompt_accuracy: {pe['accuracy']:.4f}")
        typer.echo(f"# prompt_variant: {metrics.get('variant', 'zero_shot')}")
        typer.echo(f"# prompt_shots: {int(metrics.get('shots') or 0)}")
        typer.echo(f"# test_rows: {int((pe.get('config') or {}).get('test_size') or 0)}")
        typer.echo(f"# backbone_params: {int(pe.get('backbone_params') or 0)}")
    if lp is not None:
        typer.echo(f"probe_accuracy: {lp['accuracy']:.4f}")


@app.command("status")
def status_cmd(results_dir: Path = typer.Option(Path("data/results"), "--results-dir"),
               as_json: bool = typer.Option(False, "--json")) -> None:
    """Which cells exist: ok / failed counts per backbone, task and method."""
    import warnings

    from bench.results import InvalidResultWarning, flagged_lines, scan
    from bench.runner import status_table

    _, invalid = scan(results_dir, warn=False)
    with warnings.catch_warnings():  # the invalid files are listed below, once each
        warnings.simplefilter("ignore", InvalidResultWarning)
        table = status_table(results_dir)
    if as_json:
        typer.echo(json.dumps({"cells": table.to_dict("records"), "invalid_files": [str(p) for p, _ in invalid],
                               "invalid": [{"path": str(p), "problem": why} for p, why in invalid]}, indent=1))
        return
    if table.empty:
        typer.echo(f"no results in {results_dir}")
    else:
        typer.echo(table.to_string(index=False))
    if invalid:
        typer.echo(f"{len(invalid)} invalid files (skipped by every reader; fix or delete them, or rerun the cell with --force):")
    for line in flagged_lines(invalid, limit=100):  # name + reason, capped (--json lists every file)
        typer.echo(f"  {line}")


@app.command("report")
def report_cmd(results_dir: Path = typer.Option(Path("data/results"), "--results-dir")) -> None:
    """Write REPORT.md and PNG charts (learning curves, Pareto, gap, forgetting) into the results folder."""
    from bench.report import write_report

    if not results_dir.exists():
        _fail(f"--results-dir={results_dir}: no such folder")
    typer.echo(f"wrote {write_report(results_dir)}")


@app.command("refresh")
def refresh_cmd(
    config: Path = typer.Option(Path("data/refresh.yaml"), "--config", help="Refresh config (cells, staleness, gates)."),
    results_dir: Path = typer.Option(Path("data/results"), "--results-dir"),
    root: Path = typer.Option(Path("data/calibration"), "--root", help="Where calibrations, SERVED and history live."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir"),
    executor: str = typer.Option("serial", "--executor", help="serial | process | dask"),
    workers: int = typer.Option(1, "--workers"),
    threads: Optional[int] = typer.Option(None, "--threads"),
    device: str = typer.Option("auto", "--device"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (with --executor dask)."),
    keep_failed: int = typer.Option(3, "--keep-failed", min=0, help="Calibration folders of refreshes that failed "
                                                                     "their gates to keep (the newest); older ones are removed."),
) -> None:
    """Run missing/stale cells, refit, evaluate, and promote the calibration only if every gate passes."""
    from bench.refresh import RefreshError, load_config, refresh
    from bench.runner import EXECUTORS
    from bench.tasks import TaskError, resolve_data_dir

    if executor not in EXECUTORS:
        _fail(f"--executor={executor!r} (allowed: {', '.join(EXECUTORS)})")
    try:
        record = refresh(load_config(config), results_dir, root, resolve_data_dir(data_dir), device, executor, workers,
                         threads, scheduler=scheduler, keep_failed=keep_failed)
    except (RefreshError, TaskError) as err:
        _fail(str(err))
    typer.echo(f"refresh {record['calibration']}: ran {record['ran']} (missing {record['missing_run']}, stale "
               f"{record['stale_run']}), skipped {record['skipped']}, failed {record['failed']}")
    for bad in record.get("invalid_files", []):
        typer.echo(f"  invalid result file (skipped, left as is): {bad['path']}: {bad['problem']}", err=True)
    if record.get("cleaned_incomplete"):
        typer.echo(f"  removed incomplete calibration folders: {', '.join(record['cleaned_incomplete'])}")
    if record.get("nothing_new"):
        typer.echo(f"nothing new since the served calibration: {record['calibration']} stays served (no folder written)")
        return
    for g in record["gates"]:
        typer.echo(f"  [{'pass' if g['passed'] else 'FAIL'}] {g['gate']}: {g['value']} ({g['rule']})")
    if not record["promoted"]:
        typer.echo("not promoted: the served calibration is unchanged", err=True)
        raise typer.Exit(1)
    typer.echo(f"promoted: {record['calibration']} is now served")


@app.command("promote")
def promote_cmd(
    calibration: str = typer.Argument(..., help="A calibration folder name in --root (e.g. 20261203T065609Z)."),
    reason: str = typer.Option(..., "--reason", help="Why it is served although a gate failed (recorded)."),
    root: Path = typer.Option(Path("data/calibration"), "--root", help="Where calibrations, SERVED and history live."),
) -> None:
    """Serve a calibration whose refresh failed a gate — a person's decision, recorded with its reason."""
    from bench.refresh import RefreshError, override

    try:
        record = override(root, calibration, reason)
    except RefreshError as err:
        _fail(str(err))
    failed = ", ".join(g["gate"] for g in record["override"]["failed_gates"]) or "none"
    typer.echo(f"promoted: {calibration} is now served (replacing {record['override']['replaced']}; failed gates "
               f"overridden: {failed}); the reason is in {root / 'history.jsonl'}")


@app.command("history")
def history_cmd(root: Path = typer.Option(Path("data/calibration"), "--root"),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """Every refresh: when, cells run/skipped/failed, gates, promoted or not."""
    from bench.refresh import history, served_dir

    rows = history(root)
    if as_json:
        typer.echo(json.dumps(rows, indent=1))
        return
    served = served_dir(root)
    typer.echo(f"served: {served.name if served else 'none (the live data/results is used)'}")
    for r in rows:
        failed_gates = [g["gate"] for g in r.get("gates", []) if not g["passed"]]
        typer.echo(f"{r['started']}  {r.get('calibration', '?')}  ran {r.get('ran')} skipped {r.get('skipped')} "
                   f"failed {r.get('failed')}  {'PROMOTED' if r.get('promoted') else 'kept served'}"
                   + (f"  failed gates: {', '.join(failed_gates)}" if failed_gates else "")
                   + (f"  OVERRIDE: {r['override']['reason'][:200]}" if r.get("override") else ""))


@app.command("inspect-prompt")
def inspect_prompt(
    run: Path = typer.Argument(..., help="A prompt-tuning result JSON (its learned prompt is <name>.prompt.npy beside it)."),
    top: int = typer.Option(5, "--top", help="Nearest vocabulary tokens shown per virtual token."),
    as_json: bool = typer.Option(False, "--json", help="Print the measurements as JSON."),
) -> None:
    """Project each learned virtual token onto its nearest vocabulary tokens (cosine) and say how far it
    sits from any real token, against the same statistic for real tokens."""
    import json

    import numpy as np

    from bench.results import read_result
    from bench.trial import prompt_path

    record = read_result(run) if run.exists() else None
    if record is None:
        _fail(f"RUN={str(run)[:80]!r}: not a readable result JSON")
    if record["method"] != "prompt_tuning":
        _fail(f"RUN={str(run)[:80]!r}: method={record['method']!r} (allowed: prompt_tuning)")
    if top < 1:
        _fail(f"--top={top} (allowed: >= 1)")
    npy = prompt_path(run)
    if not npy.exists():
        _fail(f"RUN={str(run)[:80]!r}: no learned prompt at {npy.name} (runs from before prompts were saved "
              "have none; rerun it with bench run --force)")
    from bench.methods.prompt_inspect import input_embeddings, readability
    from bench.models import load_backbone

    backbone = load_backbone(record["backbone"])
    stats = readability(np.load(npy), input_embeddings(backbone.pristine), backbone.tokenizer, k=top)
    if as_json:
        typer.echo(json.dumps(stats, indent=1, ensure_ascii=False))
        return
    typer.echo(f"{record['run_id']}: {stats['virtual_tokens']} virtual tokens; max cosine to any real token: "
               f"median {stats['virtual_max_cos_median']:.3f} (real tokens to their nearest other token: median "
               f"{stats['reference_max_cos_median']:.3f}, 5th percentile {stats['reference_max_cos_p05']:.3f}); "
               f"{stats['share_off_vocabulary']:.0%} sit farther from the vocabulary than 95% of real tokens")
    for i, (near, mc) in enumerate(zip(stats["nearest"], stats["virtual_max_cos"])):
        words = "  ".join(f"{w!r} {c:.2f}" for w, c in near)
        typer.echo(f"  v{i:02d} max cos {mc:.3f}: {words}")


@app.command("tasks")
def tasks_cmd() -> None:
    """List the built-in tasks."""
    from bench.tasks import load_task, task_names

    for name in task_names():
        t = load_task(name)
        typer.echo(f"{name:<22} {t.num_classes:>3} classes  {'pair ' if t.is_pair else ''}{t.description}  [{t.license}]")


@app.command("methods")
def methods_cmd() -> None:
    """List the registered methods."""
    from bench.methods import METHODS

    for name, m in METHODS.items():
        doc = (type(m).__module__ and __import__(type(m).__module__, fromlist=["x"]).__doc__ or "").strip().splitlines()[0]
        typer.echo(f"{name:<20} {doc}")


@app.command("models")
def models_cmd() -> None:
    """List the registered backbones."""
    from bench.models import BACKBONES

    for name, spec in BACKBONES.items():
        typer.echo(f"{name:<14} {spec.kind:<8} {spec.description}")
    typer.echo("hf:/path       any local Hugging Face model folder (safetensors)")


@app.command("add-task")
def add_task_cmd(
    name: str = typer.Argument(..., help="Task name (lowercase, digits, _ and -)."),
    train: Path = typer.Option(..., "--train", help="Training CSV."),
    test: Path = typer.Option(..., "--test", help="Test CSV."),
    text: str = typer.Option("text", "--text", help="Text column(s), comma-separated (two for pair tasks)."),
    label: str = typer.Option("label", "--label", help="Label column."),
    instruction: str = typer.Option("Classify the text.", "--instruction", help="One instruction sentence for prompting."),
    out_dir: Path = typer.Option(Path("."), "--out-dir", help="Where to write <name>.yaml."),
) -> None:
    """Turn your own CSV files into a task YAML (then: bench run --task-file NAME.yaml)."""
    from bench.tasks import TaskError, add_task

    for p in (train, test):
        if not p.exists():
            _fail(f"{p}: no such file")
    try:
        path = add_task(train, test, name, [t.strip() for t in text.split(",")], label, instruction, out_dir=out_dir)
    except TaskError as err:
        _fail(str(err))
    except OSError as err:  # e.g. --out-dir not writable
        _fail(f"cannot write the task file into {out_dir}: {err.strerror}")
    typer.echo(f"wrote {path}")


@app.command("convert-smollm2")
def convert_cmd(force: bool = typer.Option(False, "--force")) -> None:
    """Dequantize the packaged SmolLM2 GGUF once into the local safetensors cache."""
    from bench.models import ModelError, convert_smollm2

    try:
        typer.echo(str(convert_smollm2(force=force)))
    except ModelError as err:
        _fail(str(err))


def main() -> None:
    import warnings

    # transformers deprecation chatter would bury the progress bar and the summary.
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="peft")
    app()


if __name__ == "__main__":
    main()
