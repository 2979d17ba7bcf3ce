"""`bench refresh`: rerun missing or stale cells, refit the calibration into a new versioned
folder, evaluate it, and promote it atomically only when every gate passes.

Layout under the calibration root (default `data/calibration/`):
  <UTC timestamp>/runs.json        the result table the calibration is fitted on (a snapshot)
  <UTC timestamp>/evaluation.json  leave-one-task-out metrics, + evaluation.md
  <UTC timestamp>/manifest.json    when, how many runs, the gates and their outcome
  SERVED                           the folder name being served (replaced by rename: atomic)
  history.jsonl                    one line per refresh, promoted or not
  .refresh.lock                    held while a refresh runs (O_EXCL; a dead holder's lock is broken)

Safe under faults: results are written atomically one per trial; a new calibration folder is
only pointed to after it is complete; SERVED is swapped with os.replace.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.results import REPO, read_result

DEFAULT_CONFIG = REPO / "data" / "refresh.yaml"
DEFAULT_ROOT = REPO / "data" / "calibration"
METRICS = (("regret", "lower"), ("mae", "lower"), ("top1_agreement", "higher"))


class RefreshError(ValueError):
    """Bad refresh configuration or a refresh that cannot start; the message says which field/why."""


@dataclass(frozen=True)
class RefreshConfig:
    backbones: tuple[str, ...]
    tasks: str | tuple[str, ...]
    methods: str | tuple[str, ...]
    sizes: tuple[int, ...]
    seeds: tuple[int, ...]
    max_age_days: float = 180.0
    on_version_change: tuple[str, ...] = ("task", "torch", "transformers", "peft")
    required_fraction: float = 0.9
    max_failed_fraction: float = 0.05
    tolerance_points: float = 1.0
    extra: dict = field(default_factory=dict)


def load_config(path: str | Path = DEFAULT_CONFIG) -> RefreshConfig:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise RefreshError(f"cannot read refresh config {path}: {err}") from None
    stale, gates = raw.get("staleness", {}) or {}, raw.get("gates", {}) or {}

    def ints(name: str) -> tuple[int, ...]:
        v = raw.get(name)
        if not isinstance(v, list) or not v or not all(isinstance(x, int) and x >= 0 for x in v):
            raise RefreshError(f"{path}: {name}={v!r} (allowed: a non-empty list of integers >= 0)")
        return tuple(v)

    def frac(name: str, default: float) -> float:
        v = gates.get(name, default)
        if not isinstance(v, (int, float)) or not 0 <= v <= 1:
            raise RefreshError(f"{path}: gates.{name}={v!r} (allowed: a number 0..1)")
        return float(v)

    def names(key: str) -> str | tuple[str, ...]:
        v = raw.get(key, "all")
        return v if v == "all" else tuple(v)

    allowed = {"task", "torch", "transformers", "peft", "scikit-learn", "numpy"}
    change = tuple(stale.get("on_version_change", ["task", "torch", "transformers", "peft"]))
    if set(change) - allowed:
        raise RefreshError(f"{path}: staleness.on_version_change={list(change)} (allowed: {sorted(allowed)})")
    age = stale.get("max_age_days", 180)
    if not isinstance(age, (int, float)) or age <= 0:
        raise RefreshError(f"{path}: staleness.max_age_days={age!r} (allowed: a number > 0)")
    tol = gates.get("tolerance_points", 1.0)
    if not isinstance(tol, (int, float)) or tol < 0:
        raise RefreshError(f"{path}: gates.tolerance_points={tol!r} (allowed: a number >= 0)")
    backbones = raw.get("backbones")
    if not isinstance(backbones, list) or not backbones:
        raise RefreshError(f"{path}: backbones={backbones!r} (allowed: a non-empty list of backbone names)")
    return RefreshConfig(tuple(backbones), names("tasks"), names("methods"), ints("sizes"), ints("seeds"),
                         float(age), change, frac("required_fraction", 0.9), frac("max_failed_fraction", 0.05),
                         float(tol))


def stale_reason(record: dict[str, Any] | None, job: Any, config: RefreshConfig, now: dt.datetime,
                 current: dict[str, str]) -> str | None:
    """Why a cell must be (re)run, or None when its result is fresh."""
    if record is None:
        return "missing"
    created = dt.datetime.fromisoformat(record["created_at"])
    if (now - created).total_seconds() > config.max_age_days * 86400:
        return f"older than {config.max_age_days:g} days"
    if "task" in config.on_version_change and record.get("task_version") != job.task.version:
        return f"task version {record.get('task_version')} -> {job.task.version}"
    packages = record.get("env", {}).get("packages", {})
    for pkg in config.on_version_change:
        if pkg != "task" and packages.get(pkg) != current.get(pkg):
            return f"{pkg} {packages.get(pkg)} -> {current.get(pkg)}"
    return None


class Lock:
    """An exclusive lock file; a lock whose holder process is gone is broken and retaken."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> "Lock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                return self
            except FileExistsError:
                try:
                    holder = int(self.path.read_text().strip() or 0)
                    os.kill(holder, 0)
                except (ValueError, ProcessLookupError, FileNotFoundError):
                    self.path.unlink(missing_ok=True)  # the holder died: break its lock
                    continue
                except PermissionError:
                    pass
                raise RefreshError(f"another refresh holds {self.path} (pid {holder}); not starting")
        raise RefreshError(f"could not take {self.path}")

    def __exit__(self, *exc: Any) -> None:
        self.path.unlink(missing_ok=True)


def served_dir(root: str | Path = DEFAULT_ROOT) -> Path | None:
    """The calibration folder currently served, or None."""
    pointer = Path(root) / "SERVED"
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    folder = Path(root) / name
    return folder if (folder / "manifest.json").exists() else None


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


def promote(root: Path, name: str) -> None:
    """Point SERVED at `name` atomically (write a temp file, then rename over the pointer)."""
    tmp = root / f".SERVED.{os.getpid()}.tmp"
    tmp.write_text(name + "\n", encoding="utf-8")
    os.replace(tmp, root / "SERVED")


def gates(new_eval: dict[str, Any], served_eval: dict[str, Any] | None, present: int, required: int,
          ran: int, failed: int, config: RefreshConfig) -> list[dict[str, Any]]:
    out = [{"gate": "required cells present", "value": f"{present}/{required}",
            "passed": required == 0 or present / required >= config.required_fraction,
            "rule": f">= {config.required_fraction:.0%}"},
           {"gate": "failed cells", "value": f"{failed}/{ran}",
            "passed": ran == 0 or failed / ran <= config.max_failed_fraction,
            "rule": f"<= {config.max_failed_fraction:.0%} of the cells run"}]
    for metric, better in METRICS:
        new, old = new_eval.get(metric), (served_eval or {}).get(metric)
        if old is None or new is None:
            passed = new is not None or old is None
            out.append({"gate": f"{metric} vs served", "value": f"{new} (served: {old})", "passed": passed,
                        "rule": "no served calibration to compare with" if old is None else "must be measurable"})
            continue
        worse = (new - old) if better == "lower" else (old - new)
        out.append({"gate": f"{metric} vs served", "value": f"{new} (served: {old})",
                    "passed": worse <= config.tolerance_points,
                    "rule": f"not worse by more than {config.tolerance_points:g} points"})
    return out


def refresh(config: RefreshConfig, results_dir: str | Path, root: str | Path = DEFAULT_ROOT, data_dir: Any = None,
            device: str = "auto", executor: str = "serial", workers: int = 1, threads: int | None = None,
            protocol: Any = None, progress: bool = True, now: dt.datetime | None = None,
            scheduler: str | None = None) -> dict[str, Any]:
    """One refresh; returns the history record (also appended to history.jsonl)."""
    from advisor import evaluate as ev
    from advisor.calibration import fit
    from bench.methods import METHODS
    from bench.results import load
    from bench.runner import expand, parse_tasks, run_grid
    from bench.trial import package_versions

    root, results_dir = Path(root), Path(results_dir)
    now = now or dt.datetime.now(dt.timezone.utc)
    record: dict[str, Any] = {"started": now.isoformat(timespec="seconds"), "promoted": False}
    with Lock(root / ".refresh.lock"):
        tasks = parse_tasks("all" if config.tasks == "all" else ",".join(config.tasks))
        methods = list(METHODS) if config.methods == "all" else list(config.methods)
        jobs = expand(config.backbones, tasks, methods, config.sizes, config.seeds)
        current = package_versions()
        missing, stale, reasons = [], [], {}
        for job in jobs:
            why = stale_reason(read_result(job.path(results_dir)), job, config, now, current)
            if why == "missing":
                missing.append(job)
            elif why:
                stale.append(job)
                reasons[job.label] = why
        runs = [run_grid(cells, results_dir, protocol, data_dir, device, executor, workers, force, progress,
                         threads=threads, scheduler=scheduler) for cells, force in ((missing, False), (stale, True))]
        ran = sum(r["ran"] for r in runs)
        failed = sum(r["failed"] for r in runs)
        present = sum(1 for job in jobs if (rec := read_result(job.path(results_dir))) and rec["status"] == "ok")
        df = load(results_dir)
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        folder = root / stamp
        folder.mkdir(parents=True, exist_ok=True)
        ok = df[df.status == "ok"]
        cal = fit(ok) if not ok.empty else None
        evaluation = ev.leave_one_task_out(df) if cal is not None else {}
        served = served_dir(root)
        served_eval = json.loads((served / "evaluation.json").read_text()) if served else None
        gate_rows = gates({k: evaluation.get(k) for k, _ in METRICS}, served_eval, present, len(jobs), ran, failed,
                          config)
        if cal is None:
            gate_rows.append({"gate": "calibration fits", "value": f"{len(ok)} ok runs", "passed": False,
                              "rule": ">= 20 runs over >= 2 tasks"})
        promoted = all(g["passed"] for g in gate_rows)
        _write_json(folder / "runs.json", ok.to_dict("records"))
        _write_json(folder / "evaluation.json", {k: v for k, v in evaluation.items() if k != "rows"})
        if evaluation:
            ev.write_markdown(evaluation, str(results_dir), folder / "evaluation.md")
        record.update({"finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                       "calibration": stamp, "cells": len(jobs), "missing_run": len(missing), "stale_run": len(stale),
                       "stale_reasons": reasons, "skipped": len(jobs) - len(missing) - len(stale), "ran": ran,
                       "failed": failed, "runs_fitted": len(ok), "gates": gate_rows, "promoted": promoted,
                       "metrics": {k: evaluation.get(k) for k, _ in METRICS}})
        # The manifest is written last: a folder without one is never served.
        _write_json(folder / "manifest.json", record)
        if promoted:
            promote(root, stamp)
        with open(root / "history.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=str) + "\n")
    return record


def history(root: str | Path = DEFAULT_ROOT) -> list[dict[str, Any]]:
    path = Path(root) / "history.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a line torn by a kill is skipped, the rest stays readable
    return out
