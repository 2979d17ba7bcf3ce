"""prefix_tuning: learned key/value vectors at every layer (HF peft PrefixTuningConfig).

Without the reparameterisation MLP this is P-tuning v2 (Liu et al. 2022): deep prompts
for classification with a linear head on encoders.

Init: peft starts the prefix from N(0, 1) noise. benchmarks/prefix_init.py, SmolLM2-135M/sst2 with 16
examples, that prefix left the model at chance (0.49) and raised its LM loss on plain text
by 8.4 nats/token: random keys and values at every layer drown the real attention. Li & Liang
(2021) initialise the prefix with the activations of real words; we do the same with the
task instruction: its key/value projections at every layer become the initial prefix.
"""

from __future__ import annotations

from typing import Any

from advisor.options import VIRTUAL_TOKENS  # shared with the cost model
from bench.methods.base import Cell, Method, base_model, param_groups, peft_task_type

KV_NAMES = (("key", "value"), ("k_proj", "v_proj"))


def instruction_kv(model: Any, tokenizer: Any, text: str, n_tokens: int, causal: bool) -> Any:
    """[n_tokens, layers * 2 * kv_dim]: each layer's key and value projections of `text`, in peft's prefix layout."""
    import torch

    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    pair = next((p for p in KV_NAMES if set(p) <= names), None)
    if pair is None:
        raise ValueError(f"no key/value projections found in {type(model).__name__}")
    ids = tokenizer(text, add_special_tokens=not causal)["input_ids"]
    ids = (ids * (n_tokens // max(len(ids), 1) + 1))[:n_tokens]  # repeat/truncate like peft's TEXT init
    captured: list[tuple[str, Any]] = []
    hooks = [m.register_forward_hook(lambda mod, inp, out, kind=name.rsplit(".", 1)[-1]: captured.append((kind, out)))
             for name, m in model.named_modules() if name.rsplit(".", 1)[-1] in pair]
    try:
        with torch.no_grad():
            model(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long))
    finally:
        for h in hooks:
            h.remove()
    keys = [out[0] for kind, out in captured if kind == pair[0]]
    values = [out[0] for kind, out in captured if kind == pair[1]]
    per_layer = [torch.cat([k, v], dim=-1) for k, v in zip(keys, values)]  # [T, 2 * kv_dim] per layer
    return torch.cat(per_layer, dim=-1)


class PrefixTuning(Method):
    name = "prefix_tuning"
    # P-tuning v2 used 5e-3..1e-2 for BERT-large with AdamW.
    lrs = {"encoder": (3e-3, 1e-2), "causal": (3e-3, 1e-2)}
    init = "activations"  # or "random" (peft's default), kept for benchmarks/prefix_init.py

    def hyperparams(self, cell: Cell) -> dict[str, Any]:
        return {"num_virtual_tokens": VIRTUAL_TOKENS, "prefix_projection": False,
                "init": "instruction key/value activations (Li & Liang 2021)" if self.init == "activations"
                else "random (peft default)"}

    def build(self, cell: Cell, lr: float) -> tuple[Any, list[dict]]:
        import torch
        from peft import PrefixTuningConfig, get_peft_model

        model = base_model(cell)
        init = instruction_kv(model, cell.backbone.tokenizer, cell.task.instruction, VIRTUAL_TOKENS, cell.causal) \
            if self.init == "activations" else None
        config = PrefixTuningConfig(task_type=peft_task_type(cell), num_virtual_tokens=VIRTUAL_TOKENS,
                                    prefix_projection=False)
        if not cell.causal:
            config.modules_to_save = ["classifier", "pooler"]
        model = get_peft_model(model, config)
        if init is None:
            return model, param_groups(model, lr, cell.protocol.head_lr)
        weight = model.prompt_encoder[model.active_adapter].embedding.weight
        if weight.shape != init.shape:
            raise ValueError(f"prefix layout {tuple(weight.shape)} does not match the captured activations "
                             f"{tuple(init.shape)}")
        with torch.no_grad():
            weight.copy_(init)
        return model, param_groups(model, lr, cell.protocol.head_lr)
