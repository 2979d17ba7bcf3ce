"""full_finetuning: every weight trains (AdamW)."""

from __future__ import annotations

from typing import Any

from bench.methods.base import Cell, Method, base_model, param_groups


class FullFinetuning(Method):
    name = "full_finetuning"
    # BERT-style models fine-tune at 2e-5..1e-4; small budgets favour the upper end.
    lrs = {"encoder": (3e-5, 1e-4), "causal": (1e-5, 5e-5)}

    def build(self, cell: Cell, lr: float) -> tuple[Any, list[dict]]:
        model = base_model(cell)
        for p in model.parameters():
            p.requires_grad_(True)
        return model, param_groups(model, lr, cell.protocol.head_lr)

    def stored_bytes(self, model: Any) -> int:
        # A full copy per task: the size of the weights as safetensors stores them (header excluded).
        # Tied tensors (a causal LM's embedding and output layer) are stored once.
        seen = {t.data_ptr(): t.numel() * t.element_size() for t in model.state_dict().values()}
        return sum(seen.values())
