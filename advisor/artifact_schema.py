"""One schema for the served calibration (`calibration.json`) and the pointer to it (`data/calibration/SERVED`).

Checked on every load, before `ServedCalibration` touches the data: a fault review (issue 25) found that 11 of 22
artifact corruptions raised inside the predictor (KeyError, StopIteration, IndexError, RecursionError, MemoryError)
and two were served silently (every coefficient NaN gave "prompt engineering (score 0/100)"). Anything that fails
here raises `ArtifactError` with one sentence naming the field; `advisor.artifact.load_served` turns it into the
rules-only answer and says why in `last_problem()`.

Also the one bounded reader every user file goes through (`read_bounded`): regular files only (a FIFO given as a
profile hung forever; /dev/zero as the artifact read until MemoryError), a byte cap checked before reading, and an
error that never echoes the file's content.

numpy and the standard library only: this module is on the `recommend()` path.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from advisor.features import GAP_OPTIONS, NUMERIC, gap_features
from advisor.files import FileRefused, read_bounded  # noqa: F401 - re-exported for callers
from advisor.options import OPTIONS

# The served artifact is 0.29 MB (20261127T103210Z, 803 runs, 95 evidence cells); 20 MB leaves 70x room for a
# larger store while a symlink to /dev/zero or a multi-GB file is refused before a byte is parsed.
ARTIFACT_MAX_BYTES = 20_000_000
# Its deepest nesting is 6 (evaluation -> by_backbone -> minilm -> advisor -> ...); 32 leaves room for new blocks
# while depth 10,000 (RecursionError in json) is refused by a linear pre-scan.
ARTIFACT_MAX_DEPTH = 32
POINTER_MAX_BYTES = 256  # SERVED holds one folder name (16 characters today)
MAX_LIST = 200_000  # longest list allowed anywhere in the artifact (the longest today: 95 evidence cells)
MAX_STRING = 2_000_000  # longest string (evaluation_markdown, ~10 KB today)
MAX_ABS = 1e9  # every number in the models; the largest today is 1.3e8 (a backbone's parameter count)
MODES = ("probe", "zero_shot", "profile")  # advisor.calibration's three served models
METHODS = (*OPTIONS, "linear_probe")  # methods an evidence cell may report (the probe is a feature, not an option)
DOMAIN_SHIFTS = ("none", "moderate", "large")  # advisor.profile.CHOICES["domain_shift"]
COMPLEXITIES = ("simple", "moderate", "complex")  # advisor.profile.CHOICES["task_complexity"]
TASK_KINDS = ("classification", "generation")  # advisor.profile.CHOICES["task_kind"]
POINTER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class ArtifactError(ValueError):
    """One sentence: which field of the artifact or pointer is wrong and what is allowed."""


# FileRefused and read_bounded live in advisor/files.py (layer 0: the profile and task readers use them too).


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)


def json_depth(raw: bytes) -> int:
    """Deepest bracket nesting of a JSON text, strings blanked first (a linear scan, no recursion)."""
    a = np.frombuffer(_JSON_STRING.sub(b'""', raw), dtype=np.uint8)
    if not len(a):
        return 0
    step = np.isin(a, (ord("["), ord("{"))).astype(np.int64) - np.isin(a, (ord("]"), ord("}"))).astype(np.int64)
    return int(np.cumsum(step).max())


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a finite number")


def _bounded_int(text: str) -> int:
    # Bound the digits before conversion: a 5,000-digit integer raised a 152-line traceback (limit 4,300 digits).
    if len(text.lstrip("-")) > 18:
        raise ValueError(f"an integer of {len(text.lstrip('-'))} digits (at most 18)")
    return int(text)


def load_json_bounded(raw: bytes, max_depth: int, what: str) -> Any:
    """Parse after the depth pre-scan; NaN/Infinity and over-long integers are refused by the parser itself."""
    depth = json_depth(raw)
    if depth > max_depth:
        raise ArtifactError(f"{what}: nesting depth {depth} (at most {max_depth})")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constant, parse_int=_bounded_int)
    except UnicodeDecodeError as err:
        raise ArtifactError(f"{what}: not UTF-8 text (byte {err.start})") from None
    except (ValueError, RecursionError) as err:
        raise ArtifactError(f"{what}: not valid JSON ({str(err)[:100]})") from None


# ------------------------------------------------------------------ the pointer
def read_pointer(root: Path) -> Path:
    """data/calibration/SERVED -> the served calibration.json, which must lie inside `root` (after symlinks)."""
    raw = read_bounded(root / "SERVED", POINTER_MAX_BYTES, "the SERVED pointer")
    try:
        name = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ArtifactError("the SERVED pointer is not UTF-8 text; it must hold one folder name") from None
    if not POINTER_NAME.fullmatch(name) or name in (".", ".."):
        raise ArtifactError("the SERVED pointer must hold one folder name of letters, digits, '.', '_' or '-' "
                            "(no path separators), like 20261127T103210Z")
    target = root / name / "calibration.json"
    inside(target, root, "the SERVED pointer's calibration")
    return target


def inside(path: Path, root: Path, what: str) -> None:
    """Refuse a path whose real location (symlinks resolved) is outside `root`."""
    try:
        real, base = path.resolve(), root.resolve()
    except (OSError, RuntimeError) as err:  # RuntimeError: a symlink loop on older Pythons
        raise ArtifactError(f"{what} {path} cannot be resolved ({type(err).__name__})") from None
    if base != real and base not in real.parents:
        raise ArtifactError(f"{what} {path} resolves outside {root}")


# ------------------------------------------------------------------ the artifact
def _num(v: Any, where: str, lo: float = -MAX_ABS, hi: float = MAX_ABS) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ArtifactError(f"{where}: expected a number, got {type(v).__name__}")
    if not math.isfinite(v) or not lo <= v <= hi:
        raise ArtifactError(f"{where}: {v!r} is not a finite number in [{lo:g}, {hi:g}]")
    return float(v)


def _int(v: Any, where: str, lo: int = 0, hi: int = 10**12) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ArtifactError(f"{where}: expected an integer in [{lo}, {hi}], got {str(v)[:40]!r}")
    return v


def _str(v: Any, where: str, choices: tuple[str, ...] | None = None) -> str:
    if not isinstance(v, str) or len(v) > MAX_STRING:
        raise ArtifactError(f"{where}: expected text, got {type(v).__name__}")
    if choices is not None and v not in choices:
        raise ArtifactError(f"{where}: {v[:40]!r} is not one of {', '.join(choices)}")
    return v


def _dict(v: Any, where: str, required: tuple[str, ...] = ()) -> Mapping[str, Any]:
    if not isinstance(v, dict):
        raise ArtifactError(f"{where}: expected an object, got {type(v).__name__}")
    missing = [k for k in required if k not in v]
    if missing:
        raise ArtifactError(f"{where}: missing {', '.join(missing)}")
    return v


def _list(v: Any, where: str, item: Callable[[Any, str], Any], min_len: int = 0, max_len: int = MAX_LIST,
          length: int | None = None) -> list[Any]:
    if not isinstance(v, list):
        raise ArtifactError(f"{where}: expected a list, got {type(v).__name__}")
    if length is not None and len(v) != length:
        raise ArtifactError(f"{where}: {len(v)} entries, expected {length}")
    if not min_len <= len(v) <= max_len:
        raise ArtifactError(f"{where}: {len(v)} entries (allowed {min_len} to {max_len})")
    return [item(x, f"{where}[{i}]") for i, x in enumerate(v)]


def _keys(d: Mapping[str, Any], where: str, allowed: tuple[str, ...]) -> None:
    bad = [k for k in d if k not in allowed]
    if bad:
        raise ArtifactError(f"{where}: unknown name {str(bad[0])[:40]!r} (allowed: {', '.join(allowed)})")


def _linear_model(v: Any, where: str, width: int) -> None:
    """The served form of a ridge model (advisor.features.linear_predict) with `width` design columns."""
    m = _dict(v, where, ("coef", "mean", "scale", "intercept", "residual_low", "residual_high"))
    for key in ("coef", "mean"):
        _list(m[key], f"{where}.{key}", _num, length=width)
    scale = _list(m["scale"], f"{where}.scale", _num, length=width)
    if any(abs(s) < 1e-12 for s in scale):
        raise ArtifactError(f"{where}.scale: a zero entry (every design column is divided by its scale)")
    for key in ("intercept", "residual_low", "residual_high"):
        _num(m[key], f"{where}.{key}", -100.0, 100.0)  # gain-over-chance units: |values| are under 1 today


def _mode(name: str, v: Any, where: str) -> None:
    m = _dict(v, where, ("features", "model", "decision", "sigma_diff"))
    feats = _list(m["features"], f"{where}.features", lambda x, w: _str(x, w, tuple(NUMERIC)), 1, len(NUMERIC))
    if len(set(feats)) != len(feats):
        raise ArtifactError(f"{where}.features: a feature is listed twice")
    usable = tuple(f for f in NUMERIC if f != "probe_gain" or name == "probe")  # only the probe mode measures it
    for f in feats:
        if f not in usable:
            raise ArtifactError(f"{where}.features: {f!r} is measured only in the probe mode")
    if m.get("anchor") is not None:
        _str(m["anchor"], f"{where}.anchor", usable)
    _linear_model(m["model"], f"{where}.model", len(OPTIONS) * (1 + len(feats)) + len(feats))
    d = _dict(m["decision"], f"{where}.decision", ("w", "span"))
    _num(d["w"], f"{where}.decision.w", 0.0, 1.0)
    _num(d["span"], f"{where}.decision.span", 1e-6, 10.0)  # divides the accuracy difference
    if "risk" in d:
        _num(d["risk"], f"{where}.decision.risk", 0.0, 10.0)
    _num(m["sigma_diff"], f"{where}.sigma_diff", 0.0, 10.0)
    if m.get("option_spread") is not None:
        spread = _dict(m["option_spread"], f"{where}.option_spread")
        _keys(spread, f"{where}.option_spread", OPTIONS)
        for o, x in spread.items():
            _num(x, f"{where}.option_spread.{o}", 0.0, 10.0)
    if m.get("option_residuals") is not None:
        res = _dict(m["option_residuals"], f"{where}.option_residuals")
        _keys(res, f"{where}.option_residuals", OPTIONS)
        for o, x in res.items():
            _list(x, f"{where}.option_residuals.{o}", lambda y, w: _num(y, w, -100.0, 100.0), 1, 1000)
    if "rows" in m:
        _int(m["rows"], f"{where}.rows")


def _points(v: Any, where: str, sources: int | None = None) -> None:
    """Per option, [log10 params, log10 examples] points; with `sources`, a third item may name the point's source
    (its index in published_sources; calibrations before 2026-12-05 have none)."""
    pts = _dict(v, where)
    _keys(pts, where, OPTIONS)

    def point(r: Any, w: str) -> None:
        _list(r, w, lambda x, w2: _num(x, w2, -100.0, 100.0), 2, 2 if sources is None else 3)
        if len(r) == 3:
            _int(r[2], f"{w}[2]", 0, max(sources - 1, 0))

    for o, rows in pts.items():
        _list(rows, f"{where}.{o}", point)


def _scaling(v: Any, where: str) -> None:
    s = _dict(v, where, ("sources", "gap_model", "evidence_points"))
    sources = _list(s["sources"], f"{where}.sources", _str, 0, 1000)
    width = len(gap_features(GAP_OPTIONS[0], 0.0, 0.0, 0.0, len(sources)))
    _linear_model(s["gap_model"], f"{where}.gap_model", width)
    _points(s["evidence_points"], f"{where}.evidence_points")
    if s.get("published_sources") is not None:
        _list(s["published_sources"], f"{where}.published_sources", _str, 0, 1000)
    if s.get("published_points") is not None:
        _points(s["published_points"], f"{where}.published_points", len(s.get("published_sources") or []))
    if s.get("gap_residuals") is not None:
        # 10%/90% residual quantiles (advisor.features.residual_band): [low, high] with low <= high, per
        # provenance and per option under by_option (a reversed band made the published margin floor negative).
        q = _dict(s["gap_residuals"], f"{where}.gap_residuals")
        _keys(q, f"{where}.gap_residuals", ("published", "ours", "by_option"))
        bands = [(f"{where}.gap_residuals.{k}", q[k]) for k in ("published", "ours") if k in q]
        if "by_option" in q:
            by = _dict(q["by_option"], f"{where}.gap_residuals.by_option")
            _keys(by, f"{where}.gap_residuals.by_option", GAP_OPTIONS)
            for o, kinds in by.items():
                _keys(_dict(kinds, f"{where}.gap_residuals.by_option.{o}"), f"{where}.gap_residuals.by_option.{o}",
                      ("published", "ours"))
                bands += [(f"{where}.gap_residuals.by_option.{o}.{k}", b) for k, b in kinds.items()]
        for w, band in bands:
            low, high = _list(band, w, lambda y, ww: _num(y, ww, -1.0, 1.0), length=2)
            if low > high:
                raise ArtifactError(f"{w}: low {low} above high {high} (allowed: low <= high)")
    # (1 - shrink) ** decades: a base <= 0 gives NaN or a sign flip.
    for key in ("ft_error_shrink_per_decade", "pe_error_shrink_per_decade"):
        if s.get(key) is not None:
            _num(s[key], f"{where}.{key}", 0.0, 0.99)
    if s.get("pe_by_kind") is not None:
        by = _dict(s["pe_by_kind"], f"{where}.pe_by_kind")
        _keys(by, f"{where}.pe_by_kind", TASK_KINDS)
        for kind, law in by.items():
            law = _dict(law, f"{where}.pe_by_kind.{kind}", ("error_shrink_per_decade",))
            _num(law["error_shrink_per_decade"], f"{where}.pe_by_kind.{kind}.error_shrink_per_decade", 0.0, 0.99)


def _evidence_cell(v: Any, where: str) -> None:
    c = _dict(v, where, ("backbone", "task", "num_classes", "is_pair", "train_size", "methods"))
    _str(c["backbone"], f"{where}.backbone")
    _str(c["task"], f"{where}.task")
    _int(c["num_classes"], f"{where}.num_classes", 1, 1_000_000)
    if not isinstance(c["is_pair"], bool):
        raise ArtifactError(f"{where}.is_pair: expected true or false")
    _int(c["train_size"], f"{where}.train_size", 1)
    if c.get("mean_input_tokens") is not None:
        _num(c["mean_input_tokens"], f"{where}.mean_input_tokens", 0.0)
    if c.get("complexity") is not None:
        _str(c["complexity"], f"{where}.complexity", COMPLEXITIES)
    if "task_kind" in c:
        _str(c["task_kind"], f"{where}.task_kind", TASK_KINDS)
    methods = _dict(c["methods"], f"{where}.methods")
    if not methods:
        raise ArtifactError(f"{where}.methods: empty (a cell reports at least one method)")
    _keys(methods, f"{where}.methods", METHODS)
    for m, r in methods.items():
        r = _dict(r, f"{where}.methods.{m}", ("score", "seeds", "runs"))
        _num(r["score"], f"{where}.methods.{m}.score", 0.0, 1.0)
        _int(r["seeds"], f"{where}.methods.{m}.seeds", 1, 10_000)
        _list(r["runs"], f"{where}.methods.{m}.runs", _str)


def validate_artifact(art: Any, version: int | None = None) -> None:
    """Every field the predictor reads, with its type, length, finite range and allowed names; raises
    `ArtifactError` at the first problem. Keys it does not read (evaluation, families, ...) are left alone."""
    a = _dict(art, "calibration.json", ("version",))
    if version is not None and a["version"] != version:
        raise ArtifactError(f"calibration version {str(a['version'])[:20]!r} (this advisor reads version {version})")
    a = _dict(art, "calibration.json", ("version", "modes", "backbones", "shift_quantile", "complexity_shift"))
    modes = _dict(a["modes"], "modes")
    if not modes:
        raise ArtifactError("modes: empty (at least one of probe, zero_shot, profile)")
    _keys(modes, "modes", MODES)
    for name, spec in modes.items():
        _mode(name, spec, f"modes.{name}")
    backbones = _dict(a["backbones"], "backbones")
    if not backbones:
        raise ArtifactError("backbones: empty (at least one measured backbone and its parameter count)")
    for b, p in backbones.items():
        _num(p, f"backbones.{str(b)[:40]}", 1.0, 1e14)
    sq = _dict(a["shift_quantile"], "shift_quantile", DOMAIN_SHIFTS)
    _keys(sq, "shift_quantile", DOMAIN_SHIFTS)
    for k, x in sq.items():
        _num(x, f"shift_quantile.{k}", 0.0, 1.0)
    cs = _dict(a["complexity_shift"], "complexity_shift")
    _keys(cs, "complexity_shift", COMPLEXITIES)
    for k, x in cs.items():
        _num(x, f"complexity_shift.{k}", -1.0, 1.0)
    if a.get("zero_shot_gains") is not None:
        _list(a["zero_shot_gains"], "zero_shot_gains", lambda x, w: _num(x, w, -100.0, 1.0))
    if a.get("zero_shot_gains_by_kind") is not None:
        zk = _dict(a["zero_shot_gains_by_kind"], "zero_shot_gains_by_kind")
        _keys(zk, "zero_shot_gains_by_kind", TASK_KINDS)
        for k, x in zk.items():
            _list(x, f"zero_shot_gains_by_kind.{k}", lambda y, w: _num(y, w, -100.0, 1.0))
    if a.get("tasks_by_kind") is not None:
        tk = _dict(a["tasks_by_kind"], "tasks_by_kind")
        _keys(tk, "tasks_by_kind", TASK_KINDS)
        for k, x in tk.items():
            _list(x, f"tasks_by_kind.{k}", _str)
    if a.get("measured_kinds") is not None:
        _list(a["measured_kinds"], "measured_kinds", lambda x, w: _str(x, w, TASK_KINDS))
    if a.get("measured_sizes") is not None:
        _list(a["measured_sizes"], "measured_sizes", lambda x, w: _int(x, w, 1))
    if a.get("evidence") is not None:
        _list(a["evidence"], "evidence", _evidence_cell)
    if a.get("scaling") is not None:
        _scaling(a["scaling"], "scaling")
    if "n_runs" in a:
        _int(a["n_runs"], "n_runs")
    for key in ("created_at", "source"):
        if key in a:
            _str(a[key], key)


def read_artifact(path: Path, root: Path | None, version: int | None = None) -> dict[str, Any]:
    """Read and validate one calibration.json: regular file, inside `root` when given, bounded, schema-checked."""
    if root is not None:
        inside(path, root, "the served calibration")
    try:
        raw = read_bounded(path, ARTIFACT_MAX_BYTES, "the served calibration")
    except FileRefused as err:
        raise ArtifactError(str(err)) from None
    art = load_json_bounded(raw, ARTIFACT_MAX_DEPTH, "calibration.json")
    validate_artifact(art, version)
    return art
