"""Generation tasks (task kind=generation, e.g. en_fr_words) on a causal LM.

Training: teacher forcing on the target only. Each training example is
"instruction + filled template" + " " + target + EOS; the loss is next-token cross
entropy on the target's tokens and the EOS, the prompt tokens are masked (-100), so
every method learns the answer, not the prompt. Scoring: batched greedy decoding
(left padding) of at most MAX_NEW_TOKENS tokens, stopped at a newline or EOS, then
exact match against every accepted form (`exact_match`). The lr race, step budget
and early stopping are the classification protocol's (bench.train.fit), with the
validation exact match as the selection metric.

Train size / split for generation: `train_size` rows of the training pool, taken from
the front of one seeded permutation; validation rows from its back (disjoint from
every train size); test = at most `test_cap` rows of the test file, the same for
every seed. There are no classes, so nothing is stratified.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_NEW_TOKENS = 10  # French words here are <= ~6 tokens for SmolLM2; a little slack for accents
MAX_SHOTS = 8


class UnsupportedError(RuntimeError):
    """This method/backbone cannot run this kind of task (recorded as an unsupported trial, not a crash)."""


def normalise(text: str) -> str:
    """Compare forms case-insensitively, after stripping whitespace and one trailing period; accents count
    (NFC on both sides so a composed and a decomposed 'é' are the same letter)."""
    s = unicodedata.normalize("NFC", str(text)).strip()
    if s.endswith("."):
        s = s[:-1].rstrip()
    return s.casefold()


def exact_match(prediction: str, accepted: list[str]) -> bool:
    p = normalise(prediction)
    return any(p == normalise(a) for a in accepted)


def exact_match_rate(predictions: list[str], accepted: list[list[str]]) -> float:
    if not predictions:
        return 0.0
    return float(np.mean([exact_match(p, a) for p, a in zip(predictions, accepted)]))


def end_token_id(tokenizer: Any) -> int:
    """The token that ends an answer: EOS; tokenizers without one (BERT's, used by the tiny test Llama) end with SEP."""
    for tid in (tokenizer.eos_token_id, tokenizer.sep_token_id):
        if tid is not None:
            return int(tid)
    raise ValueError(f"tokenizer {type(tokenizer).__name__} has neither an EOS nor a SEP token to end answers with")


@dataclass
class GenData:
    """What a generation cell adds: teacher-forcing sequences of the pool and the accepted forms."""

    train: Any  # train.Encoded: prompt + " target" + EOS per pool row; labels = number of target tokens
    pool_accepted: list[list[str]]
    test_accepted: list[list[str]]
    stop: tuple[str, ...] = ("\n",)


def encode_targets(tokenizer: Any, prompts: list[str], targets: list[str], max_length: int) -> Any:
    """prompt + " " + target + EOS as one sequence; `labels` holds how many trailing tokens are the target."""
    import torch

    from bench.train import Encoded

    tokenizer.truncation_side = "left"
    p_ids = tokenizer(prompts, add_special_tokens=False, truncation=True, max_length=max_length)["input_ids"]
    t_ids = tokenizer([" " + t for t in targets], add_special_tokens=False)["input_ids"]
    eos = end_token_id(tokenizer)
    seqs = [torch.tensor(p + t + [eos], dtype=torch.long) for p, t in zip(p_ids, t_ids)]
    n_target = np.array([len(t) + 1 for t in t_ids])
    return Encoded(seqs, None, n_target, np.array([len(s) for s in seqs]), list(prompts))


class GenHead:
    """Teacher forcing: (logits, targets) with every non-target position set to -100 (ignored by the loss).

    Left padding puts each example's target at the end, so the target of row r is its last
    `batch.labels[r]` tokens. Logits are taken from the last `width` positions because a prompt-tuned
    model prepends virtual tokens."""

    def __call__(self, model: Any, batch: Any) -> tuple[Any, Any, Any]:
        import torch

        ids = batch.input_ids
        width = ids.shape[1]
        logits = model(**batch.model_inputs()).logits[:, -width:, :]
        pos = torch.arange(width, device=ids.device).unsqueeze(0)
        is_target = pos >= (width - batch.labels.to(ids.device)).unsqueeze(1)
        target = torch.where(is_target, ids, torch.full_like(ids, -100))
        # position t predicts token t+1
        return logits[:, :-1].reshape(-1, logits.shape[-1]).float(), target[:, 1:].reshape(-1), None


def greedy_decode(model: Any, tokenizer: Any, data: Any, idx: np.ndarray, pad_id: int, device: Any,
                  stop: tuple[str, ...] = ("\n",), batch_size: int = 64, autocast: bool = False,
                  max_new_tokens: int = MAX_NEW_TOKENS) -> tuple[list[str], float]:
    """Greedy continuation of each prompt in `idx` (in `idx` order), cut at EOS or a stop string; wall time."""
    import torch

    from bench.train import eval_batches

    was_training = model.training
    model.eval()
    # A soft prompt or prefix (PEFT prompt learning) is re-inserted on every forward call, so those models decode by
    # full recompute; plain, LoRA and fully fine-tuned models reuse the key/value cache.
    peft_config = getattr(model, "active_peft_config", None)
    cached = not bool(getattr(peft_config, "is_prompt_learning", False))
    out: dict[int, str] = {}
    eos = end_token_id(tokenizer)
    t0 = time.perf_counter()
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
        for batch in eval_batches(data, idx, batch_size, pad_id, True):
            ids, mask = batch.input_ids.to(device), batch.attention_mask.to(device)
            new = torch.empty((ids.shape[0], 0), dtype=torch.long, device=device)
            done = torch.zeros(ids.shape[0], dtype=torch.bool, device=device)
            past = None
            for _ in range(max_new_tokens):
                if cached:
                    # Only the new token goes through the model; the prompt's keys/values are reused: an 8-shot
                    # prompt of ~120 tokens costs 1 token per step after the first instead of ~120. Positions
                    # continue from the cache exactly as in a full recompute (same tokens: tested).
                    step = model(input_ids=ids if past is None else ids[:, -1:], attention_mask=mask,
                                 past_key_values=past, use_cache=True, logits_to_keep=1)
                    past = step.past_key_values
                    logits = step.logits[:, -1, :]
                else:
                    logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=1).logits[:, -1, :]
                nxt = logits.argmax(-1)
                nxt = torch.where(done, torch.full_like(nxt, pad_id), nxt)
                done |= nxt == eos
                new = torch.cat([new, nxt[:, None]], 1)
                ids = torch.cat([ids, nxt[:, None]], 1)
                mask = torch.cat([mask, torch.ones_like(nxt)[:, None]], 1)  # finished rows are discarded anyway
                if bool(done.all()):
                    break
                # a stop string ends a row too (decoded only every step of short answers: cheap)
                texts = tokenizer.batch_decode(new, skip_special_tokens=True)
                done |= torch.tensor([any(s in t for s in stop) for t in texts], device=device)
            texts = tokenizer.batch_decode(new.cpu(), skip_special_tokens=True)
            for i, t in zip(batch.index, texts):
                for s in stop:
                    t = t.split(s)[0]
                out[int(i)] = t.strip()
    seconds = time.perf_counter() - t0
    model.train(was_training)
    return [out[int(i)] for i in idx], seconds


def _score(cell: Any, model: Any, data: Any, idx: np.ndarray, accepted: list[list[str]],
           stop: tuple[str, ...] = ("\n",)) -> tuple[float, list[str], float]:
    preds, seconds = greedy_decode(model, cell.backbone.tokenizer, data, idx, cell.pad_id, cell.device, stop,
                                   autocast=cell.autocast)
    return exact_match_rate(preds, [accepted[int(i)] for i in idx]), preds, seconds


def require_causal(cell: Any, method: str) -> None:
    if not cell.causal:
        raise UnsupportedError(f"{method} on backbone {cell.backbone.name} (kind=encoder) cannot run task "
                               f"{cell.task.name} (kind=generation): an encoder has no decoder to write the answer; "
                               "use a causal LM backbone (e.g. smollm2-135m)")


def run_trained(method: Any, cell: Any) -> Any:
    """The shared train -> select -> evaluate path of the trained methods, for generation."""
    from bench.methods.base import MethodOutput
    from bench.train import fit

    require_causal(cell, method.name)
    gen = cell.gen
    result = fit(lambda lr: method.build(cell, lr), method.candidates(cell), GenHead(), gen.train, cell.train_idx,
                 cell.val_idx, cell.protocol, cell.seed, cell.pad_id, True, cell.device, cell.metric, 0,
                 cell.autocast, score=lambda m: _score(cell, m, cell.pool, cell.val_idx, gen.pool_accepted)[0])
    model = result.model
    test_em, preds, seconds = _score(cell, model, cell.test, cell.test_idx, gen.test_accepted)
    train_eval = cell.train_idx[: cell.protocol.train_eval_cap]
    train_em, _, _ = _score(cell, model, cell.pool, train_eval, gen.pool_accepted)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    forgetting = cell.forgetting_probe(model) if cell.forgetting_probe else None
    return MethodOutput(
        accuracy=test_em, macro_f1=test_em, train_accuracy=train_em, val_metric=result.val_metric,
        train_time_s=result.train_seconds, trainable_params=int(trainable),
        stored_bytes=int(method.stored_bytes(model)), infer_ms_per_example=1000 * seconds / max(len(preds), 1),
        forgetting=forgetting, lr=result.lr, steps=result.steps,
        extra={"budget_steps": result.budget, "best_step": result.best_step, "loss_curve": result.curve,
               "lr_race": result.race, "converged": result.converged, "hyperparams": method.hyperparams(cell),
               "exact_match": test_em, "metric_note": "generation: accuracy = macro_f1 = exact match",
               "sample_predictions": [[cell.test.texts[int(i)].rsplit("\n", 2)[-2:], p]
                                      for i, p in zip(cell.test_idx[:10], preds[:10])]})


def prompting_variants(cell: Any, demos: list[int]) -> dict[str, tuple[Any, Any, tuple[str, ...]]]:
    """Prompt texts per variant as a function(rows) -> list[str], with their stop strings.

    zero_shot: instruction + template. few_shot: instruction + demonstrations in template form.
    arrow: the IBM explainer's style "bread -> pain, butter -> beurre, cheese ->" (demonstrations from
    the training subset), stopped at the next comma. seed_example: that explainer's two demonstrations
    themselves, whatever the training subset (both pairs are in en_fr_words' train.csv, "cheese" in test.csv):
    the prompt the project's seed material motivates prompt tuning with. Only for tasks that declare
    `seed_demonstrations` in their YAML.
    """
    task, rows = cell.task, cell.pool_rows
    field = task.text_fields[0]
    shots = "".join(task.render(rows.iloc[i]) + " " + rows.iloc[i]["target"] + "\n\n" for i in demos)
    arrow = "".join(f"{rows.iloc[i][field]} -> {rows.iloc[i]['target']}, " for i in demos)
    seed = "".join(f"{src} -> {tgt}, " for src, tgt in getattr(task, "seed_demonstrations", ()) or ())
    return {
        "zero_shot": (lambda df: [task.instruction + "\n" + task.render(r) for r in df.to_dict("records")], ("\n",)),
        "few_shot": (lambda df: [task.instruction + "\n\n" + shots + task.render(r) for r in df.to_dict("records")],
                     ("\n",)),
        "arrow": (lambda df: [arrow + f"{r[field]} ->" for r in df.to_dict("records")], ("\n", ",")),
        **({"seed_example": (lambda df: [seed + f"{r[field]} ->" for r in df.to_dict("records")], ("\n", ","))}
           if seed else {}),
    }


def run_prompting(cell: Any, test_rows: Any) -> Any:
    """prompt_engineering for generation: zero-shot, few-shot and arrow-style prompts, chosen on validation."""
    from bench.methods.base import MethodOutput
    from bench.train import encode

    require_causal(cell, "prompt_engineering")
    demos = [int(i) for i in cell.train_idx[:MAX_SHOTS]]
    # The pristine weights on the run's device: on a GPU run `pristine` itself stays on the CPU (found on an H100:
    # "index is on cuda:0, different from other tensors on cpu").
    model, tok, gen = cell.backbone.pristine_on(cell.device), cell.backbone.tokenizer, cell.gen
    max_len = cell.protocol.causal_max_length * 4  # demonstrations lengthen the prompt; never cut the query
    res: dict[str, dict] = {}
    for name, (render, stop) in prompting_variants(cell, demos).items():
        pool = encode(tok, render(cell.pool_rows), np.arange(len(cell.pool_rows)), max_len, True)
        test = encode(tok, render(test_rows), np.arange(len(test_rows)), max_len, True)
        val, _, _ = _score(cell, model, pool, cell.val_idx, gen.pool_accepted, stop)
        em, preds, sec = _score(cell, model, test, cell.test_idx, gen.test_accepted, stop)
        res[name] = {"val": val, "exact_match": em, "seconds": sec, "pool": pool, "stop": stop,
                     "prompt_bytes": len(render(test_rows.iloc[:1])[0].encode())}
    chosen = max(res, key=lambda v: (res[v]["val"], v == "zero_shot"))
    c = res[chosen]
    train_eval = np.array([i for i in cell.train_idx if int(i) not in set(demos)][: cell.protocol.train_eval_cap])
    train_em = _score(cell, model, c["pool"], train_eval, gen.pool_accepted, c["stop"])[0] if len(train_eval) else 0.0
    return MethodOutput(
        accuracy=c["exact_match"], macro_f1=c["exact_match"], train_accuracy=train_em, val_metric=c["val"],
        train_time_s=0.0, trainable_params=0, stored_bytes=c["prompt_bytes"],
        infer_ms_per_example=1000 * c["seconds"] / max(len(cell.test_idx), 1), forgetting=0.0, lr=None, steps=0,
        extra={"variant": chosen, "shots": len(demos), "demonstration_ids": demos,
               "variants": {v: {"val": r["val"], "exact_match": r["exact_match"]} for v, r in res.items()},
               "zero_shot_accuracy": res["zero_shot"]["exact_match"],
               "few_shot_accuracy": max(r["exact_match"] for v, r in res.items() if v != "zero_shot"),
               "metric_note": "generation: accuracy = macro_f1 = exact match",
               "forgetting_note": "no adaptation: 0 by construction", "converged": True})
