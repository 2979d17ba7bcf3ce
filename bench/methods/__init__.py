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

__all__ = ["METHODS", "Cell", "Method", "MethodOutput", "get_method", "register_method"]
