"""The result store: one immutable JSON file per run, written atomically; a pandas loader.

Torch-free: the advisor and the app read results through this module.

Layout: `<results_dir>/<backbone>/<task>/<method>/n<size>-s<seed>.json`.
"""

from __future__ import annotations

import json
import os
import re
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


def result_path(results_dir: str | Path, backbone: str, task: str, method: str, train_size: int, seed: int) -> Path:
    return Path(results_dir) / safe_name(backbone) / safe_name(task) / method / f"n{train_size}-s{seed}.json"


def validate(record: Any) -> list[str]:
    """Problems with a result record (empty list = valid)."""
    if not isinstance(record, dict):
        return ["record is not a JSON object"]
    problems = [f"missing key {k!r}" for k in REQUIRED_KEYS if k not in record]
    if problems:
        return problems
    if record["schema_version"] != SCHEMA_VERSION:
        problems.append(f"schema_version={record['schema_version']!r} (expected {SCHEMA_VERSION})")
    if record["status"] not in ("ok", "failed"):
        problems.append(f"status={record['status']!r} (allowed: ok | failed)")
    if record["status"] == "failed" and not record["error"]:
        problems.append("failed run without an error message")
    if record["status"] == "ok":
        for key in NUMERIC_OK:
            if not isinstance(record[key], (int, float)) or isinstance(record[key], bool):
                problems.append(f"{key}={record[key]!r} is not a number")
        for key in ("accuracy", "macro_f1", "train_accuracy"):
            if isinstance(record[key], (int, float)) and not 0.0 <= record[key] <= 1.0:
                problems.append(f"{key}={record[key]!r} outside 0..1")
    return problems


class ResultExists(FileExistsError):
    """Results are immutable: an existing file is only replaced with force=True."""


def write_result(path: str | Path, record: dict[str, Any], force: bool = False) -> Path:
    """Write atomically: a temp file in the same folder, fsync, then rename over the target.

    A crash at any point leaves either the old file or the new one, never a torn one.
    """
    path = Path(path)
    problems = validate(record)
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


def read_result(path: str | Path) -> dict[str, Any] | None:
    """The record at `path`, or None when it is absent, unreadable or invalid."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if not validate(record) else None


def iter_results(results_dir: str | Path = DEFAULT_RESULTS_DIR) -> Iterator[tuple[Path, dict[str, Any] | None]]:
    """Every `*.json` under the store with its record (None for a corrupt or invalid file)."""
    root = Path(results_dir)
    if not root.exists():
        return
    for path in sorted(root.glob("*/*/*/n*-s*.json")):
        yield path, read_result(path)


FLAT_COLUMNS = REQUIRED_KEYS + ("run_id", "created_at", "device", "val_accuracy", "overfitting_gap",
                                "examples_per_s", "converged", "num_classes", "mean_input_tokens", "is_pair",
                                "backbone_params", "zero_shot_accuracy", "few_shot_accuracy", "task_version")


def load(results_dir: str | Path = DEFAULT_RESULTS_DIR, include_failed: bool = True):
    """All runs as a pandas DataFrame, one row per result file (plus a `path` column)."""
    import pandas as pd

    rows = []
    for path, record in iter_results(results_dir):
        if record is None or (not include_failed and record["status"] != "ok"):
            continue
        row = {k: record.get(k, record.get("metrics", {}).get(k)) for k in FLAT_COLUMNS}
        row["path"] = str(path)
        rows.append(row)
    return pd.DataFrame(rows, columns=[*FLAT_COLUMNS, "path"])
