"""`bench refresh`: rerun missing or stale cells, refit the calibration into a new versioned
folder, evaluate it, and promote it atomically only when every gate passes.

Layout under the calibration root (default `data/calibration/`):
  <UTC timestamp>/runs.json        the result table the calibration is fitted on (a snapshot)
  <UTC timestamp>/calibration.json the artifact the advisor serves (plain JSON: models, size model, evidence)
  <UTC timestamp>/evaluation.json  its nested leave-one-family-out metrics, + evaluation.md
  <UTC timestamp>/manifest.json    when, how many runs, the gates and their outcome
  SERVED                           the folder name being served (replaced by rename: atomic)
  history.jsonl                    one line per refresh, promoted or not
  .refresh.lock                    flock()ed while a refresh runs; names the holder's pid and start time

Safe under faults: results are written atomically one per trial; a new calibration folder is
only pointed to after it is complete; SERVED is swapped with os.replace.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
from dataclasses import dataclass
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
    # Sizes measured with other seeds than `seeds` (e.g. n = 1024 with two seeds where n <= 256 has three).
    seeds_by_size: tuple[tuple[int, tuple[int, ...]], ...] = ()
    on_version_change: tuple[str, ...] = ("task", "torch", "transformers", "peft")
    required_fraction: float = 0.9
    max_failed_fraction: float = 0.05
    tolerance_points: float = 1.0
    # A metric may be worse on the cells both calibrations scored by up to noise_z standard errors of its paired
    # per-cell difference (when that exceeds tolerance_points): within-1 over ~80 cells has a standard error of ~5
    # points, so a 1-point rule held back refits that were no worse (20261204T135850Z: 1.3 points better on the 78
    # shared cells, 1.8 worse in the headline because 8 cells left and 1 came in).
    noise_z: float = 1.0


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

    allowed = {"task", "method", "protocol", "torch", "transformers", "peft", "scikit-learn", "numpy"}
    change = tuple(stale.get("on_version_change", ["task", "method", "protocol", "torch", "transformers", "peft"]))
    if set(change) - allowed:
        raise RefreshError(f"{path}: staleness.on_version_change={list(change)} (allowed: {sorted(allowed)})")
    age = stale.get("max_age_days", 180)
    if not isinstance(age, (int, float)) or age <= 0:
        raise RefreshError(f"{path}: staleness.max_age_days={age!r} (allowed: a number > 0)")
    tol = gates.get("tolerance_points", 1.0)
    if not isinstance(tol, (int, float)) or tol < 0:
        raise RefreshError(f"{path}: gates.tolerance_points={tol!r} (allowed: a number >= 0)")
    z = gates.get("noise_z", 1.0)
    if isinstance(z, bool) or not isinstance(z, (int, float)) or not 0 <= z <= 5:
        raise RefreshError(f"{path}: gates.noise_z={z!r} (allowed: a number 0..5, standard errors)")
    backbones = raw.get("backbones")
    if not isinstance(backbones, list) or not backbones:
        raise RefreshError(f"{path}: backbones={backbones!r} (allowed: a non-empty list of backbone names)")
    by_size = raw.get("seeds_by_size") or {}
    if not isinstance(by_size, dict) or not all(
            isinstance(k, int) and k > 0 and isinstance(v, list) and v and all(isinstance(x, int) and x >= 0 for x in v)
            for k, v in by_size.items()):
        raise RefreshError(f"{path}: seeds_by_size={by_size!r} (allowed: a mapping of train size -> non-empty list of "
                           "integers >= 0)")
    return RefreshConfig(tuple(backbones), names("tasks"), names("methods"), ints("sizes"), ints("seeds"),
                         float(age), tuple(sorted((k, tuple(v)) for k, v in by_size.items())), change,
                         frac("required_fraction", 0.9), frac("max_failed_fraction", 0.05), float(tol),
                         float(z))


def config_jobs(config: RefreshConfig, tasks: list, methods: list[str]) -> list:
    """The configured cells, seed-major: `seeds` for every size, except sizes listed in `seeds_by_size`."""
    from bench.runner import expand

    special = dict(config.seeds_by_size)
    plain = [n for n in config.sizes if n not in special]
    blocks = [(plain, config.seeds)] + [([n], s) for n, s in special.items() if n in config.sizes]
    jobs = [j for sizes, seeds in blocks if sizes for j in expand(config.backbones, tasks, methods, sizes, seeds)]
    return sorted(jobs, key=lambda j: j.seed)  # stable: each seed keeps the grid's order


def stale_reason(record: dict[str, Any] | None, job: Any, config: RefreshConfig, now: dt.datetime,
                 current: dict[str, str]) -> str | None:
    """Why a cell must be (re)run, or None when its result is fresh."""
    if record is None:
        return "missing"
    try:
        created = dt.datetime.fromisoformat(record["created_at"])
        age_s = (now - created).total_seconds()
    except (KeyError, TypeError, ValueError):  # read_result validates created_at; belt and braces
        return "created_at unreadable"
    if age_s > config.max_age_days * 86400:
        return f"older than {config.max_age_days:g} days"
    if "task" in config.on_version_change and record.get("task_version") != job.task.version:
        return f"task version {record.get('task_version')} -> {job.task.version}"
    if "protocol" in config.on_version_change:
        # Runs from before the protocol had a version measured version 1 (early stop on accuracy).
        from bench.methods import get_method
        from bench.protocol import Protocol

        # Zero-shot prompting and the probe never train to a stopping rule; a trained run under the current version
        # but older stopping rules stands when the current ones, replayed on its recorded checks, keep its checkpoint.
        if get_method(job.method).trains:
            why = Protocol().reproduces(record)
            if why:
                return why
    if "method" in config.on_version_change:
        from bench.methods import get_method

        # Runs from before method versions were recorded measured version 1 of every recipe.
        cfg = record.get("config") if isinstance(record.get("config"), dict) else {}
        had, now_ = cfg.get("method_version", 1), get_method(job.method).version
        if had != now_:
            return f"{job.method} recipe version {had} -> {now_}"
    env = record.get("env")
    packages = env.get("packages") if isinstance(env, dict) else None
    packages = packages if isinstance(packages, dict) else {}  # env is not in the schema: never trusted
    for pkg in config.on_version_change:
        if pkg != "task" and packages.get(pkg) != current.get(pkg):
            return f"{pkg} {packages.get(pkg)} -> {current.get(pkg)}"
    return None


def plan_cells(config: RefreshConfig, results_dir: str | Path, now: dt.datetime | None = None) -> tuple:
    """The configured cells and what a refresh does with each: (jobs, todo, missing, stale, reasons, invalid paths).

    `jobs` is in the grid's seed-major order and `todo` is `missing + stale` in that order: running it (forced: a
    missing cell has no file, so forcing it changes nothing) means a run stopped part-way has redone whole seeds
    rather than every missing cell before any stale one. Used by `bench refresh` and by the GPU rerun (deploy/gpu_rerun.py), so both
    call the same cells stale."""
    from bench.methods import METHODS
    from bench.runner import parse_tasks
    from bench.trial import package_versions

    now = now or dt.datetime.now(dt.timezone.utc)
    tasks = parse_tasks("all" if config.tasks == "all" else ",".join(config.tasks))
    methods = list(METHODS) if config.methods == "all" else list(config.methods)
    jobs = config_jobs(config, tasks, methods)
    current = package_versions()
    missing, stale, reasons, invalid = [], [], {}, []
    for job in jobs:
        path = job.path(results_dir)
        record = read_result(path)
        if record is None and path.exists():
            # A bad file is reported and left as it is (nothing stored is lost); fix or delete it.
            invalid.append(str(path))
            continue
        why = stale_reason(record, job, config, now, current)
        if why == "missing":
            missing.append(job)
        elif why:
            stale.append(job)
            reasons[job.label] = why
    chosen = {id(j) for j in missing + stale}
    return jobs, [j for j in jobs if id(j) in chosen], missing, stale, reasons, invalid


def _process_start(pid: int) -> str | None:
    """A process's start time in clock ticks since boot (/proc/<pid>/stat field 22), or None.

    Recorded with the pid so a lock's holder is identified even after its pid is reused.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2:].split()[19]
    except (OSError, ValueError, IndexError):
        return None


class Lock:
    """An exclusive refresh lock: `fcntl.flock` on a lock file.

    The kernel holds the lock for the process and drops it when the process dies (even by
    `kill -9`), so there is no stale lock to break and no read-unlink-create window: an empty
    or garbled lock file, or one naming a live unrelated pid, never blocks. The file records the
    holder's pid, start time and when it took the lock, for the error message. On release the
    file is unlinked while still locked; a taker that locked the unlinked file notices (inode
    check) and retries on the new one.
    """

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def __enter__(self) -> "Lock":
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(20):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o644)
            except OSError as err:  # a directory, a dangling or looping symlink: a typed error, not a traceback
                raise RefreshError(f"cannot take the refresh lock {self.path} ({err.strerror}); it must be a regular "
                                   "file or absent") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "unknown holder"
                os.close(fd)
                raise RefreshError(f"another refresh holds {self.path} ({holder[:120]}); not starting") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the previous holder unlinked this file as we opened it: take the new one
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()} started {_process_start(os.getpid())} ticks after boot, "
                         f"locked at {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}".encode())
            self.fd = fd
            return self
        raise RefreshError(f"could not take {self.path}")

    def __exit__(self, *exc: Any) -> None:
        if self.fd is not None:
            self.path.unlink(missing_ok=True)  # unlinked while locked: see the class docstring
            os.close(self.fd)  # closing releases the flock
            self.fd = None


def served_dir(root: str | Path = DEFAULT_ROOT) -> Path | None:
    """The calibration folder currently served, or None."""
    pointer = Path(root) / "SERVED"
    try:
        name = pointer.read_text(encoding="utf-8")[:100].strip()
    except (OSError, ValueError):  # absent, or not text
        return None
    if not STAMP.fullmatch(name):  # only a calibration folder name, never a path elsewhere
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


def override(root: str | Path, name: str, reason: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """Serve a complete calibration folder whose refresh failed a gate, with the reason on the record.

    The gates hold back a refit that is worse than the served calibration beyond both a practical tolerance and the
    sampling noise of its cells (`gates`); a deliberate change that costs more than that (a table revision that
    trades cells of within-1 for a rule the literature asks for) is a person's decision, and history.jsonl says who
    overrode which failed gates and why. Only SERVED moves (atomically); the folder, its
    evaluation and its failed gates stay as written."""
    root = Path(root)
    folder = root / name
    if not STAMP.fullmatch(name) or not folder.is_dir():
        raise RefreshError(f"calibration={name!r} (allowed: a calibration folder in {root}, e.g. 20261203T065609Z)")
    if len(reason.strip()) < 20:
        raise RefreshError(f"reason={reason.strip()[:40]!r} (allowed: a sentence of at least 20 characters saying why)")
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8")[:10_000_000])
    except (OSError, ValueError, RecursionError) as err:
        raise RefreshError(f"{folder}/manifest.json: {type(err).__name__} (an incomplete folder is never served)")
    from advisor.artifact import load_served

    if load_served(folder / "calibration.json") is None:
        from advisor.artifact import last_problem

        raise RefreshError(f"{folder}/calibration.json cannot be served: {last_problem()}")
    now = now or dt.datetime.now(dt.timezone.utc)
    before = served_dir(root)
    record = {"started": now.isoformat(timespec="seconds"), "finished": now.isoformat(timespec="seconds"),
              "calibration": name, "promoted": True, "override": {
                  "reason": reason.strip()[:2000], "replaced": before.name if before else None,
                  "failed_gates": [g for g in manifest.get("gates", []) if not g.get("passed")]},
              "metrics": manifest.get("metrics"), "gates": manifest.get("gates", [])}
    promote(root, name)
    _append_history(root, record)
    return record


MIN_PAIRED = 10  # fewer shared cells than this: no standard error worth the name, the plain tolerance applies


def paired_difference(new_cells: dict[Any, float], old_cells: dict[Any, float], better: str
                      ) -> tuple[int, float, float] | None:
    """(shared cells, mean of how much worse the new calibration is on them, standard error of that mean), in
    points, or None with fewer than MIN_PAIRED shared cells. Pairing cell by cell removes what the two stores do
    not share (cells added or dropped) and the tasks' own spread, leaving the change of the calibration."""
    shared = sorted(set(new_cells) & set(old_cells), key=str)
    if len(shared) < MIN_PAIRED:
        return None
    sign = 1.0 if better == "lower" else -1.0
    d = [sign * (new_cells[c] - old_cells[c]) for c in shared]
    mean = sum(d) / len(d)
    var = sum((x - mean) ** 2 for x in d) / (len(d) - 1)
    return len(d), mean, math.sqrt(var / len(d))


def gates(new_eval: dict[str, Any], served_eval: dict[str, Any] | None, present: int, required: int,
          ran: int, failed: int, config: RefreshConfig, new_cells: dict[str, dict] | None = None,
          served_cells: dict[str, dict] | None = None) -> list[dict[str, Any]]:
    """The gates a refit must pass to be served. `new_cells`/`served_cells`: each metric per cell
    (advisor.evaluate.headline_by_cell); with both, a metric is judged on the cells both scored, against the larger
    of `tolerance_points` and `noise_z` standard errors of the paired difference; without, on the headline figures
    against `tolerance_points` alone."""
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
        pair = paired_difference(new_cells[metric], served_cells[metric], better) \
            if new_cells and served_cells else None
        if pair is None:
            worse = (new - old) if better == "lower" else (old - new)
            out.append({"gate": f"{metric} vs served", "value": f"{new} (served: {old})",
                        "passed": worse <= config.tolerance_points,
                        "rule": f"not worse by more than {config.tolerance_points:g} points (no per-cell figures "
                                "of both to pair)" if served_cells is None or new_cells is None else
                                f"not worse by more than {config.tolerance_points:g} points (fewer than "
                                f"{MIN_PAIRED} cells scored by both)"})
            continue
        k, worse, se = pair
        tol = max(config.tolerance_points, config.noise_z * se)
        out.append({"gate": f"{metric} vs served", "passed": worse <= tol,
                    "value": f"{new} (served: {old}); on the {k} cells both scored "
                             + (f"{abs(worse):.2f} points {'worse' if worse > 0 else 'better'}"
                                if round(worse, 2) else "the same to 0.01 points") + f", standard error {se:.2f}",
                    "rule": f"not worse on the shared cells by more than {tol:.2f} points (the larger of "
                            f"{config.tolerance_points:g} and {config.noise_z:g} standard errors of the paired "
                            "per-cell difference)"})
    return out


def refresh(config: RefreshConfig, results_dir: str | Path, root: str | Path = DEFAULT_ROOT, data_dir: Any = None,
            device: str = "auto", executor: str = "serial", workers: int = 1, threads: int | None = None,
            protocol: Any = None, progress: bool = True, now: dt.datetime | None = None,
            scheduler: str | None = None, keep_failed: int | None = None) -> dict[str, Any]:
    """One refresh; returns the history record (also appended to history.jsonl).

    `keep_failed`: calibration folders of refreshes that were not promoted kept (the newest; KEEP_FAILED by
    default); older ones are removed after this refresh (11 had piled up after a review)."""
    from advisor import evaluate as ev
    from advisor.calibration import write_artifact
    from advisor.published import load_evidence
    from bench.results import load
    from bench.runner import run_grid

    root, results_dir = Path(root), Path(results_dir)
    now = now or dt.datetime.now(dt.timezone.utc)
    record: dict[str, Any] = {"started": now.isoformat(timespec="seconds"), "promoted": False}
    with Lock(root / ".refresh.lock"):
        jobs, todo, missing, stale, reasons, invalid = plan_cells(config, results_dir, now)
        cleaned = clean_incomplete(root)
        runs = [run_grid(todo, results_dir, protocol, data_dir, device, executor, workers, True, progress,
                         threads=threads, scheduler=scheduler)] if todo else []
        ran = sum(r["ran"] for r in runs)
        failed = sum(r["failed"] for r in runs)
        present = sum(1 for job in jobs if (rec := read_result(job.path(results_dir))) and rec["status"] == "ok")
        df, bad_files = load(results_dir, return_invalid=True)
        ok = df[df.status == "ok"]
        record.update({"cells": len(jobs), "missing_run": len(missing), "stale_run": len(stale),
                       "stale_reasons": reasons, "skipped": len(jobs) - len(missing) - len(stale) - len(invalid),
                       "ran": ran, "failed": failed, "runs_fitted": len(ok), "cleaned_incomplete": cleaned,
                       "invalid_files": [{"path": str(p), "problem": why} for p, why in bad_files]})
        served = served_dir(root)
        if ran == 0 and served is not None and _same_runs(served, ok) and _same_fit(served):
            # Nothing new since the served calibration: no folder, no refit; one history line.
            record.update({"finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                           "calibration": served.name, "nothing_new": True, "gates": [], "promoted": False})
            _append_history(root, record)
            return record
        served_eval, served_problem = _served_evaluation(served)
        # Everything that can fail is computed before the folder exists: a crash leaves no folder.
        # The artifact the advisor serves (task models, size model, evidence index) with its own nested
        # leave-one-family-out evaluation inside (advisor.evaluate.fit_and_evaluate).
        source, cite = store_citation(Path(results_dir))
        if "path" in ok:
            ok = ok.assign(path=ok.path.map(cite))
        art = ev.fit_and_evaluate(ok, load_evidence(), source=source) if not ok.empty else None
        evaluation = art["evaluation"] if art else {}
        new_cells = ev.headline_by_cell(evaluation["rows"]) if evaluation.get("rows") else None
        gate_rows = gates({k: evaluation.get(k) for k, _ in METRICS}, served_eval, present, len(jobs), ran, failed,
                          config, new_cells, _served_cells(served, served_eval))
        if served_problem:
            gate_rows.append({"gate": "served evaluation readable", "value": served_problem, "passed": False,
                              "rule": "the served calibration's evaluation.json must be readable to compare with; "
                                      "fix or remove it"})
        if art is None:
            gate_rows.append({"gate": "calibration fits", "value": f"{len(ok)} ok runs", "passed": False,
                              "rule": ">= 20 runs over >= 3 task families"})
        promoted = all(g["passed"] for g in gate_rows)
        base = now.strftime("%Y%m%dT%H%M%S")
        stamp, n = base + "Z", 1
        while (root / stamp).exists():  # two refreshes in one second: never write into a finished folder
            stamp, n = f"{base}-{n}Z", n + 1
        folder = root / stamp
        folder.mkdir(parents=True)
        _write_json(folder / "runs.json", ok.to_dict("records"))
        _write_json(folder / "evaluation.json", {k: v for k, v in evaluation.items() if k != "rows"})
        if art:
            write_artifact(art, folder)
            (folder / "evaluation.md").write_text(art["evaluation_markdown"], encoding="utf-8")
        record.update({"finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                       "calibration": stamp, "gates": gate_rows, "promoted": promoted,
                       "metrics": {k: evaluation.get(k) for k, _ in METRICS}})
        # The manifest is written last: a folder without one is never served (and is cleaned next time).
        _write_json(folder / "manifest.json", record)
        if promoted:
            promote(root, stamp)
        record["pruned"] = prune_failed(root, KEEP_FAILED if keep_failed is None else keep_failed)
        _append_history(root, record)
    return record


KEEP_FAILED = 3  # not-promoted calibration folders kept for inspection (each is 0.9-1.2 MB here: runs.json + artifact)


def prune_failed(root: Path, keep: int) -> list[str]:
    """Remove all but the newest `keep` calibration folders whose manifest says not promoted; never the served
    folder nor one that was ever promoted. Called under the refresh lock. Returns the names removed."""
    served = served_dir(root)
    failed = []
    for folder in sorted(root.glob("*")):
        if not (folder.is_dir() and not folder.is_symlink() and STAMP.fullmatch(folder.name)):
            continue
        if served is not None and folder.name == served.name:
            continue
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # no manifest: clean_incomplete's business
        if isinstance(manifest, dict) and manifest.get("promoted") is False:
            failed.append(folder)
    doomed = failed[:max(0, len(failed) - max(0, keep))]  # folder names are UTC stamps: sorted = oldest first
    for folder in doomed:
        shutil.rmtree(folder, ignore_errors=True)
    return [f.name for f in doomed]


STAMP = re.compile(r"\d{8}T\d{6}(-\d+)?Z")


def clean_incomplete(root: Path) -> list[str]:
    """Remove calibration folders without a manifest (a refresh killed mid-write); called under the lock,
    so no running refresh owns one. The served folder always has a manifest and is never touched."""
    removed = []
    for folder in sorted(root.glob("*")):
        if folder.is_dir() and STAMP.fullmatch(folder.name) and not (folder / "manifest.json").exists():
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


def _same_fit(served: Path) -> bool:
    """Whether the served calibration was fitted by the current fit code, decision table and published evidence
    (advisor.calibration.fit_fingerprint); artifacts from before the fingerprint count as different."""
    from advisor.calibration import fit_fingerprint

    try:
        art = json.loads((served / "calibration.json").read_text(encoding="utf-8")[:200_000_000])
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(art, dict) and art.get("fit_fingerprint") == fit_fingerprint()


def store_citation(results_dir: Path) -> tuple[str, Any]:
    """(how the calibration names its store, path -> how an answer cites one run file).

    A store inside a git work tree is cited as the repository sees it — `data/results/minilm/sst2/lora/n64-s0.json`
    and "data/results at commit f4044ae…" — so a reader finds the run in any clone. The served calibration fitted from
    a checkout of the protocol-v1 store (`.cache/store-v1`, a worktree gone on any other machine) cited 803 run paths
    under `.cache/store-v1/`. A store outside git keeps its paths as given."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True, timeout=30).stdout.strip()

    try:
        top = Path(git("-C", str(results_dir), "rev-parse", "--show-toplevel")).resolve()
        sha = git("-C", str(top), "rev-parse", "--short=12", "HEAD")
        dirty = git("-C", str(top), "status", "--porcelain", "--untracked-files=all", "--", str(results_dir.resolve()))
    except (OSError, subprocess.SubprocessError):
        return str(results_dir), str
    rel = os.path.relpath(results_dir.resolve(), top)
    source = f"{rel} at commit {sha}" + (" with runs not yet committed" if dirty else "")
    return source, lambda p: os.path.relpath(Path(p).resolve(), top)


def _same_runs(served: Path, ok: Any) -> bool:
    """Whether the served calibration was fitted on exactly these runs (same run ids and times)."""
    try:
        runs = json.loads((served / "runs.json").read_text(encoding="utf-8"))
        before = {(r["run_id"], r["created_at"]) for r in runs}
    except (OSError, ValueError, TypeError, KeyError):
        return False  # an unreadable snapshot: refit
    return before == set(zip(ok.run_id, ok.created_at))


def _served_evaluation(served: Path | None) -> tuple[dict[str, Any] | None, str | None]:
    """(the served evaluation's metrics, None) or (None, what is wrong with its evaluation.json)."""
    if served is None:
        return None, None
    path = served / "evaluation.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8")[:10_000_000])
    except (OSError, ValueError, RecursionError) as err:
        return None, f"{path}: {type(err).__name__}: {str(err)[:80]}"
    if not isinstance(data, dict):
        return None, f"{path}: not a JSON object"
    for key, _ in METRICS:
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or value != value or abs(value) == float("inf")):
            return None, f"{path}: {key}={str(value)[:40]!r} is not a finite number"
    return data, None


def _served_cells(served: Path | None, served_eval: dict[str, Any] | None) -> dict[str, dict] | None:
    """The served calibration's headline metrics per cell (its artifact's evaluation rows), or None when they are
    missing or do not reproduce its evaluation.json's figures (then the gates compare the headline figures alone:
    per-cell rows that disagree with the figures they should average to are not evidence of either)."""
    if served is None or not served_eval:
        return None
    from advisor.evaluate import headline_by_cell

    try:
        art = json.loads((served / "calibration.json").read_text(encoding="utf-8")[:100_000_000])
        cells = headline_by_cell(art["evaluation"]["rows"])
    except (OSError, ValueError, RecursionError, KeyError, TypeError):
        return None
    for metric, _ in METRICS:
        values, figure = list(cells[metric].values()), served_eval.get(metric)
        if not values or figure is None or abs(sum(values) / len(values) - figure) > 0.051:  # figures: 0.01/0.1 steps
            return None
    return cells


def _append_history(root: Path, record: dict[str, Any]) -> None:
    with open(root / "history.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(record, default=str) + "\n")


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
