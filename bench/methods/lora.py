"""lora: low-rank adapters on the attention query/value projections (HF peft LoraConfig)."""

from __future__ import annotations

from typing import Any

from advisor.options import LORA_ALPHA as ALPHA, LORA_DROPOUT as DROPOUT, LORA_RANK as RANK  # shared with the cost model
from bench.methods.base import Cell, Method, attention_targets, base_model, param_groups, peft_task_type



class Lora(Method):
    name = "lora"
    lrs = {"encoder": (5e-4, 2e-3), "causal": (2e-4, 1e-3)}

    def hyperparams(self, cell: Cell) -> dict[str, Any]:
        return {"r": RANK, "lora_alpha": ALPHA, "lora_dropout": DROPOUT}

    def build(self, cell: Cell, lr: float) -> tuple[Any, list[dict]]:
        from peft import LoraConfig, get_peft_model

        model = base_model(cell)
        config = LoraConfig(task_type=peft_task_type(cell), r=RANK, lora_alpha=ALPHA, lora_dropout=DROPOUT,
                            target_modules=attention_targets(model),
                            modules_to_save=None if cell.causal else ["classifier", "pooler"])
        model = get_peft_model(model, config)
        return model, param_groups(model, lr, cell.protocol.head_lr)
