"""The model catalog (`data/models.yaml`): common open models a team can name instead of typing a size.

Each entry carries the parameter count and the shape the cost formulas use (layers, hidden size), plus the
source every number was copied from. `get_model(name)` finds an entry case-insensitively; an unknown name
raises `UnknownModel`, which names the field `model` and lists the allowed names.

Torch-free and yaml-only: `advisor.profile` imports it to validate a profile's `model` field.
"""

from __future__ import annotations

import functools
import math
import os
import reprlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


# The repository's data/ folder, found the same way as advisor.table's (no import: profile sits below table).
DATA_DIR = Path(os.environ.get("TUNING_ADVISOR_DATA_ROOT", Path(__file__).resolve().parent.parent / "data"))
DEFAULT_CATALOG = DATA_DIR / "models.yaml"
MAX_CATALOG_BYTES = 1_000_000
# The entry fields: (name, type, required). `source` and `params_source` are required: no number without one.
_FIELDS: tuple[tuple[str, type | tuple[type, ...], bool], ...] = (
    ("name", str, True), ("params_b", (int, float), True), ("layers", int, True), ("hidden_size", int, True),
    ("context", int, True), ("vocab_size", int, False), ("license", str, False), ("architecture", str, False),
    ("source", str, True), ("params_source", str, True),
)


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the entry and the field."""


class UnknownModel(ValueError):
    """A model name that is not in the catalog. `.field` is "model"; `.allowed` lists the catalog's names."""

    def __init__(self, value: Any, allowed: list[str]):
        self.field, self.value, self.allowed = "model", value, allowed
        # reprlib, not str(): a bad value may be a large structure, and the message quotes only its start.
        super().__init__(f"model={reprlib.repr(value)[:80]} (allowed: {', '.join(allowed)} — or leave it empty and "
                         "give model_params_b)")


@dataclass(frozen=True)
class ModelSpec:
    """One catalog entry: size, shape and where each was read."""

    name: str
    params_b: float
    layers: int
    hidden_size: int
    context: int
    source: str
    params_source: str
    vocab_size: int | None = None
    license: str | None = None
    architecture: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _entry(i: int, raw: Any) -> ModelSpec:
    if not isinstance(raw, dict):
        raise CatalogError(f"models[{i}]: expected a mapping of fields, got {type(raw).__name__}")
    where = f"models[{i}] ({str(raw.get('name'))[:40]})"
    unknown = sorted(set(raw) - {f for f, _, _ in _FIELDS})
    if unknown:
        raise CatalogError(f"{where}: unknown field(s) {', '.join(map(str, unknown))} "
                           f"(allowed: {', '.join(f for f, _, _ in _FIELDS)})")
    for field, kind, required in _FIELDS:
        value = raw.get(field)
        if value is None:
            if required:
                raise CatalogError(f"{where}: field {field!r} is required")
            continue
        # bool is an int in Python; `layers: true` is a typo, not a layer count.
        if isinstance(value, bool) or not isinstance(value, kind):
            raise CatalogError(f"{where}: {field}={value!r} has the wrong type")
        if isinstance(value, str) and not value.strip():
            raise CatalogError(f"{where}: {field} is empty")
    if not (math.isfinite(float(raw["params_b"])) and raw["params_b"] > 0):
        raise CatalogError(f"{where}: params_b={raw['params_b']!r} (allowed: a number > 0)")
    for field in ("layers", "hidden_size", "context", "vocab_size"):
        if raw.get(field) is not None and raw[field] < 1:
            raise CatalogError(f"{where}: {field}={raw[field]!r} (allowed: an integer >= 1)")
    return ModelSpec(**{**raw, "params_b": float(raw["params_b"])})


def load_catalog(path: str | Path | None = None) -> tuple[ModelSpec, ...]:
    """Read and validate the catalog (cached for the default file); raises `CatalogError` naming the entry."""
    if path is None:
        return _default()
    return _load(Path(path))


@functools.lru_cache(maxsize=1)
def _default() -> tuple[ModelSpec, ...]:
    return _load(DEFAULT_CATALOG)


def _load(path: Path) -> tuple[ModelSpec, ...]:
    from advisor.profile import read_yaml_file  # here: advisor.profile imports this module

    try:
        data = read_yaml_file(path, MAX_CATALOG_BYTES, "the model catalog")
    except ValueError as err:
        raise CatalogError(str(err)) from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list) or not data["models"]:
        raise CatalogError(f"{path}: expected a mapping with a non-empty 'models' list")
    specs = tuple(_entry(i, m) for i, m in enumerate(data["models"]))
    seen: set[str] = set()
    for s in specs:
        if s.name.lower() in seen:  # names are matched case-insensitively, so they must differ that way too
            raise CatalogError(f"{path}: model name {s.name!r} appears twice (names are case-insensitive)")
        seen.add(s.name.lower())
    return specs


def model_names(path: str | Path | None = None) -> list[str]:
    """The catalog's names in file order (the order the CLI and the app list them)."""
    return [m.name for m in load_catalog(path)]


def get_model(name: Any, path: str | Path | None = None) -> ModelSpec:
    """The catalog entry called `name` (case and surrounding spaces ignored); `UnknownModel` otherwise."""
    catalog = load_catalog(path)
    if isinstance(name, str):
        wanted = name.strip().lower()
        for spec in catalog:
            if spec.name.lower() == wanted:
                return spec
    raise UnknownModel(name, [m.name for m in catalog])
