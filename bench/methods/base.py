"""What every method gets (`Cell`), what it returns (`MethodOutput`), and the shared
train -> select -> evaluate path for methods that train (`Method.run`)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.protocol import Protocol
from bench.tasks import TaskSpec


@dataclass
class Cell:
    """One matched cell: identical data, splits and budget for every method."""

    backbone: Any  # bench.models.Backbone
    task: TaskSpec
    protocol: Protocol
    train_size: int
    seed: int
    pool: Any  # train.Encoded of the training pool (train and val indices point into it)
    test: Any  # train.Encoded of the test subset
    train_idx: np.ndarray
    val_idx: np.ndarray
    test_idx: np.ndarray
    pool_rows: Any  # pandas DataFrame of the pool (raw text fields, for prompts)
    device: Any
    autocast: bool
    label_token_ids: Any | None  # causal only
    forgetting_probe: Any | None  # callable(model) -> float, the change is computed by the runner
    cache: dict = field(default_factory=dict)
    gen: Any | None = None  # generation tasks: bench.methods.generation.GenData

    @property
    def causal(self) -> bool:
        return self.backbone.kind == "causal"

    @property
    def pad_id(self) -> int:
        return int(self.backbone.tokenizer.pad_token_id)

    @property
    def metric(self) -> str:
        return self.task.metric


@dataclass
class MethodOutput:
    accuracy: float
    macro_f1: float
    train_accuracy: float
    val_metric: float
    train_time_s: float
    trainable_params: int
    stored_bytes: int
    infer_ms_per_example: float
    forgetting: float | None
    lr: float | None
    steps: int
    extra: dict[str, Any] = field(default_factory=dict)


def directory_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def param_groups(model: Any, lr: float, head_lr: float) -> list[dict]:
    """Trainable parameters split into the method's own (at `lr`) and a classification head (at `head_lr`).

    Every encoder method trains a fresh linear head; giving it the same rate everywhere
    keeps the comparison about the method (a head at 2e-5 barely moves in 100 steps, at
    3e-2 it oscillates).
    """
    own, head = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        is_head = any(part in name for part in ("classifier", ".score.", "pooler")) and "lora_" not in name
        (head if is_head else own).append(p)
    groups = [{"params": own, "lr": lr}]
    if head:
        groups.append({"params": head, "lr": head_lr})
    return groups


class Method:
    """A trainable adaptation method: subclasses define `build` and the lr candidates."""

    name = ""
    trains = True
    lrs: dict[str, tuple[float, ...]] = {}
    # The recipe's version, recorded in every result (config.method_version): bump it when the candidates, init or
    # any other setting that changes what a run measures changes, so `bench refresh` reruns the cells it made.
    version = 1

    def hyperparams(self, cell: Cell) -> dict[str, Any]:
        return {}

    def build(self, cell: Cell, lr: float) -> tuple[Any, list[dict]]:
        raise NotImplementedError

    def candidates(self, cell: Cell) -> tuple[float, ...]:
        return tuple(cell.cache.get("lrs_override") or self.lrs[cell.backbone.kind])

    def artifacts(self, model: Any) -> dict[str, Any]:
        """Arrays worth keeping next to the result (the trial pops them out of `extra`; JSON never holds them)."""
        return {}

    def stored_bytes(self, model: Any) -> int:
        """Bytes to keep per task: peft adapters are saved for real and measured on disk."""
        with tempfile.TemporaryDirectory() as tmp:
            model.save_pretrained(tmp)
            return directory_bytes(Path(tmp))

    def run(self, cell: Cell) -> MethodOutput:
        from bench.train import Head, fit, metrics_from, predict

        if cell.task.generation:
            from bench.methods.generation import run_trained

            return run_trained(self, cell)

        head = Head(cell.causal, cell.label_token_ids)
        left = cell.causal
        result = fit(lambda lr: self.build(cell, lr), self.candidates(cell), head, cell.pool, cell.train_idx,
                     cell.val_idx, cell.protocol, cell.seed, cell.pad_id, left, cell.device, cell.metric,
                     cell.task.num_classes, cell.autocast)
        model = result.model
        pred, seconds = predict(model, head, cell.test, cell.test_idx, cell.pad_id, left, cell.device,
                                autocast=cell.autocast)
        test = metrics_from(pred, cell.test.labels[cell.test_idx], cell.task.num_classes)
        train_eval = cell.train_idx[: cell.protocol.train_eval_cap]
        tpred, _ = predict(model, head, cell.pool, train_eval, cell.pad_id, left, cell.device, autocast=cell.autocast)
        train_metrics = metrics_from(tpred, cell.pool.labels[train_eval], cell.task.num_classes)
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        forgetting = cell.forgetting_probe(model) if cell.forgetting_probe else None
        return MethodOutput(
            accuracy=test["accuracy"], macro_f1=test["macro_f1"], train_accuracy=train_metrics["accuracy"],
            val_metric=result.val_metric, train_time_s=result.train_seconds, trainable_params=int(trainable),
            stored_bytes=int(self.stored_bytes(model)), infer_ms_per_example=1000 * seconds / max(len(pred), 1),
            forgetting=forgetting, lr=result.lr, steps=result.steps,
            extra={"budget_steps": result.budget, "best_step": result.best_step, "loss_curve": result.curve,
                   "lr_race": result.race, "converged": result.converged, "hyperparams": self.hyperparams(cell),
                   **self.artifacts(model)})


def attention_targets(model: Any) -> list[str]:
    """The query/value projection names of this architecture (LoRA's default targets, Hu et al. 2022)."""
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    for pair in (["query", "value"], ["q_proj", "v_proj"], ["q_lin", "v_lin"], ["c_attn"]):
        if set(pair) <= names:
            return pair
    raise ValueError(f"no known attention projections in {type(model).__name__}")


def peft_task_type(cell: Cell) -> Any:
    from peft import TaskType

    return TaskType.CAUSAL_LM if cell.causal else TaskType.SEQ_CLS


def base_model(cell: Cell) -> Any:
    """A fresh copy of the backbone: a causal LM, or an encoder with a new seeded classification head."""
    if cell.causal:
        return cell.backbone.fresh()
    return cell.backbone.fresh_classifier(cell.task.num_classes, cell.seed)
