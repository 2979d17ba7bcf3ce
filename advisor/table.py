"""Load the decision table (`data/decision_table.yaml`) into frozen dataclasses.

The table is data, not code: rules, hard constraints, caveats and hybrids, each
with a rationale and a source. `load_table()` validates it once and caches it.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from advisor.profile import CHOICES, OPTIONS, field_names

# The repository's data/ folder (an editable install keeps it next to the package).
DATA_DIR = Path(os.environ.get("TUNING_ADVISOR_DATA_ROOT", Path(__file__).resolve().parent.parent / "data"))
DEFAULT_TABLE = DATA_DIR / "decision_table.yaml"

_OPS = ("eq", "gt", "gte", "lt", "lte", "in")


class TableError(ValueError):
    """The decision table file is malformed; the message names the entry."""


@dataclass(frozen=True)
class Rule:
    id: str
    factor: str
    when: Mapping[str, Any]
    weight: float
    effects: Mapping[str, float]
    rationale: str
    source: str
    # Set when the claims audit changed this rule: {claim, evidence, was: {weight, effects}}.
    revised: Mapping[str, Any] | None = None


CHECKS = ("training_memory", "examples_per_class", "prompt_context")


@dataclass(frozen=True)
class Constraint:
    id: str
    infeasible: tuple[str, ...]
    reason: str
    source: str
    when: Mapping[str, Any] | None = None
    check: str | None = None
    min_per_class: int = 0  # check examples_per_class: labelled examples needed per class


@dataclass(frozen=True)
class Note:
    """A caveat (`name` empty) or a hybrid suggestion (`name` set)."""

    when: Mapping[str, Any]
    message: str
    source: str
    name: str = ""


@dataclass(frozen=True)
class DecisionTable:
    version: str
    score_scale: float
    rules: tuple[Rule, ...]
    constraints: tuple[Constraint, ...]
    caveats: tuple[Note, ...]
    hybrids: tuple[Note, ...]
    compute_memory_gb: Mapping[str, float]
    compute_tflops: Mapping[str, float]
    compute_gpus: Mapping[str, int] = None  # GPUs per compute level (1 each when the table gives none)


def matches(when: Mapping[str, Any], profile: Any) -> bool:
    """True when every condition in `when` holds for `profile`."""
    for field, cond in when.items():
        value = getattr(profile, field)
        if type(cond) is dict:  # parsed YAML: plain dicts (a typing.Mapping check costs ~4 us on this hot path)
            for op, ref in cond.items():
                if op == "in":
                    ok = value in ref
                elif value is None:
                    ok = False
                elif op == "eq":
                    ok = value == ref
                elif op == "gt":
                    ok = value > ref
                elif op == "gte":
                    ok = value >= ref
                elif op == "lt":
                    ok = value < ref
                else:  # lte
                    ok = value <= ref
                if not ok:
                    return False
        elif value != cond:
            return False
    return True


def _check_when(where: str, when: Any) -> Mapping[str, Any]:
    if not isinstance(when, Mapping) or not when:
        raise TableError(f"{where}: 'when' must be a non-empty mapping")
    known = set(field_names())
    for field, cond in when.items():
        if field not in known:
            raise TableError(f"{where}: unknown profile field {field!r}")
        if isinstance(cond, Mapping):
            bad = set(cond) - set(_OPS)
            if bad:
                raise TableError(f"{where}: unknown operator(s) {sorted(bad)} (allowed: {', '.join(_OPS)})")
            if "in" in cond and field in CHOICES and not set(cond["in"]) <= set(CHOICES[field]):
                raise TableError(f"{where}: {field} values {cond['in']} not in {CHOICES[field]}")
        elif field in CHOICES and cond not in CHOICES[field]:
            raise TableError(f"{where}: {field}={cond!r} not in {CHOICES[field]}")
    return when


def _check_options(where: str, names: Any) -> tuple[str, ...]:
    bad = [n for n in names if n not in OPTIONS]
    if bad:
        raise TableError(f"{where}: unknown option(s) {bad} (allowed: {', '.join(OPTIONS)})")
    return tuple(names)


def parse_table(raw: Mapping[str, Any]) -> DecisionTable:
    """Validate a loaded YAML mapping and build a `DecisionTable`."""
    if tuple(raw.get("options", ())) != OPTIONS:
        raise TableError(f"options must be exactly {list(OPTIONS)}")
    rules = []
    for i, r in enumerate(raw.get("rules", [])):
        where = f"rules[{i}] ({r.get('id', '?')})"
        for key in ("id", "factor", "when", "weight", "effects", "rationale", "source"):
            if key not in r:
                raise TableError(f"{where}: missing {key!r}")
        _check_options(where, r["effects"])
        if any(not -2 <= v <= 2 for v in r["effects"].values()):
            raise TableError(f"{where}: effects must lie in -2..2")
        revised = r.get("revised")
        if revised is not None:
            if not isinstance(revised, Mapping) or not {"claim", "evidence", "was"} <= set(revised):
                raise TableError(f"{where}: 'revised' needs claim, evidence and was (the weight/effects before)")
        rules.append(Rule(r["id"], r["factor"], _check_when(where, r["when"]), float(r["weight"]),
                          {o: float(r["effects"].get(o, 0)) for o in OPTIONS}, r["rationale"], r["source"],
                          revised))
    constraints = []
    for i, c in enumerate(raw.get("constraints", [])):
        where = f"constraints[{i}] ({c.get('id', '?')})"
        if ("when" in c) == ("check" in c):
            raise TableError(f"{where}: needs exactly one of 'when' or 'check'")
        if "check" in c and c["check"] not in CHECKS:
            raise TableError(f"{where}: unknown check {c['check']!r} (allowed: {', '.join(CHECKS)})")
        per_class = c.get("min_per_class", 0)
        if c.get("check") == "examples_per_class" and (type(per_class) is not int or not 1 <= per_class <= 1000):
            raise TableError(f"{where}: min_per_class={per_class!r} (allowed: an integer 1-1000)")
        constraints.append(Constraint(c["id"], _check_options(where, c["infeasible"]), c["reason"], c["source"],
                                      _check_when(where, c["when"]) if "when" in c else None, c.get("check"),
                                      per_class))
    caveats = tuple(Note(_check_when(f"caveats[{i}]", c["when"]), c["message"], c["source"])
                    for i, c in enumerate(raw.get("caveats", [])))
    hybrids = tuple(Note(_check_when(f"hybrids[{i}]", h["when"]), h["rationale"], h["source"], h["name"])
                    for i, h in enumerate(raw.get("hybrids", [])))
    for key in ("compute_memory_gb", "compute_tflops", "compute_gpus"):
        if key == "compute_gpus" and key not in raw:
            continue
        if set(raw.get(key, {})) != set(CHOICES["compute"]):
            raise TableError(f"{key} must give a value for each compute level {CHOICES['compute']}")
    gpus = raw.get("compute_gpus") or {c: 1 for c in CHOICES["compute"]}
    if not all(type(v) is int and 1 <= v <= 100_000 for v in gpus.values()):
        raise TableError(f"compute_gpus={gpus!r} (allowed: an integer 1-100000 per compute level)")
    return DecisionTable(str(raw.get("table_version", "?")), float(raw.get("score_scale", 12)),
                         tuple(rules), tuple(constraints), caveats, hybrids,
                         dict(raw["compute_memory_gb"]), dict(raw["compute_tflops"]), dict(gpus))


@functools.lru_cache(maxsize=8)
def load_table(path: str | None = None) -> DecisionTable:
    """Load and validate the decision table (cached per path)."""
    p = Path(path) if path else DEFAULT_TABLE
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as err:
        raise TableError(f"cannot read decision table {p}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise TableError(f"decision table {p} is not valid YAML: {err}") from None
    return parse_table(raw)
