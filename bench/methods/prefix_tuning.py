"""prefix_tuning: learned key/value vectors at every layer (HF peft PrefixTuningConfig).

Without the reparameterisation MLP this is P-tuning v2 (Liu et al. 2022): deep prompts
for classification with a linear head on encoders.
"""

from __future__ import annotations

from typing import Any

from bench.methods.base import Cell, Method, base_model, param_groups, peft_task_type

VIRTUAL_TOKENS = 20


class PrefixTuning(Method):
    name = "prefix_tuning"
    # P-tuning v2 used 5e-3..1e-2 for BERT-large with AdamW.
    lrs = {"encoder": (3e-3, 1e-2), "causal": (3e-3, 1e-2)}

    def hyperparams(self, cell: Cell) -> dict[str, Any]:
        return {"num_virtual_tokens": VIRTUAL_TOKENS, "prefix_projection": False}

    def build(self, cell: Cell, lr: float) -> tuple[Any, list[dict]]:
        from peft import PrefixTuningConfig, get_peft_model

        config = PrefixTuningConfig(task_type=peft_task_type(cell), num_virtual_tokens=VIRTUAL_TOKENS,
                                    prefix_projection=False)
        if not cell.causal:
            config.modules_to_save = ["classifier", "pooler"]
        model = get_peft_model(base_model(cell), config)
        return model, param_groups(model, lr, cell.protocol.head_lr)
