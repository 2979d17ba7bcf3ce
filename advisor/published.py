"""Published evidence: `data/evidence/<source>.yaml`, one file per source, every row cited (torch- and pandas-free).

`load_evidence()` returns flat rows with the source's citation merged in, `provenance: "published"` and `score` =
value / value_max (flipped when lower is better). A row that breaks a rule is skipped with one warning naming the
file, the row and the field — never a crash, and never a fit on it.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import yaml

EVIDENCE_DIR = Path(__file__).resolve().parent.parent / "data" / "evidence"
METHODS = ("prompt_engineering", "prompt_tuning", "prefix_tuning", "lora", "full_finetuning")
ARCHITECTURES = ("decoder", "encoder", "encoder-decoder")
TASK_KINDS = ("classification", "generation")
SOURCE_FIELDS = ("id", "authors", "title", "venue", "year", "url")
MAX_BYTES = 2_000_000


class EvidenceError(ValueError):
    """A published-evidence row or file breaks the schema; the message names the file, row and field."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        v = float(value)
    except OverflowError:
        return None
    return v if math.isfinite(v) else None


def check_row(row: Any, where: str) -> dict[str, Any]:
    """The validated row, or EvidenceError naming the field."""
    if not isinstance(row, dict):
        raise EvidenceError(f"{where}: a row must be a mapping")

    def bad(field: str, allowed: str) -> EvidenceError:
        return EvidenceError(f"{where}: {field}={str(row.get(field))[:40]!r} (allowed: {allowed})")

    for field in ("model", "task", "metric", "where"):
        if not isinstance(row.get(field), str) or not row[field].strip():
            raise bad(field, "a non-empty string")
    if row.get("method") not in METHODS:
        raise bad("method", " | ".join(METHODS))
    if row.get("architecture") not in ARCHITECTURES:
        raise bad("architecture", " | ".join(ARCHITECTURES))
    if row.get("task_kind") not in TASK_KINDS:
        raise bad("task_kind", " | ".join(TASK_KINDS))
    params = _number(row.get("model_params_b"))
    if params is None or not 0 < params <= 10_000:
        raise bad("model_params_b", "a number of billions of parameters, > 0 and <= 10000")
    vmax = _number(row.get("value_max"))
    if vmax not in (1.0, 100.0):
        raise bad("value_max", "1 | 100")
    value = _number(row.get("value"))
    if value is None or not 0 <= value <= vmax:
        raise bad("value", f"a number in 0..{vmax:g}")
    n = row.get("train_examples")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
        raise bad("train_examples", "null or an integer >= 0")
    # In-context learning: how many labelled examples sit in each prompt. It can differ from train_examples (the
    # labelled set a user needs): Brown et al. 2020 draw a fresh K per test item from the training set.
    d = row.get("demonstrations")
    if d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 0):
        raise bad("demonstrations", "null or an integer >= 0")
    if d is not None and row.get("method") != "prompt_engineering":
        raise bad("demonstrations", "null unless method is prompt_engineering")
    z = row.get("zero_shot")
    if z is not None and (_number(z) is None or not 0 <= float(z) <= vmax):
        raise bad("zero_shot", f"null or a number in 0..{vmax:g}")
    hib = row.get("higher_is_better", True)
    if not isinstance(hib, bool):
        raise bad("higher_is_better", "true | false")
    score = value / vmax
    return {**row, "model_params_b": params, "value": value, "value_max": vmax, "higher_is_better": hib,
            "score": score if hib else 1.0 - score, "provenance": "published"}


def _source(raw: Any, path: Path) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("source"), dict):
        raise EvidenceError(f"{path.name}: top level must be a mapping with a 'source' mapping")
    src = raw["source"]
    for field in SOURCE_FIELDS:
        if field == "year":
            if isinstance(src.get("year"), bool) or not isinstance(src.get("year"), int):
                raise EvidenceError(f"{path.name}: source.year={str(src.get('year'))[:20]!r} (allowed: an integer)")
        elif not isinstance(src.get(field), str) or not src[field].strip():
            raise EvidenceError(f"{path.name}: source.{field} (allowed: a non-empty string)")
    if src["id"] != path.stem:
        raise EvidenceError(f"{path.name}: source.id={src['id'][:40]!r} (allowed: the file name, {path.stem!r})")
    return src


def citation(src: dict[str, Any], row: dict[str, Any]) -> str:
    return f"{reference(src)}, {row['where']}" + (f", {src['url']}@{src['commit']}" if src.get("commit") else "")


def reference(src: dict[str, Any]) -> str:
    """"First author et al., Title, Venue Year" (the year once, also when the venue already names it)."""
    authors = str(src["authors"]).split(",")[0].strip() + (" et al." if "," in str(src["authors"]) else "")
    venue = str(src["venue"]) if str(src["year"]) in str(src["venue"]) else f"{src['venue']} {src['year']}"
    return f"{authors}, {src['title']}, {venue}"


def load_file(path: Path) -> list[dict[str, Any]]:
    """Validated rows of one source file; bad rows are skipped with a warning, a bad file raises EvidenceError."""
    if path.stat().st_size > MAX_BYTES:
        raise EvidenceError(f"{path.name}: larger than {MAX_BYTES:,} bytes")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise EvidenceError(f"{path.name}: not UTF-8 text") from None
    except yaml.YAMLError as err:
        raise EvidenceError(f"{path.name}: not valid YAML ({str(err)[:80]})") from None
    src = _source(raw, path)
    rows = raw.get("rows") or []
    if not isinstance(rows, list):
        raise EvidenceError(f"{path.name}: rows must be a list")
    out = []
    for i, row in enumerate(rows):
        try:
            r = check_row(row, f"{path.name} row {i}")
        except EvidenceError as err:
            warnings.warn(f"published evidence skipped: {err}", stacklevel=2)
            continue
        extra = {k: src[k] for k in ("train_examples_range",) if k in src}
        out.append({**extra, **r, "source_id": src["id"], "citation": citation(src, r), "year": src["year"],
                    "reference": reference(src)})
    return out


def load_evidence(folder: str | Path | None = None) -> list[dict[str, Any]]:
    """Every valid row of every source file in `folder` (default data/evidence/)."""
    folder = Path(folder) if folder else EVIDENCE_DIR
    out: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            out += load_file(path)
        except (EvidenceError, OSError) as err:
            warnings.warn(f"published evidence file skipped: {err}", stacklevel=2)
    return out


def summary(rows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Per source: rows, models, size span, methods, tasks (for the README, CLI and app)."""
    rows = load_evidence() if rows is None else rows
    by: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault(r["source_id"], []).append(r)
    return [{"source": s, "rows": len(rs), "models": sorted({r["model"] for r in rs}),
             "params_b": [min(r["model_params_b"] for r in rs), max(r["model_params_b"] for r in rs)],
             "methods": sorted({r["method"] for r in rs}), "tasks": sorted({r["task"] for r in rs}),
             "citation": rs[0]["reference"]} for s, rs in sorted(by.items())]
