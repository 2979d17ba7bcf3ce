"""prompt_tuning: learned soft-prompt vectors at the input of a frozen model (HF peft PromptTuningConfig).

Recipe version 2 (Lester et al. 2021's: lr 0.3 and class-label init), chosen by
benchmarks/prompt_tuning_recipe.py (data/benchmarks/pt-recipe): version 1 (init = the instruction's text, lr race
{3e-2, 1e-1}) scored on average 16.2 points below the best of 9 configurations per cell (max 28.8, MiniLM trec n=64:
0.444 vs 0.732 at lr 0.3 with class labels) over the 4 complete cells; text init was never the best; the 25% race
picked the lr that is best at the end in 4 of 4 cells, so the race stays and gains 3e-1. A generation task has no
label words: its class_labels init falls back to the instruction text. `init` may also be text, sample_vocab or random through
`bench.methods.override`; overrides are recorded in each result's config.
"""

from __future__ import annotations

from typing import Any

from advisor.options import VIRTUAL_TOKENS  # shared with the cost model
from bench.methods.base import Cell, Method, base_model, param_groups, peft_task_type


INITS = ("text", "class_labels", "sample_vocab", "random")


class PromptTuning(Method):
    name = "prompt_tuning"
    # Soft prompts need large rates (Lester et al.: 0.3 with Adafactor). The race keeps the smaller ones because 0.3
    # collapses some cells (MiniLM trec n=256: 0.244 at 0.3 vs 0.630 at 3e-2, class-label init).
    lrs = {"encoder": (3e-2, 1e-1, 3e-1), "causal": (3e-2, 1e-1, 3e-1)}
    init = "class_labels"
    version = 2
    options = {"init": INITS}  # what `bench run --override prompt_tuning.init=...` may set

    def hyperparams(self, cell: Cell) -> dict[str, Any]:
        return {"num_virtual_tokens": VIRTUAL_TOKENS, "init": self.init}

    def artifacts(self, model: Any) -> dict[str, Any]:
        """The learned prompt ([virtual tokens, hidden]) so it can be inspected (bench inspect-prompt)."""
        emb = model.get_prompt_embedding_to_save(adapter_name=model.active_adapter)
        return {"prompt_embeddings": emb.detach().float().cpu().numpy()}

    def build(self, cell: Cell, lr: float) -> tuple[Any, list[dict]]:
        from peft import PromptTuningConfig, PromptTuningInit, get_peft_model

        init = {"text": PromptTuningInit.TEXT, "class_labels": PromptTuningInit.TEXT,
                "sample_vocab": PromptTuningInit.SAMPLE_VOCAB, "random": PromptTuningInit.RANDOM}[self.init]
        kwargs: dict[str, Any] = {}
        if init == PromptTuningInit.TEXT:
            # peft repeats the init text's tokens until the 20 virtual tokens are filled: with the label words
            # that is "each prompt token starts at a class label's embedding, cycled" (Lester et al. 2021, 7.1).
            words = " ".join(lab.word for lab in cell.task.labels)  # a generation task has no label words
            text = words if self.init == "class_labels" and words else cell.task.instruction
            kwargs = {"prompt_tuning_init_text": text, "tokenizer_name_or_path": str(cell.backbone.tokenizer_dir())}
        config = PromptTuningConfig(task_type=peft_task_type(cell), num_virtual_tokens=VIRTUAL_TOKENS,
                                    prompt_tuning_init=init, **kwargs)
        if not cell.causal:
            config.modules_to_save = ["classifier", "pooler"]
        model = get_peft_model(base_model(cell), config)
        return model, param_groups(model, lr, cell.protocol.head_lr)
