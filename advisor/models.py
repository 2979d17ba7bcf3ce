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
    ("attention_heads", int, False), ("kv_heads", int, False), ("head_dim", int, False), ("heads_source", str, False),
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
    attention_heads: int | None = None
    kv_heads: int | None = None  # grouped-query attention: fewer key/value heads than query heads
    head_dim: int | None = None  # only where the config states one (Gemma-2: not hidden / heads)
    heads_source: str | None = None

    @property
    def kv_width(self) -> int:
        """Values per token and layer in each of K and V: kv_heads x head_dim. Without the heads read from a source,
        the hidden size (every head keeps its own K and V: the multi-head upper bound)."""
        if self.kv_heads is None or self.attention_heads is None:
            return self.hidden_size
        return self.kv_heads * (self.head_dim or self.hidden_size // self.attention_heads)

    @property
    def q_width(self) -> int:
        """q_proj's output width: heads x head_dim where a config states head_dim (Gemma-2-9B: 16 x 256 = 4,096
        against a hidden size of 3,584), else the hidden size."""
        if self.head_dim is not None and self.attention_heads is not None:
            return self.attention_heads * self.head_dim
        return self.hidden_size

    def shape_text(self) -> str:
        """How the page names the shape the memory figures used (the CLI's model line, the app's memory chart)."""
        heads = (f", {self.kv_heads} key/value heads of {self.attention_heads}" if self.kv_heads is not None
                 and self.attention_heads is not None and self.kv_heads < self.attention_heads else "")
        return f"{self.layers} layers, hidden size {self.hidden_size}{heads}"

    @property
    def encoder(self) -> bool:
        """A BERT-style encoder (the catalog's architecture says so): it classifies, it does not read a prompt."""
        arch = self.architecture or ""
        return "Bert" in arch or "encoder" in arch.lower()

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
    for field in ("layers", "hidden_size", "context", "vocab_size", "attention_heads", "kv_heads", "head_dim"):
        if raw.get(field) is not None and raw[field] < 1:
            raise CatalogError(f"{where}: {field}={raw[field]!r} (allowed: an integer >= 1)")
    heads = [f for f in ("attention_heads", "kv_heads", "heads_source") if raw.get(f) is not None]
    if heads and len(heads) < 3 or raw.get("head_dim") is not None and len(heads) < 3:
        raise CatalogError(f"{where}: attention_heads, kv_heads and heads_source go together (a number needs its "
                           f"source), got only {', '.join(heads) or 'head_dim'}")
    if heads and (raw["kv_heads"] > raw["attention_heads"] or raw["attention_heads"] % raw["kv_heads"]):
        raise CatalogError(f"{where}: kv_heads={raw['kv_heads']!r} (allowed: a divisor of attention_heads="
                           f"{raw['attention_heads']!r})")
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


# ---------------------------------------------------------------- models on this machine (`advisor pilot --model`)
# Bench backbones the pilot can name directly, with the catalog entry that documents each one's size and shape.
BENCH_BACKBONES = {"minilm": "MiniLM-L6", "smollm2-135m": "SmolLM2-135M"}
MAX_HEADER_BYTES = 100_000_000  # a safetensors JSON header; a 70B model's is ~1 MB


class LocalModelError(ValueError):
    """`advisor pilot --model` names nothing this machine can load. `.field` is "model"; the message lists what is
    allowed."""

    def __init__(self, message: str):
        self.field = "model"
        super().__init__(message)


@dataclass(frozen=True)
class LocalModel:
    """A model the pilot can run: the `bench` backbone name it loads by, its kind, size and shape."""

    bench_name: str  # "smollm2-135m", "minilm" or "hf:/path/to/folder"
    label: str  # how the answer names it
    kind: str  # "causal" | "encoder"
    params: float  # parameters, counted from the weight files' headers (or the catalog's for a bench backbone)
    hidden_size: int
    layers: int
    vocab_size: int | None
    catalog_name: str | None  # the catalog entry, when the model is one
    params_source: str

    @property
    def params_b(self) -> float:
        return self.params / 1e9


def hub_cache_dirs() -> list[Path]:
    """Where Hugging Face keeps downloaded models: $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub."""
    out = []
    if os.environ.get("HF_HUB_CACHE"):
        out.append(Path(os.environ["HF_HUB_CACHE"]))
    if os.environ.get("HF_HOME"):
        out.append(Path(os.environ["HF_HOME"]) / "hub")
    out.append(Path.home() / ".cache" / "huggingface" / "hub")
    return out


def _snapshot(repo_dir: Path) -> Path | None:
    """The newest snapshot folder of a hub cache entry that holds a config.json."""
    snaps = sorted((p for p in (repo_dir / "snapshots").glob("*") if (p / "config.json").is_file()),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    return snaps[0] if snaps else None


def find_in_hub_cache(name: str) -> Path | None:
    """A catalog name ("Llama-3.1-8B") or a hub id ("meta-llama/Llama-3.1-8B") downloaded into the hub cache."""
    wanted = name.strip().lower()
    for root in hub_cache_dirs():
        if not root.is_dir():
            continue
        for repo_dir in sorted(root.glob("models--*")):
            parts = repo_dir.name.split("--", 2)
            if len(parts) < 3:
                continue
            org, repo = parts[1].lower(), parts[2].lower()
            if wanted in (repo, f"{org}/{repo}"):
                snap = _snapshot(repo_dir)
                if snap is not None:
                    return snap
    return None


def _read_json(path: Path, what: str) -> dict[str, Any]:
    import json

    from advisor.files import FileRefused, read_bounded

    try:
        raw = read_bounded(path, MAX_CATALOG_BYTES, what)  # regular files only, never past the cap
    except FileRefused as err:
        raise LocalModelError(f"model: {err}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise LocalModelError(f"model: {path} is not valid JSON (allowed: a Hugging Face {what})") from None
    if not isinstance(data, dict):
        raise LocalModelError(f"model: {path} must hold a JSON object (a Hugging Face {what})")
    return data


def _safetensors_params(path: Path) -> int:
    """Parameters in one .safetensors file, read from its header only (8-byte length + JSON): no tensor is loaded,
    so a 70B model is counted in milliseconds."""
    import json
    import struct

    try:
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) != 8:
                raise LocalModelError(f"model: {path} is not a safetensors file (shorter than its header)")
            (size,) = struct.unpack("<Q", head)
            if size > MAX_HEADER_BYTES:
                raise LocalModelError(f"model: {path} declares a {size:,}-byte header (not a safetensors file)")
            header = json.loads(f.read(size).decode("utf-8"))
    except LocalModelError:
        raise
    except OSError as err:
        raise LocalModelError(f"model: {path} cannot be read ({err.strerror})") from None
    except (UnicodeDecodeError, ValueError):
        raise LocalModelError(f"model: {path} is not a safetensors file (no readable header)") from None
    if not isinstance(header, dict):
        raise LocalModelError(f"model: {path} is not a safetensors file (its header is not a JSON object)")
    total = 0
    for key, t in header.items():
        if key == "__metadata__" or not isinstance(t, dict):
            continue
        n = 1
        for d in t.get("shape") or []:
            if isinstance(d, bool) or not isinstance(d, int) or d < 0:
                raise LocalModelError(f"model: {path}: tensor {str(key)[:60]!r} has shape {str(t.get('shape'))[:60]} "
                                      "(allowed: non-negative integers)")
            n *= d
        total += n
    return total


def count_params(folder: str | Path) -> int:
    """Parameters of a local Hugging Face folder, summed over its *.safetensors files (sharded or not)."""
    files = sorted(Path(folder).glob("*.safetensors"))
    if not files:
        raise LocalModelError(f"model: no *.safetensors file in {folder} (allowed: a Hugging Face folder saved with "
                              "safe_serialization; .bin weights are not loaded, never unpickled)")
    return sum(_safetensors_params(f) for f in files)


def _folder_model(folder: Path, catalog_name: str | None = None) -> LocalModel:
    cfg = _read_json(folder / "config.json", "config.json")
    archs = cfg.get("architectures") or []
    causal = isinstance(archs, list) and any(isinstance(a, str) and a.endswith("ForCausalLM") for a in archs)
    text = cfg.get("text_config") if isinstance(cfg.get("text_config"), dict) else cfg  # multimodal configs nest
    hidden = text.get("hidden_size") or text.get("d_model") or text.get("n_embd")
    layers = text.get("num_hidden_layers") or text.get("n_layer") or text.get("num_layers")
    if not isinstance(hidden, int) or not isinstance(layers, int):
        raise LocalModelError(f"model: {folder}/config.json gives no hidden_size and num_hidden_layers (allowed: a "
                              "Hugging Face transformer config)")
    vocab = text.get("vocab_size") if isinstance(text.get("vocab_size"), int) else None
    return LocalModel(f"hf:{folder}", catalog_name or folder.name, "causal" if causal else "encoder",
                      float(count_params(folder)), hidden, layers, vocab, catalog_name,
                      f"counted from the *.safetensors headers in {folder}")


def _bench_model(name: str) -> LocalModel:
    spec = get_model(BENCH_BACKBONES[name])
    return LocalModel(name, spec.name, "encoder" if name == "minilm" else "causal", spec.params_b * 1e9,
                      spec.hidden_size, spec.layers, spec.vocab_size, spec.name,
                      f"the catalog's {spec.name} entry ({spec.params_source})")


def resolve_local_model(name: Any) -> LocalModel:
    """What `advisor pilot --model` names: a local Hugging Face folder (config.json + *.safetensors), a bench
    backbone (smollm2-135m, minilm), or a catalog model / hub id already downloaded into the Hugging Face cache.
    `LocalModelError` (field "model") otherwise, listing what is allowed."""
    if not isinstance(name, str) or not name.strip():
        raise LocalModelError(f"model={reprlib.repr(name)[:80]} (allowed: a local Hugging Face folder, "
                              f"{', '.join(BENCH_BACKBONES)}, or a catalog model downloaded into the Hugging Face "
                              "cache)")
    raw = name.strip()
    if raw.lower() in BENCH_BACKBONES:
        return _bench_model(raw.lower())
    path = Path(raw).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise LocalModelError(f"model: {raw[:200]} has no config.json (allowed: a Hugging Face model folder "
                                  "with config.json, tokenizer files and *.safetensors)")
        return _folder_model(path.resolve())
    catalog = None
    try:  # a hub id "org/name" is the catalog's "name"
        catalog = get_model(raw.rsplit("/", 1)[-1]).name
    except (UnknownModel, CatalogError):
        pass
    found = find_in_hub_cache(raw)
    if found is not None:
        return _folder_model(found, catalog)
    where = ", ".join(str(p) for p in hub_cache_dirs())
    if catalog is not None:
        raise LocalModelError(f"model: {catalog} is in the catalog but not on this machine (looked in {where}); "
                              f"allowed: download it first (e.g. `huggingface-cli download ORG/{catalog}`), or give "
                              f"its local folder, or {', '.join(BENCH_BACKBONES)}")
    raise LocalModelError(f"model: {raw[:200]!r} is neither a folder, a bench backbone nor a model in the Hugging "
                          f"Face cache ({where}); allowed: a local Hugging Face folder, {', '.join(BENCH_BACKBONES)}, "
                          f"or a catalog model ({', '.join(model_names()[:6])}, ...) downloaded into that cache")
