"""linear_probe: frozen mean-pooled backbone features + scikit-learn logistic regression.

The cheap baseline every user should see next to the adaptation methods.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench.methods.base import Cell, Method, MethodOutput

C_GRID = (0.1, 1.0, 10.0)

# Pristine-backbone features, shared by every cell of a process: (backbone, task, split) -> {index: vector}.
_FEATURES: dict[tuple[str, str, str], dict[int, np.ndarray]] = {}


def pristine_features(cell: Cell, split: str, idx: np.ndarray) -> np.ndarray:
    """Mean-pooled features of the unadapted backbone, computed once per example per process."""
    from bench.train import pooled_features

    store = _FEATURES.setdefault((cell.backbone.name, cell.task.name, split), {})
    data = cell.pool if split == "pool" else cell.test
    missing = np.array([i for i in idx if int(i) not in store], dtype=np.int64)
    if len(missing):
        feats = pooled_features(cell.backbone.pristine_on(cell.device), data, missing, cell.pad_id, cell.causal, cell.device)
        store.update({int(i): f for i, f in zip(missing, feats)})
    return np.stack([store[int(i)] for i in idx])


class LinearProbe(Method):
    name = "linear_probe"
    trains = False

    def run(self, cell: Cell) -> MethodOutput:
        if cell.task.generation:
            from bench.methods.generation import UnsupportedError

            raise UnsupportedError(f"linear_probe cannot run task {cell.task.name} (kind=generation): a classifier "
                                   "on frozen features predicts one of fixed classes, it cannot write text; use "
                                   "prompt_engineering, prompt_tuning, prefix_tuning, lora or full_finetuning "
                                   "with a causal LM backbone")
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        from bench.train import metrics_from

        t0 = time.perf_counter()
        x_train = pristine_features(cell, "pool", cell.train_idx)
        x_val = pristine_features(cell, "pool", cell.val_idx)
        y_train, y_val = cell.pool.labels[cell.train_idx], cell.pool.labels[cell.val_idx]
        scaler = StandardScaler().fit(x_train)
        best: tuple[float, float, Any] | None = None
        for c in C_GRID:  # regularisation chosen on the validation split, like every method's lr
            clf = LogisticRegression(C=c, max_iter=2000).fit(scaler.transform(x_train), y_train)
            val = metrics_from(clf.predict(scaler.transform(x_val)), y_val, cell.task.num_classes)[cell.metric]
            if best is None or val > best[0]:
                best = (val, c, clf)
        val_metric, c, clf = best
        train_seconds = time.perf_counter() - t0
        t1 = time.perf_counter()
        x_test = pristine_features(cell, "test", cell.test_idx)
        pred = clf.predict(scaler.transform(x_test))
        infer = time.perf_counter() - t1
        test = metrics_from(pred, cell.test.labels[cell.test_idx], cell.task.num_classes)
        train_acc = metrics_from(clf.predict(scaler.transform(x_train)), y_train, cell.task.num_classes)["accuracy"]
        n_params = clf.coef_.size + clf.intercept_.size + scaler.mean_.size + scaler.scale_.size
        return MethodOutput(
            accuracy=test["accuracy"], macro_f1=test["macro_f1"], train_accuracy=train_acc, val_metric=val_metric,
            train_time_s=train_seconds, trainable_params=int(clf.coef_.size + clf.intercept_.size),
            stored_bytes=int(n_params * 4), infer_ms_per_example=1000 * infer / max(len(pred), 1),
            forgetting=0.0, lr=None, steps=int(np.max(clf.n_iter_)),
            extra={"hyperparams": {"C": c, "C_grid": list(C_GRID)},
                   "forgetting_note": "backbone frozen and unchanged: 0 by construction",
                   "converged": True,
                   "timing_note": "train_time_s includes extracting features for train and validation"})
