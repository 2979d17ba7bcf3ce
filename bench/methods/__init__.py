"""Method registry: one module per method, one `register_method(...)` line each (like peft's tuners)."""

from __future__ import annotations

from bench.methods.base import Cell, Method, MethodOutput

METHODS: dict[str, Method] = {}


def register_method(method: Method) -> None:
    METHODS[method.name] = method


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise KeyError(f"unknown method {name!r} (valid: {', '.join(METHODS)})")
    return METHODS[name]


OVERRIDABLE = {"init": ("text", "class_labels", "sample_vocab", "random"), "lrs": "a list of learning rates"}


def override(method: Method, changes: dict) -> Method:
    """A copy of `method` with recipe settings changed (e.g. {"init": "class_labels", "lrs": [0.3]}), for
    benchmarks/prompt_tuning_recipe.py; the runner records the changes in the result's config."""
    import copy

    out = copy.copy(method)
    for key, value in changes.items():
        if key not in OVERRIDABLE or not hasattr(method, key):
            raise KeyError(f"{method.name}: cannot override {key!r} (allowed: {', '.join(OVERRIDABLE)})")
        if key == "init" and value not in OVERRIDABLE["init"]:
            raise ValueError(f"{method.name}: init={value!r} (allowed: {' | '.join(OVERRIDABLE['init'])})")
        if key == "lrs":
            value = {kind: tuple(float(v) for v in value) for kind in method.lrs}
        setattr(out, key, value)
    return out


from bench.methods.full_finetuning import FullFinetuning  # noqa: E402
from bench.methods.linear_probe import LinearProbe  # noqa: E402
from bench.methods.lora import Lora  # noqa: E402
from bench.methods.prefix_tuning import PrefixTuning  # noqa: E402
from bench.methods.prompt_engineering import PromptEngineering  # noqa: E402
from bench.methods.prompt_tuning import PromptTuning  # noqa: E402

register_method(PromptEngineering())
register_method(PromptTuning())
register_method(PrefixTuning())
register_method(Lora())
register_method(FullFinetuning())
register_method(LinearProbe())

__all__ = ["METHODS", "Cell", "Method", "MethodOutput", "get_method", "override", "register_method"]
