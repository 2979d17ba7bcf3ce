"""prompt_tuning: learned soft-prompt vectors at the input of a frozen model (HF peft PromptTuningConfig).

Init (Lester et al. 2021, section 3.2 / figure 3b): `text` (the task instruction's token embeddings, the
default: far more stable than random at small scale), `class_labels` (the token embeddings of the label
words, cycled to fill the virtual tokens; for a generation task the training targets play the labels' role),
`sample_vocab` (random vocabulary tokens) or `random`. Choose it without code edits with the run override
`prompt_tuning.init=<init>` (bench run --override, recorded in the result's config.overrides).
"""

from __future__ import annotations

from typing import Any

from bench.methods.base import Cell, Method, base_model, param_groups, peft_task_type

VIRTUAL_TOKENS = 20
INITS = ("text", "class_labels", "sample_vocab", "random")


class PromptTuning(Method):
    name = "prompt_tuning"
    # Soft prompts need large rates (Lester et al.: 0.3 with Adafactor); with AdamW 3e-2 is the usual start.
    lrs = {"encoder": (3e-2, 1e-1), "causal": (3e-2, 1e-1)}
    init = "text"
    options = {"init": INITS}

    def chosen_init(self, cell: Cell) -> str:
        return cell.cache.get("overrides", {}).get("init", self.init)

    def hyperparams(self, cell: Cell) -> dict[str, Any]:
        return {"num_virtual_tokens": VIRTUAL_TOKENS, "init": self.chosen_init(cell)}

    def artifacts(self, model: Any) -> dict[str, Any]:
        """The learned prompt ([virtual tokens, hidden]) so it can be inspected (bench inspect-prompt)."""
        emb = model.get_prompt_embedding_to_save(adapter_name=model.active_adapter)
        return {"prompt_embeddings": emb.detach().float().cpu().numpy()}

    def build(self, cell: Cell, lr: float) -> tuple[Any, list[dict]]:
        from peft import PromptTuningConfig, PromptTuningInit, get_peft_model

        choice = self.chosen_init(cell)
        if choice not in INITS:
            raise ValueError(f"prompt_tuning init={choice!r} (allowed: {', '.join(INITS)})")
        # class_labels starts from RANDOM and overwrites the vectors below (peft has no such init).
        init = {"text": PromptTuningInit.TEXT, "sample_vocab": PromptTuningInit.SAMPLE_VOCAB,
                "random": PromptTuningInit.RANDOM, "class_labels": PromptTuningInit.RANDOM}[choice]
        kwargs: dict[str, Any] = {}
        if init == PromptTuningInit.TEXT:
            kwargs = {"prompt_tuning_init_text": cell.task.instruction,
                      "tokenizer_name_or_path": str(cell.backbone.tokenizer_dir())}
        config = PromptTuningConfig(task_type=peft_task_type(cell), num_virtual_tokens=VIRTUAL_TOKENS,
                                    prompt_tuning_init=init, **kwargs)
        if not cell.causal:
            config.modules_to_save = ["classifier", "pooler"]
        model = get_peft_model(base_model(cell), config)
        if choice == "class_labels":
            init_from_tokens(model, class_label_token_ids(cell))
        return model, param_groups(model, lr, cell.protocol.head_lr)


def class_label_token_ids(cell: Cell) -> list[int]:
    """Every token of every label word (" word", as the causal LM scores it), in label order.

    Generation tasks have no classes: the distinct targets of the training subset stand in for them."""
    tok = cell.backbone.tokenizer
    if cell.task.generation:
        words = list(dict.fromkeys(str(cell.pool_rows.iloc[int(i)]["target"]) for i in cell.train_idx))
    else:
        words = [lab.word for lab in cell.task.labels]
    ids = [t for w in words for t in tok(" " + w, add_special_tokens=False)["input_ids"]]
    if not ids:
        raise ValueError(f"prompt_tuning init=class_labels: task {cell.task.name} has no label words to embed")
    return ids


def init_from_tokens(model: Any, token_ids: list[int]) -> None:
    """Set the soft prompt to these tokens' input embeddings, cycled to fill every virtual token."""
    import torch

    emb = model.get_input_embeddings().weight
    n = model.peft_config[model.active_adapter].num_virtual_tokens
    ids = torch.tensor([token_ids[i % len(token_ids)] for i in range(n)], dtype=torch.long, device=emb.device)
    with torch.no_grad():
        model.prompt_encoder[model.active_adapter].embedding.weight.copy_(emb[ids].detach().clone())
