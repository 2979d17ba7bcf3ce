"""prompt_engineering: no training; hand-written prompts only.

Causal LM: the task instruction + the input, scored by the next-token logits of each
label word (zero-shot), and the same with k in-context demonstrations drawn
deterministically from the training subset (few-shot). The shared demonstration
prefix is run once and its key/value cache reused for every example, so few-shot
costs about as much as zero-shot per example.

Encoder (no generation): the input's mean-pooled embedding against the embedded
label descriptions (zero-shot, cosine similarity), and against class centroids of
the training examples' embeddings (few-shot). Which variant is reported is chosen
on the validation split, like every other method's hyperparameters; both are recorded.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np

from bench.methods.base import Cell, Method, MethodOutput
from bench.methods.linear_probe import pristine_features

MAX_SHOTS = 8
FEW_SHOT_MAX_TOKENS = 768


def demonstrations(cell: Cell, k: int) -> list[int]:
    """Up to k training examples, one class at a time in label order, in training-subset order."""
    by_class: dict[int, list[int]] = {}
    for i in cell.train_idx:
        by_class.setdefault(int(cell.pool.labels[i]), []).append(int(i))
    out: list[int] = []
    while len(out) < k and any(by_class.values()):
        for c in sorted(by_class):
            if by_class[c] and len(out) < k:
                out.append(by_class[c].pop(0))
    return out


def _cosine_predict(x: np.ndarray, refs: np.ndarray) -> np.ndarray:
    x = x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-9)
    r = refs / np.linalg.norm(refs, axis=1, keepdims=True).clip(1e-9)
    return (x @ r.T).argmax(1)


class PromptEngineering(Method):
    name = "prompt_engineering"
    trains = False

    def run(self, cell: Cell) -> MethodOutput:
        if cell.task.generation:
            from bench.methods.generation import run_prompting

            return run_prompting(cell, cell.cache["test_rows"])
        return self._causal(cell) if cell.causal else self._encoder(cell)

    # ---- encoder ----------------------------------------------------------------------
    def _encoder(self, cell: Cell) -> MethodOutput:
        from bench.train import encode, metrics_from, pooled_features

        k = cell.task.num_classes
        t0 = time.perf_counter()
        descs = encode(cell.backbone.tokenizer, [lab.description for lab in cell.task.labels], np.arange(k),
                       cell.protocol.max_length, False)
        desc_emb = pooled_features(cell.backbone.pristine_on(cell.device), descs, np.arange(k), cell.pad_id, False, cell.device)
        x_train = pristine_features(cell, "pool", cell.train_idx)
        y_train = cell.pool.labels[cell.train_idx]
        centroids = np.stack([x_train[y_train == c].mean(0) if (y_train == c).any() else desc_emb[c]
                              for c in range(k)])
        prep = time.perf_counter() - t0
        x_val = pristine_features(cell, "pool", cell.val_idx)
        y_val = cell.pool.labels[cell.val_idx]
        refs = {"zero_shot": desc_emb, "few_shot": centroids}
        val = {v: metrics_from(_cosine_predict(x_val, r), y_val, k)[cell.metric] for v, r in refs.items()}
        t1 = time.perf_counter()
        x_test = pristine_features(cell, "test", cell.test_idx)
        infer = time.perf_counter() - t1
        y_test = cell.test.labels[cell.test_idx]
        tests = {v: metrics_from(_cosine_predict(x_test, r), y_test, k) for v, r in refs.items()}
        chosen = max(val, key=lambda v: (val[v], v == "zero_shot"))
        stored = {"zero_shot": sum(len(lab.description.encode()) for lab in cell.task.labels),
                  "few_shot": int(centroids.size * 4)}
        train_acc = metrics_from(_cosine_predict(x_train, refs[chosen]), y_train, k)["accuracy"]
        return MethodOutput(
            accuracy=tests[chosen]["accuracy"], macro_f1=tests[chosen]["macro_f1"], train_accuracy=train_acc,
            val_metric=val[chosen], train_time_s=prep, trainable_params=0, stored_bytes=stored[chosen],
            infer_ms_per_example=1000 * infer / max(len(y_test), 1), forgetting=0.0, lr=None, steps=0,
            extra={"variant": chosen, "variants": {v: {"val": val[v], **tests[v]} for v in refs},
                   "zero_shot_accuracy": tests["zero_shot"]["accuracy"],
                   "few_shot_accuracy": tests["few_shot"]["accuracy"],
                   "encoder_prompting": "zero_shot = cosine to embedded label descriptions; "
                                        "few_shot = cosine to class centroids of the training embeddings",
                   "forgetting_note": "no adaptation: 0 by construction", "converged": True})

    # ---- causal LM --------------------------------------------------------------------
    def _causal(self, cell: Cell) -> MethodOutput:
        from bench.train import Head, metrics_from, predict

        k = cell.task.num_classes
        head = Head(True, cell.label_token_ids)
        model = cell.backbone.pristine_on(cell.device)
        # Zero-shot: the pool/test encodings already hold "instruction + filled template".
        z_val, _ = predict(model, head, cell.pool, cell.val_idx, cell.pad_id, True, cell.device)
        z_test, z_sec = predict(model, head, cell.test, cell.test_idx, cell.pad_id, True, cell.device)
        y_val, y_test = cell.pool.labels[cell.val_idx], cell.test.labels[cell.test_idx]
        demos = demonstrations(cell, min(MAX_SHOTS, len(cell.train_idx)))
        prefix = self._prefix(cell, demos)
        t0 = time.perf_counter()
        f_val = self._few_shot_predict(cell, prefix, cell.pool, cell.val_idx)
        f_test, f_sec = self._few_shot_predict(cell, prefix, cell.test, cell.test_idx, timed=True)
        results = {"zero_shot": (z_val, z_test, z_sec), "few_shot": (f_val, f_test, f_sec)}
        val = {v: metrics_from(r[0], y_val, k)[cell.metric] for v, r in results.items()}
        tests = {v: metrics_from(r[1], y_test, k) for v, r in results.items()}
        chosen = max(val, key=lambda v: (val[v], v == "zero_shot"))
        prompt_bytes = len(cell.task.instruction.encode()) + (len(prefix.encode()) if chosen == "few_shot" else 0)
        extra_tokens = len(cell.backbone.tokenizer(prefix, add_special_tokens=False)["input_ids"]) \
            if chosen == "few_shot" else 0
        # Training accuracy: the chosen prompt on the training subset (what the demonstrations came from).
        train_eval = cell.train_idx[: cell.protocol.train_eval_cap]
        if chosen == "zero_shot":
            tr, _ = predict(model, head, cell.pool, train_eval, cell.pad_id, True, cell.device)
        else:
            tr = self._few_shot_predict(cell, prefix, cell.pool, train_eval)
        return MethodOutput(
            accuracy=tests[chosen]["accuracy"], macro_f1=tests[chosen]["macro_f1"],
            train_accuracy=metrics_from(tr, cell.pool.labels[train_eval], k)["accuracy"], val_metric=val[chosen],
            train_time_s=0.0, trainable_params=0, stored_bytes=prompt_bytes,
            infer_ms_per_example=1000 * results[chosen][2] / max(len(y_test), 1), forgetting=0.0, lr=None, steps=0,
            extra={"variant": chosen, "shots": len(demos), "demonstration_ids": demos,
                   "extra_inference_tokens": extra_tokens,
                   "variants": {v: {"val": val[v], **tests[v]} for v in results},
                   "zero_shot_accuracy": tests["zero_shot"]["accuracy"],
                   "few_shot_accuracy": tests["few_shot"]["accuracy"],
                   "forgetting_note": "no adaptation: 0 by construction", "converged": True,
                   "few_shot_prep_s": time.perf_counter() - t0 - f_sec})

    @staticmethod
    def _prefix(cell: Cell, demos: list[int]) -> str:
        rows = cell.pool_rows
        parts = [cell.task.instruction, ""]
        for i in demos:
            row = rows.iloc[i]
            parts += [cell.task.render(row) + " " + cell.task.labels[int(cell.pool.labels[i])].word, ""]
        return "\n".join(parts)

    def _few_shot_predict(self, cell: Cell, prefix: str, data: Any, idx: np.ndarray, timed: bool = False) -> Any:
        """Score label words after the shared demonstration prefix, reusing its key/value cache."""
        import torch

        from bench.train import eval_batches

        tok = cell.backbone.tokenizer
        model = cell.backbone.pristine_on(cell.device)
        prefix_ids = tok(prefix, add_special_tokens=False, return_tensors="pt")["input_ids"]
        prefix_ids = prefix_ids[:, -FEW_SHOT_MAX_TOKENS:].to(cell.device)
        # The per-example encodings start with the instruction; the prefix already holds it. Where
        # the tokens do not start with it (a long input truncated from the left), re-tokenise the
        # example's own part of the text instead of cutting blindly.
        head = cell.task.instruction + "\n"
        instr = torch.tensor(tok(head, add_special_tokens=False)["input_ids"])
        skip = len(instr)

        def own_part(i: int) -> Any:
            t = data.ids[i]
            if len(t) > skip and torch.equal(t[:skip], instr):
                return t[skip:]
            text = data.texts[i][len(head):] if data.texts[i].startswith(head) else data.texts[i]
            return torch.tensor(tok(text, add_special_tokens=False, truncation=True,
                                    max_length=cell.protocol.causal_max_length)["input_ids"][-cell.protocol.causal_max_length:])

        wanted = {int(i) for i in idx}
        suffix = copy.copy(data)
        suffix.ids = [own_part(i) if i in wanted else t for i, t in enumerate(data.ids)]
        suffix.lengths = np.array([len(t) for t in suffix.ids])
        preds = np.empty(len(idx), dtype=np.int64)
        pos = {int(i): n for n, i in enumerate(idx)}
        t0 = time.perf_counter()
        with torch.inference_mode():
            cache = model(input_ids=prefix_ids, use_cache=True).past_key_values
            plen = prefix_ids.shape[1]
            for batch in eval_batches(suffix, idx, 32, cell.pad_id, True):
                batch = batch.to(cell.device)
                b = batch.input_ids.shape[0]
                kv = copy.deepcopy(cache)
                kv.batch_repeat_interleave(b)
                mask = torch.cat([torch.ones((b, plen), dtype=batch.attention_mask.dtype, device=cell.device),
                                  batch.attention_mask], 1)
                # Left padding: real tokens continue the prefix's positions without gaps.
                position_ids = (plen + batch.attention_mask.cumsum(1) - 1).clamp(min=plen)
                out = model(input_ids=batch.input_ids, attention_mask=mask, position_ids=position_ids,
                            past_key_values=kv, use_cache=True, logits_to_keep=1)
                scores = out.logits[:, -1, :][:, cell.label_token_ids]
                for i, p in zip(batch.index, scores.argmax(-1).cpu().numpy()):
                    preds[pos[int(i)]] = p
        seconds = time.perf_counter() - t0
        return (preds, seconds) if timed else preds
