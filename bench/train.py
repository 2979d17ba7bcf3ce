"""The plain training / evaluation loop shared by every trained method (nanoGPT-style: explicit).

Speed on 2 CPU cores comes from not wasting work, not from fewer steps:
* tokenise once per (backbone, task) and keep each example as a ready tensor;
* dynamic padding with length-bucketed batches: SST-2 averages ~25 tokens, so padding
  every batch to 64 would spend more than half of each step on pad tokens;
* no per-step host syncs (the loss is accumulated on-device, read only at validation);
* fused AdamW where torch has it for the device;
* `torch.inference_mode` and sorted-by-length batches for evaluation;
* causal LMs: left padding + `logits_to_keep=1`, so only the last position's
  logits (the label word) are computed instead of seq x 49k vocab.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from bench.protocol import Protocol

# ---------------------------------------------------------------------------------------
# Encoded data
# ---------------------------------------------------------------------------------------


@dataclass
class Encoded:
    """Token ids of every example of one split (as 1-D tensors), labels and lengths."""

    ids: list[torch.Tensor]
    type_ids: list[torch.Tensor] | None
    labels: np.ndarray
    lengths: np.ndarray
    texts: list[str]


def encode(tokenizer: Any, texts: list[str] | list[tuple[str, str]], labels: np.ndarray, max_length: int,
           causal: bool) -> Encoded:
    """Tokenise without padding (padding happens per batch)."""
    if causal:
        # Keep the end of long prompts: the answer cue ("Sentiment:") must survive truncation.
        tokenizer.truncation_side = "left"
        enc = tokenizer(list(texts), add_special_tokens=False, truncation=True, max_length=max_length)
        type_ids = None
    elif texts and isinstance(texts[0], tuple):
        enc = tokenizer([a for a, _ in texts], [b for _, b in texts], truncation="longest_first", max_length=max_length)
        type_ids = [torch.tensor(t, dtype=torch.long) for t in enc["token_type_ids"]]
    else:
        enc = tokenizer(list(texts), truncation=True, max_length=max_length)
        type_ids = None
    ids = [torch.tensor(t, dtype=torch.long) for t in enc["input_ids"]]
    flat = [" / ".join(t) if isinstance(t, tuple) else t for t in texts]
    return Encoded(ids, type_ids, np.asarray(labels), np.array([len(t) for t in ids]), flat)


@dataclass
class Batch:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor
    token_type_ids: torch.Tensor | None = None
    index: np.ndarray | None = None

    def to(self, device: torch.device) -> "Batch":
        if device.type == "cpu":
            return self
        move = lambda t: None if t is None else t.to(device, non_blocking=True)  # noqa: E731
        return Batch(move(self.input_ids), move(self.attention_mask), move(self.labels),
                     move(self.token_type_ids), self.index)

    def model_inputs(self) -> dict[str, torch.Tensor]:
        kw = {"input_ids": self.input_ids, "attention_mask": self.attention_mask}
        if self.token_type_ids is not None:
            kw["token_type_ids"] = self.token_type_ids
        return kw


def collate(data: Encoded, idx: np.ndarray, pad_id: int, left: bool) -> Batch:
    seqs = [data.ids[i] for i in idx]
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    types = torch.zeros((len(seqs), width), dtype=torch.long) if data.type_ids is not None else None
    for row, (i, s) in enumerate(zip(idx, seqs)):
        span = slice(width - len(s), width) if left else slice(0, len(s))
        ids[row, span] = s
        mask[row, span] = 1
        if types is not None:
            types[row, span] = data.type_ids[i]
    return Batch(ids, mask, torch.as_tensor(data.labels[idx], dtype=torch.long), types, np.asarray(idx))


def train_stream(data: Encoded, idx: np.ndarray, batch_size: int, rng: np.random.Generator,
                 pad_id: int, left: bool) -> Iterator[Batch]:
    """Endless length-bucketed batches: shuffle, sort within chunks of 50 batches, shuffle batch order."""
    idx = np.asarray(idx)
    while True:
        perm = rng.permutation(idx)
        chunk = batch_size * 50
        batches = []
        for start in range(0, len(perm), chunk):
            part = perm[start:start + chunk]
            part = part[np.argsort(data.lengths[part], kind="stable")]
            batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
        for b in rng.permutation(len(batches)):
            yield collate(data, batches[b], pad_id, left)


def eval_batches(data: Encoded, idx: np.ndarray, batch_size: int, pad_id: int, left: bool) -> Iterator[Batch]:
    idx = np.asarray(idx)
    order = idx[np.argsort(data.lengths[idx], kind="stable")]
    for i in range(0, len(order), batch_size):
        yield collate(data, order[i:i + batch_size], pad_id, left)


# ---------------------------------------------------------------------------------------
# Scoring: one function for both model kinds
# ---------------------------------------------------------------------------------------


@dataclass
class Head:
    """How a model's output becomes (training logits, class scores)."""

    causal: bool
    label_token_ids: torch.Tensor | None = None  # causal: first token of each label word

    def __call__(self, model: Any, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.causal:
            out = model(**batch.model_inputs(), logits_to_keep=1)
            logits = out.logits[:, -1, :].float()
            # Next-token loss on the label word over the full vocabulary.
            target = self.label_token_ids[batch.labels]
            return logits, target, logits[:, self.label_token_ids]
        logits = model(**batch.model_inputs()).logits.float()
        return logits, batch.labels, logits


def metrics_from(pred: np.ndarray, gold: np.ndarray, num_classes: int) -> dict[str, float]:
    from sklearn.metrics import f1_score

    return {"accuracy": float((pred == gold).mean()) if len(gold) else 0.0,
            "macro_f1": float(f1_score(gold, pred, average="macro", labels=np.arange(num_classes), zero_division=0))}


def predict(model: Any, head: Head, data: Encoded, idx: np.ndarray, pad_id: int, left: bool,
            device: torch.device, batch_size: int = 64, autocast: bool = False) -> tuple[np.ndarray, float]:
    """Predicted class per example of `idx` (in `idx` order) and the wall time it took."""
    was_training = model.training
    model.eval()
    preds = np.empty(len(idx), dtype=np.int64)
    pos = {int(i): k for k, i in enumerate(idx)}
    t0 = time.perf_counter()
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
        for batch in eval_batches(data, idx, batch_size, pad_id, left):
            _, _, scores = head(model, batch.to(device))
            for i, p in zip(batch.index, scores.argmax(-1).cpu().numpy()):
                preds[pos[int(i)]] = p
    seconds = time.perf_counter() - t0
    model.train(was_training)
    return preds, seconds


def validation_pass(model: Any, head: Head, data: Encoded, idx: np.ndarray, pad_id: int, left: bool,
                    device: torch.device, batch_size: int = 64, autocast: bool = False,
                    predictions: bool = True) -> tuple[np.ndarray | None, float]:
    """(predicted class per example of `idx` or None, mean validation loss) from one forward pass per batch.

    The loss is the training loss (`head`'s logits and targets; -100 targets are ignored, so a generation head's
    teacher-forced answer tokens count and its prompt tokens do not): continuous where 32-example accuracy moves in
    3-point steps, so it separates checks and lrs that the metric calls equal."""
    was_training = model.training
    model.eval()
    preds = np.empty(len(idx), dtype=np.int64) if predictions else None
    pos = {int(i): k for k, i in enumerate(idx)}
    total = torch.zeros((), device=device)
    count = 0
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
        for batch in eval_batches(data, idx, batch_size, pad_id, left):
            batch = batch.to(device)
            logits, target, scores = head(model, batch)
            flat_logits = logits.float().reshape(-1, logits.shape[-1])
            flat_target = target.reshape(-1)
            total += F.cross_entropy(flat_logits, flat_target, reduction="sum")
            count += int((flat_target != -100).sum())
            if preds is not None:
                for i, p in zip(batch.index, scores.argmax(-1).cpu().numpy()):
                    preds[pos[int(i)]] = p
    model.train(was_training)
    return preds, float(total.item()) / max(count, 1)


# ---------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------


def make_optimizer(groups: list[dict], weight_decay: float, device: torch.device) -> torch.optim.Optimizer:
    """AdamW, fused where the build supports it on this device (it removes per-parameter kernel launches)."""
    try:
        return torch.optim.AdamW(groups, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(groups, weight_decay=weight_decay, foreach=True)


def schedule(warmup_steps: int) -> Callable[[int], float]:
    """Linear warm-up, then a constant rate: runs can stop early or be extended without
    a decay schedule that assumed a fixed length."""
    warm = max(1, warmup_steps)
    return lambda s: min(1.0, (s + 1) / warm)


@dataclass
class Candidate:
    lr: float
    model: Any
    optimizer: torch.optim.Optimizer
    scheduler: Any
    stream: Iterator[Batch]
    step: int = 0
    curve: list[list[float]] = field(default_factory=list)  # [step, mean train loss, val metric, val loss]
    best_val: float = -1.0
    best_loss: float = math.inf
    best_step: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    diverged: bool = False
    rng: Any = None  # the random-number state at the end of its race leg (dropout draws from the global generator)
    loss_sum: Any = None  # training loss summed since the last validation check, and over how many steps: carried
    since: int = 0  # across `advance` calls, so a step after the race leg's last check still counts in the next mean


def _rng_state(device: Any) -> tuple[Any, Any]:
    cuda = torch.cuda.get_rng_state(device) if getattr(device, "type", "cpu") == "cuda" else None
    return torch.get_rng_state(), cuda


def _set_rng_state(state: tuple[Any, Any], device: Any) -> None:
    torch.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state(state[1], device)


def _trainable_state(model: Any) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def _restore(model: Any, state: dict[str, torch.Tensor]) -> None:
    params = dict(model.named_parameters())
    with torch.no_grad():
        for n, t in state.items():
            params[n].copy_(t)


@dataclass
class FitResult:
    model: Any
    lr: float
    steps: int
    budget: int
    best_step: int
    val_metric: float
    curve: list[list[float]]
    race: dict[str, float]
    converged: bool
    train_seconds: float


def fit(build: Callable[[float], tuple[Any, list[dict]]], lrs: tuple[float, ...], head: Head,
        data: Encoded, train_idx: np.ndarray, val_idx: np.ndarray, protocol: Protocol, seed: int,
        pad_id: int, left: bool, device: torch.device, metric: str, num_classes: int,
        autocast: bool = False, score: Callable[[Any], float] | None = None) -> FitResult:
    """Train with a small lr race, then early stopping on the validation split.

    The budget is `protocol.steps_for(n)`; a run still improving at the budget may
    continue to `extend_factor` x budget. `score(model)`, when given, replaces the classification
    validation metric (generation tasks: exact match of greedy decodes). Every candidate lr trains `race_fraction` of the budget; the best on validation
    continues to the full budget (successive halving with one round: 1.25x the cost of
    one run for two candidates, instead of 2x for a full grid). The state with the best
    validation score is restored at the end.
    """
    budget, hard_cap, eval_every, race_steps = protocol.schedule_for(len(train_idx), len(lrs))
    t0 = time.perf_counter()

    v2 = protocol.version >= 2

    def better(val: float, loss: float, c: Candidate) -> bool:
        return protocol.improves(val, loss, c.best_val, c.best_loss)

    def validate(c: Candidate, loss_sum: torch.Tensor, n: int) -> None:
        pred, val_loss = validation_pass(c.model, head, data, val_idx, pad_id, left, device, autocast=autocast,
                                         predictions=score is None) if v2 or score is None else (None, math.nan)
        if score is not None:
            val = score(c.model)
        else:
            val = metrics_from(pred, data.labels[val_idx], num_classes)[metric]
        loss = float(loss_sum.item()) / max(n, 1)  # the one host sync per validation
        if not math.isfinite(loss):
            c.diverged = True
        c.curve.append([c.step, loss, val, val_loss if math.isfinite(val_loss) else None])
        if better(val, val_loss, c):
            c.best_val, c.best_loss, c.best_step, c.best_state = val, val_loss, c.step, _trainable_state(c.model)

    def advance(c: Candidate, n_steps: int) -> None:
        c.model.train()
        loss_sum = c.loss_sum if c.loss_sum is not None else torch.zeros((), device=device)
        since, done = c.since, 0
        while done < n_steps and c.step < hard_cap:
            batch = next(c.stream).to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                logits, target, _ = head(c.model, batch)
            loss = F.cross_entropy(logits.float(), target)
            loss.backward()
            c.optimizer.step()
            c.scheduler.step()
            c.optimizer.zero_grad(set_to_none=True)
            loss_sum += loss.detach()
            c.step += 1
            done += 1
            since += 1
            if c.step % eval_every == 0 or c.step == hard_cap:
                validate(c, loss_sum, since)
                loss_sum = torch.zeros((), device=device)
                since = 0
                if c.diverged:
                    break
        c.loss_sum, c.since = loss_sum, since

    race: dict[str, float] = {}
    best: Candidate | None = None
    for lr in lrs:
        torch.manual_seed(seed)
        model, groups = build(lr)
        model.to(device)
        opt = make_optimizer(groups, protocol.weight_decay, device)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule(int(budget * protocol.warmup_fraction)))
        cand = Candidate(lr, model, opt, sched, train_stream(data, train_idx, protocol.batch_size,
                                                             np.random.default_rng(seed), pad_id, left))
        advance(cand, race_steps)
        # Every candidate re-seeds the global generator, which the earlier ones' dropout draws from: the winner
        # resumes from its own state, so it continues exactly as the run of its lr alone would (the recipe benchmark
        # reads races off single-lr runs).
        cand.rng = _rng_state(device)
        race[f"{lr:g}"] = cand.best_val if not cand.diverged else float("nan")
        # The race uses the checkpoint rule: under v2 two lrs at the same (often majority-class) accuracy after 25%
        # of the budget are told apart by validation loss instead of keeping the first one tried.
        if not cand.diverged and (best is None or better(cand.best_val, cand.best_loss, best)):
            best = cand
        else:
            del cand  # free the loser's weights and optimizer state now
    if best is None:
        raise FloatingPointError(f"training diverged (loss is not finite) at every lr in {list(lrs)}")
    race = {k: (v if math.isfinite(v) else None) for k, v in race.items()}
    _set_rng_state(best.rng, device)

    # Continue the winner. v2: always to the budget; past it, go on until `patience` checks without a gain (up to
    # extend_factor x budget), so a slow-converging method (prompt tuning) is not cut off while still improving.
    # v1: stop after `patience` checks without a gain even before the budget; past it, at the first check without one.
    while best.step < hard_cap and not best.diverged:
        since_best = (best.step - best.best_step) // eval_every
        if v2 and best.step >= budget and since_best >= protocol.patience:
            break
        if not v2 and (since_best >= protocol.patience or (best.step >= budget and since_best >= 1)):
            break
        advance(best, eval_every)
    if best.best_state is not None:
        _restore(best.model, best.best_state)
    # Not converged = cut off by the hard cap while the last check was still the best.
    converged = not (best.step >= hard_cap and best.best_step == best.step)
    return FitResult(best.model, best.lr, best.step, budget, best.best_step, best.best_val, best.curve, race,
                     bool(converged), time.perf_counter() - t0)


# ---------------------------------------------------------------------------------------
# Features, forgetting, memory
# ---------------------------------------------------------------------------------------


def pooled_features(model: Any, data: Encoded, idx: np.ndarray, pad_id: int, left: bool, device: torch.device,
                    batch_size: int = 64) -> np.ndarray:
    """Mean-pooled last hidden states over the real input tokens (adapters, if any, active).

    Soft prompts are prepended by peft, so the input tokens are always the last
    `width` positions of the hidden states.
    """
    was_training = model.training
    model.eval()
    out = np.zeros((len(idx), 0), dtype=np.float32)
    rows = {}
    with torch.inference_mode():
        for batch in eval_batches(data, idx, batch_size, pad_id, left):
            batch = batch.to(device)
            kw = batch.model_inputs()
            res = model(**kw, output_hidden_states=True, **({"logits_to_keep": 1} if left else {}))
            hidden = res.hidden_states[-1][:, -batch.input_ids.shape[1]:, :].float()
            mask = batch.attention_mask.unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            for i, v in zip(batch.index, pooled.cpu().numpy()):
                rows[int(i)] = v
    model.train(was_training)
    out = np.stack([rows[int(i)] for i in idx]) if len(idx) else out
    return out


def lm_loss(model: Any, texts_ids: list[torch.Tensor], device: torch.device) -> float:
    """Mean next-token loss (nats/token) on fixed texts, one text at a time (no padding effects)."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.inference_mode():
        for ids in texts_ids:
            x = ids.unsqueeze(0).to(device)
            logits = model(input_ids=x, attention_mask=torch.ones_like(x)).logits[:, -x.shape[1]:, :].float()
            loss = F.cross_entropy(logits[0, :-1], x[0, 1:], reduction="sum")
            total += float(loss)
            count += x.shape[1] - 1
    model.train(was_training)
    return total / max(count, 1)


class PeakRSS:
    """Samples this process's resident memory every 20 ms; `.peak_mb` after the block."""

    def __init__(self, interval: float = 0.02):
        import psutil

        self._proc = psutil.Process()
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakRSS":
        self.peak = self._proc.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)

    @property
    def peak_mb(self) -> float:
        return self.peak / 2**20
