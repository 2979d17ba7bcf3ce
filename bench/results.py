"""The result store: one immutable JSON file per run, written atomically; a pandas loader.

Torch-free: the advisor and the app read results through this module.

Layout: `<results_dir>/<backbone>/<task>/<method>/n<size>-s<seed>.json`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import warnings
import tempfile
from pathlib import Path
from typing import Any, Iterator

SCHEMA_VERSION = 1
REPO = Path(__file__).resolve().parent.parent
DEFAULT_RESULTS_DIR = REPO / "data" / "results"

# Top-level keys every consumer relies on.
REQUIRED_KEYS = (
    "schema_version", "status", "error", "backbone", "task", "method", "train_size", "seed",
    "accuracy", "macro_f1", "train_accuracy", "train_time_s", "peak_rss_mb", "trainable_params",
    "total_params", "stored_bytes", "infer_ms_per_example", "forgetting", "lr", "steps",
)
NUMERIC_OK = ("accuracy", "macro_f1", "train_accuracy", "train_time_s", "peak_rss_mb", "trainable_params",
              "total_params", "stored_bytes", "infer_ms_per_example", "steps")


def safe_name(name: str) -> str:
    """A backbone/task name usable as one path component (hf:/x/y -> hf_x_y)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "_"


def portable_path(path: str | Path | None, inside_only: bool = False) -> str | None:
    """A path as recorded in a result: relative to the repository when it lies in the repository's parent folder
    (`bench/tasks/sst2.yaml`, `../shared/data`), so records do not carry one machine's absolute paths (318
    committed records held `/root/data/data`); elsewhere the folder's name alone (`<elsewhere>/data`), or, with
    `inside_only`, the absolute path (a user's task file outside the repository must stay findable)."""
    if path is None or str(path) == "":
        return None
    p = Path(path).resolve()
    if p.is_relative_to(REPO.parent):
        return os.path.relpath(p, REPO)
    return str(p) if inside_only else f"<elsewhere>/{p.name}"


def resolve_recorded(path: str) -> Path:
    """The inverse of `portable_path` for a relative record: relative to the repository."""
    p = Path(path)
    return p if p.is_absolute() else REPO / p


def result_path(results_dir: str | Path, backbone: str, task: str, method: str, train_size: int, seed: int) -> Path:
    return Path(results_dir) / safe_name(backbone) / safe_name(task) / method / f"n{train_size}-s{seed}.json"


# The methods the bench registers (bench.methods.METHODS; a test keeps the two in step). Listed
# here because bench.methods imports torch and this module must stay torch-free and fast.
KNOWN_METHODS = ("prompt_engineering", "prompt_tuning", "prefix_tuning", "lora", "full_finetuning", "linear_probe")
STORE_NAME = re.compile(r"n(\d+)-s(\d+)\.json")
MAX_NAME = 200          # backbone/task names are path components: anything longer is not ours
MAX_FILE_BYTES = 5_000_000  # real records are ~3 KB; a bigger file is not read into memory at all

# One schema for every flattened field: (type, lowest, highest, required when status is ok).
# "int" excludes bool; "num" is a finite int or float (bool excluded); ranges are inclusive.
# None is always allowed for a field that is not required (failed runs carry no metrics).
# Upper bounds are far above anything measurable (a 10-trillion-parameter model, 100 days of
# training) but keep every value convertible to a float: an int like 10**400 would raise
# OverflowError in a fit.
_UNIT = ("num", 0.0, 1.0)
FIELDS: dict[str, tuple[str, float | None, float | None, bool]] = {
    "accuracy": (*_UNIT, True), "macro_f1": (*_UNIT, True), "train_accuracy": (*_UNIT, True),
    "val_accuracy": (*_UNIT, False), "zero_shot_accuracy": (*_UNIT, False), "few_shot_accuracy": (*_UNIT, False),
    "overfitting_gap": ("num", -1.0, 1.0, False),
    "train_time_s": ("num", 0.0, 1e7, True), "peak_rss_mb": ("num", 0.0, 1e8, True),
    "infer_ms_per_example": ("num", 0.0, 1e7, True), "examples_per_s": ("num", 0.0, 1e12, False),
    "trainable_params": ("int", 0, 10**13, True), "total_params": ("int", 1, 10**13, True),
    "backbone_params": ("int", 1, 10**13, True), "stored_bytes": ("int", 0, 10**15, True),
    "steps": ("int", 0, 10**9, True),
    # forgetting is a relative drop on a held-out probe: it can be negative or exceed 1
    # (measured -0.32..1.15 here), so only a loose bound is checked.
    "forgetting": ("num", -1000.0, 1000.0, True),
    "lr": ("num", 0.0, 10.0, False),
    "num_classes": ("int", 0, 100_000, True), "mean_input_tokens": ("num", 0.0, 1e7, True),
    "is_pair": ("bool", None, None, True), "converged": ("bool", None, None, False),
    "wall_time_s": ("num", 0.0, 1e8, False),
}
MAX_TRAIN_SIZE, MAX_SEED = 10**9, 2**32


def _short(value: Any, limit: int = 40) -> str:
    """A repr cut to `limit` characters: messages never echo a whole hostile value."""
    if isinstance(value, int) and value.bit_length() > 200:  # repr of a 4300+-digit int raises
        return f"<integer of {len(str(value)) if value.bit_length() < 14000 else 'over 4000'} digits>"
    text = repr(value) if not isinstance(value, str) or len(value) <= limit else repr(value[:limit]) + "..."
    return text if len(text) <= limit + 8 else text[:limit] + "..."


def _check_field(key: str, value: Any, kind: str, lo: Any, hi: Any) -> str | None:
    if kind == "bool":
        return None if isinstance(value, bool) else f"{key}={_short(value)} is not true/false"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{key}={_short(value)} is not {'an integer' if kind == 'int' else 'a number'}"
    if kind == "int" and not isinstance(value, int):
        return f"{key}={_short(value)} is not an integer"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{key}={_short(value)} is not finite"
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        allowed = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        return f"{key}={_short(value)} outside {'0..1' if (lo, hi) == (0.0, 1.0) else allowed}"
    return None


def _check_created_at(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > 40:
        return f"created_at={_short(value)} is not an ISO 8601 timestamp string"
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return f"created_at={_short(value)} is not an ISO 8601 timestamp (e.g. 2026-11-24T21:53:33+00:00)"
    if when.tzinfo is None or when.utcoffset() is None:
        return f"created_at={_short(value)} has no UTC offset (allowed: e.g. 2026-11-24T21:53:33+00:00)"
    # A date in the future would make a result look fresh forever to `bench refresh`.
    if when > dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1):
        return f"created_at={_short(value)} is in the future"
    return None


def expected_run_id(record: dict[str, Any]) -> str:
    return f"{record['backbone']}/{record['task']}/{record['method']}/n{record['train_size']}-s{record['seed']}"


def validate(record: Any, path: str | Path | None = None) -> list[str]:
    """Problems with a result record (empty list = valid).

    Checks every field a reader flattens (type and range), the run id, and, when `path`
    is a store file (`.../<backbone>/<task>/<method>/n<size>-s<seed>.json`), that the
    record belongs at that place: a copy of a run under another path is not a second run.
    """
    if not isinstance(record, dict):
        return ["record is not a JSON object"]
    problems = [f"missing key {k!r}" for k in REQUIRED_KEYS if k not in record]
    if problems:
        return problems
    if record["schema_version"] != SCHEMA_VERSION or isinstance(record["schema_version"], bool):
        problems.append(f"schema_version={_short(record['schema_version'])} (expected {SCHEMA_VERSION})")
    if record["status"] not in ("ok", "failed"):
        problems.append(f"status={_short(record['status'])} (allowed: ok | failed)")
    if record["error"] is not None and not isinstance(record["error"], str):
        problems.append(f"error={_short(record['error'])} is not a string or null")
    if record["status"] == "failed" and not record["error"]:
        problems.append("failed run without an error message")
    for key in ("backbone", "task"):
        value = record[key]
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
            problems.append(f"{key}={_short(value)} is not a non-empty name of at most {MAX_NAME} characters")
    if record["method"] not in KNOWN_METHODS:
        problems.append(f"method={_short(record['method'])} (allowed: {', '.join(KNOWN_METHODS)})")
    for key, hi in (("train_size", MAX_TRAIN_SIZE), ("seed", MAX_SEED)):
        if (p := _check_field(key, record[key], "int", 0, hi)) is not None:
            problems.append(p)
    version = record.get("task_version")
    if version is not None and (p := _check_field("task_version", version, "int", 1, 10**6)) is not None:
        problems.append(p)
    if (p := _check_created_at(record.get("created_at"))) is not None:
        problems.append(p)
    if record.get("num_classes") == 1:  # 0 marks a generation task (no label set); a 1-class task is not a task
        problems.append("num_classes=1 (allowed: 0 for a generation task, or 2..100000)")
    if record.get("device") is not None and not isinstance(record["device"], str):
        problems.append(f"device={_short(record['device'])} is not a string")
    metrics = record.get("metrics", {})
    if not isinstance(metrics, dict):
        problems.append(f"metrics={_short(metrics)} is not a JSON object")
        metrics = {}
    ok = record["status"] == "ok"
    for key, (kind, lo, hi, required) in FIELDS.items():
        value = record.get(key, metrics.get(key))
        if value is None:
            if ok and required:
                problems.append(f"{key}=None (required for a run with status ok)")
            continue
        if (p := _check_field(key, value, kind, lo, hi)) is not None:
            problems.append(p)
    if problems:
        return problems
    # Identity: the run id and the file's place must both name this run.
    run_id = record.get("run_id")
    if run_id != expected_run_id(record):
        problems.append(f"run_id={_short(run_id)} (expected {_short(expected_run_id(record), 120)})")
    if path is not None and STORE_NAME.fullmatch(Path(path).name):
        place = Path(path).parts[-4:]
        want = (safe_name(record["backbone"]), safe_name(record["task"]), record["method"],
                f"n{record['train_size']}-s{record['seed']}.json")
        if tuple(place) != want:
            problems.append(f"path {'/'.join(place)} does not match the record's backbone/task/method/size/seed "
                            f"({'/'.join(want)}): a copy of a run under another path")
    return problems


class ResultExists(FileExistsError):
    """Results are immutable: an existing file is only replaced with force=True."""


def write_result(path: str | Path, record: dict[str, Any], force: bool = False) -> Path:
    """Write atomically: a temp file in the same folder, fsync, then rename over the target.

    A crash at any point leaves either the old file or the new one, never a torn one.
    """
    path = Path(path)
    problems = validate(record, path)
    if problems:
        raise ValueError(f"invalid result for {path}: {'; '.join(problems)}")
    if path.exists() and not force:
        raise ResultExists(f"{path} exists (results are immutable; use --force to rerun)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1, sort_keys=True, allow_nan=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


class InvalidResultWarning(UserWarning):
    """A result file that fails the schema: skipped by every reader (the message names file and field)."""


def _read_record(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(record, None) or (None, the first problem): never raises for a bad file."""
    try:
        with open(path, "rb") as f:
            # Bounded read: a huge or endless file (a device, a runaway writer) is refused, not loaded.
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        return None, f"unreadable: {type(err).__name__}: {_short(str(err), 80)}"
    if len(raw) > MAX_FILE_BYTES:
        return None, f"larger than {MAX_FILE_BYTES} bytes"
    if not raw.strip():
        return None, "empty file"
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    except RecursionError:
        return None, "JSON nested too deeply"
    except ValueError as err:  # truncated JSON, or an integer past Python's 4300-digit limit
        return None, f"not valid JSON ({_short(str(err), 80)})"
    problems = validate(record, path)
    return (None, problems[0] + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else "")) if problems \
        else (record, None)


def read_result(path: str | Path) -> dict[str, Any] | None:
    """The record at `path`, or None when it is absent, unreadable, invalid or foreign (`foreign`)."""
    record = _read_record(Path(path))[0]
    return None if record is None or foreign(record) is not None else record


def _store_files(results_dir: str | Path) -> list[Path]:
    root = Path(results_dir)
    return sorted(root.glob("*/*/*/n*-s*.json")) if root.exists() else []


MAX_STRAY = 10_000  # out-of-layout files named at most (a store holds ~800 result files today)


def _stray_files(results_dir: str | Path, store: list[Path]) -> list[Path]:
    """JSON files under the store that are not at `<backbone>/<task>/<method>/n<size>-s<seed>.json`: a reader
    never uses them, and they were ignored without a word (issue 25); now they are flagged by name."""
    root = Path(results_dir)
    if not root.exists():
        return []
    known = set(store)
    out = []
    for p in root.rglob("*.json"):
        if p not in known and not p.name.startswith("."):
            out.append(p)
            if len(out) >= MAX_STRAY:
                break
    return sorted(out)


REFRESH_CONFIG = REPO / "data" / "refresh.yaml"
_KNOWN: dict[str, Any] = {}


# The backbones bench/models.py registers, named here so the store (layer 0) need not import the engine (layer 2);
# tests/test_layers.py checks that the two lists agree.
BUILTIN_BACKBONES = ("minilm", "smollm2-135m", "tiny-bert", "tiny-llama")


def known_names() -> tuple[frozenset[str], frozenset[str], frozenset[int]]:
    """(registered backbones, built-in tasks, configured seeds): what a result in the store may name.

    Seeds are the refresh configuration's (data/refresh.yaml `seeds` and `seeds_by_size`: 0, 1, 2 today); a run
    with another seed, an unregistered backbone or a task no task file defines is flagged, not used (an injected
    `gpt-9` run with accuracy 0.99 entered the report, the Evidence page and the evaluation)."""
    if not _KNOWN:
        from bench.tasks import task_names

        seeds: set[int] = set()
        try:
            from advisor.profile import read_yaml_file

            raw = read_yaml_file(REFRESH_CONFIG, 1_000_000, "refresh configuration") or {}
            seeds.update(int(x) for x in raw.get("seeds") or [] if isinstance(x, int) and not isinstance(x, bool))
            for v in (raw.get("seeds_by_size") or {}).values():
                seeds.update(int(x) for x in v or [] if isinstance(x, int) and not isinstance(x, bool))
        except (ValueError, AttributeError, TypeError):
            pass
        _KNOWN.update(backbones=frozenset(BUILTIN_BACKBONES), tasks=frozenset(task_names()),
                      seeds=frozenset(seeds or {0, 1, 2}))
    return _KNOWN["backbones"], _KNOWN["tasks"], _KNOWN["seeds"]


def foreign(record: dict[str, Any]) -> str | None:
    """Why a schema-valid record is not ours (unknown backbone, task or seed), or None."""
    backbones, tasks, seeds = known_names()
    b, t = record["backbone"], record["task"]
    if b not in backbones and not b.startswith("hf:"):
        return f"unknown backbone {_short(b)} (known: {', '.join(sorted(backbones))}, or hf:/path)"
    if t not in tasks:
        config = record.get("config") if isinstance(record.get("config"), dict) else {}
        task_file = config.get("task_file")
        # A user's own task (bench run --task-file) is known through its task file, named after the task.
        own = isinstance(task_file, str) and len(task_file) < 4096 and Path(task_file).stem == t \
            and resolve_recorded(task_file).is_file()
        if not own:
            return f"unknown task {_short(t)} (not a built-in task and no task file {str(t)[:40]}.yaml recorded)"
    if record["seed"] not in seeds:
        return f"seed {record['seed']} is not a configured seed ({', '.join(map(str, sorted(seeds)))}; " \
               "data/refresh.yaml)"
    return None


def flagged_lines(invalid: list[tuple[Path, str]], root: str | Path | None = None, limit: int = 20,
                  width: int = 200) -> list[str]:
    """Flagged files as short lines, name + reason, at most `limit` lines (then one line counting the rest)."""
    lines = []
    for path, why in invalid[:limit]:
        name = str(path)
        if root is not None:
            try:
                name = str(Path(path).relative_to(root))
            except ValueError:
                pass
        line = f"{name}: {why}"
        lines.append(line if len(line) <= width else line[:width - 3] + "...")
    if len(invalid) > limit:
        lines.append(f"... and {len(invalid) - limit} more (bench status --json lists them all)")
    return lines


def iter_results(results_dir: str | Path = DEFAULT_RESULTS_DIR) -> Iterator[tuple[Path, dict[str, Any] | None]]:
    """Every store file with its record (None for a corrupt or invalid one), in path order."""
    valid, invalid = scan(results_dir, warn=False)
    yield from sorted([*valid, *((p, None) for p, _ in invalid)], key=lambda pr: pr[0])


def scan(results_dir: str | Path = DEFAULT_RESULTS_DIR, warn: bool = True
         ) -> tuple[list[tuple[Path, dict[str, Any]]], list[tuple[Path, str]]]:
    """One pass over the store: (valid (path, record) pairs, invalid (path, problem) pairs).

    Invalid means unreadable, not JSON, failing the schema, at the wrong place, naming a backbone, task or seed we
    do not know (`foreign`), outside the store's layout, or sharing its run id with another file (every copy is set aside: which one is right is unknowable).
    With `warn`, each invalid file gives one InvalidResultWarning naming the file and the field.
    """
    valid: list[tuple[Path, dict[str, Any]]] = []
    invalid: list[tuple[Path, str]] = []
    store = _store_files(results_dir)
    for path in store:
        record, problem = _read_record(path)
        if record is None:
            invalid.append((path, problem or "invalid"))
        elif (why := foreign(record)) is not None:
            invalid.append((path, why))
        else:
            valid.append((path, record))
    invalid += [(p, "outside the layout <backbone>/<task>/<method>/n<size>-s<seed>.json: not read")
                for p in _stray_files(results_dir, store)]
    by_id: dict[str, list[Path]] = {}
    for path, record in valid:
        by_id.setdefault(record["run_id"], []).append(path)
    dup = {p for paths in by_id.values() if len(paths) > 1 for p in paths}
    if dup:
        invalid += [(p, f"run_id={_short(r['run_id'], 120)} is not unique") for p, r in valid if p in dup]
        valid = [(p, r) for p, r in valid if p not in dup]
    if warn:
        for path, problem in invalid:
            warnings.warn(f"skipped invalid result file {path}: {problem}", InvalidResultWarning, stacklevel=2)
    return valid, sorted(invalid)


FLAT_COLUMNS = REQUIRED_KEYS + ("run_id", "created_at", "device", "val_accuracy", "overfitting_gap",
                                "examples_per_s", "converged", "num_classes", "mean_input_tokens", "is_pair",
                                "backbone_params", "zero_shot_accuracy", "few_shot_accuracy", "task_version")
CONFIG_COLUMNS = ("task_metric", "task_complexity")  # recorded in config at write time (older runs: None)


def protocol_version(record: dict) -> int:
    """The protocol version a run was measured under; runs from before the protocol had a version were measured
    under version 1 (bench/protocol.py)."""
    config = record.get("config") if isinstance(record.get("config"), dict) else {}
    proto = config.get("protocol") if isinstance(config.get("protocol"), dict) else {}
    version = proto.get("version", 1)
    return version if type(version) is int else 1


def load(results_dir: str | Path = DEFAULT_RESULTS_DIR, include_failed: bool = True, return_invalid: bool = False):
    """All valid runs as a pandas DataFrame, one row per result file (plus a `path` column).

    Invalid files are skipped with one warning each; `return_invalid=True` returns
    (DataFrame, [(path, problem), ...]) so callers can count them.
    """
    import pandas as pd

    valid, invalid = scan(results_dir)
    rows = []
    for path, record in valid:
        if not include_failed and record["status"] != "ok":
            continue
        metrics = record.get("metrics") or {}
        row = {k: record.get(k, metrics.get(k)) for k in FLAT_COLUMNS}
        config = record.get("config") if isinstance(record.get("config"), dict) else {}
        row.update({k: config.get(k) for k in CONFIG_COLUMNS})
        row["protocol_version"] = protocol_version(record)
        row["path"] = str(path)
        rows.append(row)
    df = pd.DataFrame(rows, columns=[*FLAT_COLUMNS, *CONFIG_COLUMNS, "protocol_version", "path"])
    return (df, invalid) if return_invalid else df


# ---------------------------------------------------------------- the one results view
# Everything that aggregates runs (calibration, evaluation, claims audit, evidence, reports) reads these two frames,
# so "successful", "the score", "a cell" and "the task's family" mean one thing across the project.

FAMILIES = {"sst5": "sst2"}  # task -> family: same sentences, so they are left out (and matched) together


def family(task: str) -> str:
    return FAMILIES.get(task, task)


def _task_meta() -> dict[str, dict[str, str]]:
    """Metric and complexity from the built-in task files, for runs written before the run recorded them
    (records from 2026-11-27 on carry config.task_metric / config.task_complexity)."""
    from bench.tasks import load_task, task_names

    out = {}
    for name in task_names():
        try:
            t = load_task(name)
        except Exception:  # noqa: BLE001 - a broken task file must not stop a view; its runs fall back to accuracy
            continue
        out[name] = {"metric": t.metric, "complexity": t.complexity}
    return out


def runs_view(df: Any) -> Any:
    """Successful, scored runs (one row per run) with the columns every consumer shares:

    `score` (the task's metric: accuracy, macro-F1 for the imbalanced tasks, exact match for generation),
    `metric`, `family`, `complexity`, `task_kind`, `num_classes` (1 for generation: chance 0), and the per-cell
    anchors `zs_accuracy` (the backbone's zero-shot prompting accuracy on the task, mean over its prompt-engineering
    runs) and `probe_score` (the linear probe's score at the same n, mean over seeds).
    `df` is `load(...)`'s frame, or a results directory.
    """
    if isinstance(df, (str, Path)):
        df = load(df, include_failed=False)
    ok = df[df.status == "ok"] if "status" in df else df
    ok = ok[ok.accuracy.notna()].copy()
    meta = _task_meta() if len(ok) else {}
    recorded_metric = ok["task_metric"] if "task_metric" in ok else [None] * len(ok)
    recorded_complexity = ok["task_complexity"] if "task_complexity" in ok else [None] * len(ok)
    metric = [m if isinstance(m, str) and m else meta.get(t, {}).get("metric", "accuracy")
              for t, m in zip(ok.task, recorded_metric)]
    f1 = ok.macro_f1 if "macro_f1" in ok else ok.accuracy
    ok["score"] = [float(f) if m == "macro_f1" and f == f else float(a) for m, f, a in zip(metric, f1, ok.accuracy)]
    ok["metric"] = metric
    ok["family"] = [family(t) for t in ok.task]
    ok["complexity"] = [c if isinstance(c, str) and c else meta.get(t, {}).get("complexity", "moderate")
                        for t, c in zip(ok.task, recorded_complexity)]
    ok["task_kind"] = ["generation" if m == "exact_match" else "classification" for m in metric]
    # A generation task has no label set: chance 0, i.e. one "class" on the gain-over-chance scale.
    ok["num_classes"] = [1 if kind == "generation" else k for kind, k in zip(ok.task_kind, ok.num_classes)]
    pe = ok[(ok.method == "prompt_engineering") & ok.zero_shot_accuracy.notna()]
    zs = pe.groupby(["backbone", "task"]).zero_shot_accuracy.mean().to_dict()
    probe = ok[ok.method == "linear_probe"].groupby(["backbone", "task", "train_size"]).score.mean().to_dict()
    ok["zs_accuracy"] = [zs.get((b, t)) for b, t in zip(ok.backbone, ok.task)]
    ok["probe_score"] = [probe.get((b, t, n)) for b, t, n in zip(ok.backbone, ok.task, ok.train_size)]
    return ok.reset_index(drop=True)


CELL = ["backbone", "task", "train_size", "method"]


def one_protocol_per_backbone(df: Any) -> tuple[Any, dict[str, dict[str, Any]]]:
    """(runs of one protocol version per backbone, what was kept and set aside per backbone).

    One calibration never mixes protocols for a backbone (issue 21): while a rerun under a new protocol is under
    way, a backbone's cells come from the version that covers most of its cells (ties: the newer), and the other
    version's runs wait until the rerun overtakes it. Zero-shot prompting and the linear probe never early-stop, so
    their runs count for every version."""
    if "protocol_version" not in df or df.empty:
        return df, {}
    untrained = df.method.isin(["prompt_engineering", "linear_probe"])
    keep = untrained.copy()
    note: dict[str, dict[str, Any]] = {}
    for backbone, g in df[~untrained].groupby("backbone"):
        cells = g.groupby("protocol_version").apply(
            lambda x: len(x[["task", "train_size", "method"]].drop_duplicates()), include_groups=False)
        version = int(max(cells.index, key=lambda v: (int(cells[v]), int(v))))
        chosen = g.protocol_version == version
        keep.loc[g.index[chosen.to_numpy()]] = True
        note[str(backbone)] = {"protocol": version, "trained_runs": int(chosen.sum()),
                               "set_aside": {int(v): int(n) for v, n in g[~chosen].protocol_version.value_counts()
                                             .items()}}
    return df[keep], note


def protocols_text(protocols: dict[str, dict[str, Any]]) -> str:
    """`one_protocol_per_backbone`'s note in words, for every report that reads the store through it."""
    return "; ".join(
        f"{b}: v{p['protocol']} ({p['trained_runs']} trained runs"
        + (", set aside until the rerun completes: " + ", ".join(f"{n} v{v}" for v, n in p["set_aside"].items())
           if p["set_aside"] else "") + ")" for b, p in protocols.items())


def cells_view(runs: Any) -> Any:
    """One row per cell (backbone, task, n, method) of `runs_view`: means over seeds, the seed count and the run
    files behind each mean (`paths`). Columns a caller's frame lacks are left out, never invented."""
    means = ("score", "accuracy", "train_time_s", "peak_rss_mb", "stored_bytes", "overfitting_gap", "forgetting",
             "mean_input_tokens")
    firsts = ("num_classes", "is_pair", "backbone_params", "zs_accuracy", "probe_score", "family", "complexity",
              "metric", "task_kind")
    agg = {c: (c, "mean") for c in means if c in runs}
    agg["score_sd"] = ("score", "std")  # over seeds; NaN for a single seed
    agg.update({c: (c, "first") for c in firsts if c in runs})
    agg["seeds"] = ("seed", "nunique")
    if "path" in runs:
        agg["paths"] = ("path", lambda p: sorted(map(str, p)))
    return runs.groupby(CELL, as_index=False).agg(**agg)
