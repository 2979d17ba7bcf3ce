"""How readable is a learned soft prompt? Each virtual token is projected onto the vocabulary.

For every virtual token: its nearest vocabulary tokens by cosine similarity and its max cosine to any
real token. The reference is the same statistic for real tokens (max cosine to any *other* token, on a
seeded sample of the vocabulary): a virtual token whose max cosine is below nearly every real token's
(the reference's 5th percentile) sits off the vocabulary manifold, so reading it as its nearest word
says little (Lester et al. 2021, section 7; Khashabi et al. 2022, "Prompt Waywardness").
"""

from __future__ import annotations

from typing import Any

import numpy as np

REFERENCE_SAMPLE = 2000
TOP_K = 5


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-12)


def readability(prompt: np.ndarray, vocab: np.ndarray, tokenizer: Any = None, k: int = TOP_K,
                seed: int = 0) -> dict[str, Any]:
    """Nearest tokens and off-vocabulary distance of each row of `prompt` ([virtual, dim]) in `vocab` ([V, dim])."""
    v = _unit(vocab.astype(np.float32))
    p = _unit(prompt.astype(np.float32))
    sims = p @ v.T
    top = np.argsort(-sims, axis=1)[:, :k]
    max_cos = sims.max(1)
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(v), size=min(REFERENCE_SAMPLE, len(v)), replace=False)
    ref = v[sample] @ v.T
    ref[np.arange(len(sample)), sample] = -np.inf  # a token is trivially its own nearest neighbour
    ref_max = ref.max(1)
    p05 = float(np.percentile(ref_max, 5))
    words = (lambda i: tokenizer.convert_ids_to_tokens(int(i))) if tokenizer is not None else (lambda i: int(i))
    return {
        "virtual_tokens": int(len(p)),
        "virtual_max_cos": [float(x) for x in max_cos],
        "virtual_max_cos_median": float(np.median(max_cos)),
        "reference_max_cos_median": float(np.median(ref_max)),
        "reference_max_cos_p05": p05,
        "reference_sample": int(len(sample)),
        "share_off_vocabulary": float((max_cos < p05).mean()),
        "nearest": [[[words(i), float(sims[r, i])] for i in top[r]] for r in range(len(p))],
    }


def input_embeddings(model: Any) -> np.ndarray:
    return model.get_input_embeddings().weight.detach().float().cpu().numpy()
