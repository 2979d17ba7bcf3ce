"""One trial: prepare the matched cell, run one method, measure, and build the result record.

The runner owns the result file; this module only returns the record.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bench.protocol import Protocol, capped_random_indices, capped_test_indices, split_cell, split_random
from bench.results import REPO, SCHEMA_VERSION, portable_path
from bench.tasks import TaskError, TaskSpec, load_split

PROBE_TEXT = REPO / "data" / "probe_text.txt"


# Where a trial runs. `cuda` trains under bf16 autocast where the card supports it (SmolLM2: ~0.3 s a step on an
# H200 against 3-7 s on these cores). `cuda-fp32` runs the GPU in full precision: MiniLM ships fp16-rounded weights,
# and under bf16 autocast its full fine-tuning and prefix tuning collapsed to chance, so the encoder's grid may use a
# GPU only without autocast (recorded as device "cuda", not "cuda+bf16").
DEVICES = ("auto", "cpu", "cuda", "cuda-fp32")
DEVICES_TEXT = " | ".join(DEVICES)


def resolve_device(device: str = "auto") -> tuple[Any, bool]:
    """(torch.device, bf16 autocast?) for one of DEVICES. auto picks CUDA (bf16 where supported) when present."""
    import torch

    if device not in DEVICES:
        raise ValueError(f"device={device!r} (allowed: {DEVICES_TEXT})")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device} but no CUDA GPU is visible (use --device auto or cpu)")
    use_cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if not use_cuda:
        return torch.device("cpu"), False
    return torch.device("cuda"), device != "cuda-fp32" and bool(torch.cuda.is_bf16_supported())


# ---------------------------------------------------------------------------------------
# Encodings and probes, cached per process (one backbone load serves the whole grid)
# ---------------------------------------------------------------------------------------
_ENCODED: dict[tuple[str, str, str], tuple[Any, Any]] = {}


def task_texts(task: TaskSpec, df: Any, causal: bool) -> list:
    if causal:
        return [task.instruction + "\n" + task.render(row) for row in df.to_dict("records")]
    if task.is_pair:
        a, b = task.text_fields[:2]
        return list(zip(df[a].astype(str), df[b].astype(str)))
    return df[task.text_fields[0]].astype(str).tolist()


def encoded_split(backbone: Any, task: TaskSpec, split: str, protocol: Protocol, data_dir: Any) -> tuple[Any, Any]:
    from bench.train import encode

    key = (backbone.name, f"{task.name}@{task.version}:{task.source_file}", split)
    if key not in _ENCODED:
        df = load_split(task, split, data_dir)
        causal = backbone.kind == "causal"
        max_len = protocol.causal_max_length if causal else protocol.max_length
        _ENCODED[key] = (encode(backbone.tokenizer, task_texts(task, df, causal), df["label_id"].to_numpy(),
                                max_len, causal), df)
    return _ENCODED[key]


def label_token_ids(backbone: Any, task: TaskSpec) -> Any:
    """First token of " <word>" per label; they must differ or the label words are ambiguous."""
    import torch

    ids = [backbone.tokenizer(" " + lab.word, add_special_tokens=False)["input_ids"][0] for lab in task.labels]
    if len(set(ids)) != len(ids):
        clashes = [lab.word for lab, i in zip(task.labels, ids) if ids.count(i) > 1]
        raise TaskError(f"task {task.name}: label words share a first token for {backbone.name}: {clashes[:6]} "
                        "(causal-LM scoring needs words that differ in their first token)")
    return torch.tensor(ids, dtype=torch.long)


_BASELINES: dict[tuple, float] = {}


def forgetting_probe(backbone: Any, task: TaskSpec, protocol: Protocol, data_dir: Any,
                     device: Any) -> Callable[[Any], float] | None:
    """A function model -> forgetting (positive = the adapted model lost general ability).

    Causal LM: LM loss (nats/token) on data/probe_text.txt with the adapter active,
    minus the pristine model's. Encoder: linear-probe accuracy of mean-pooled features
    on a different task (trec; subj when the task is trec), pristine minus adapted.
    """
    from bench.train import lm_loss, pooled_features

    if backbone.kind == "causal":
        lines = [s for s in PROBE_TEXT.read_text(encoding="utf-8").splitlines() if s.strip()]
        tok = backbone.tokenizer
        ids = [__import__("torch").tensor(tok(s, add_special_tokens=False)["input_ids"]) for s in lines]
        key = (backbone.name, "lm")
        if key not in _BASELINES:
            _BASELINES[key] = lm_loss(backbone.pristine_on(device), ids, device)
        return lambda model: lm_loss(model, ids, device) - _BASELINES[(backbone.name, "lm")]

    from bench.tasks import load_task

    probe_name = "subj" if task.name == "trec" else "trec"
    try:
        probe = load_task(probe_name)
        train, _ = encoded_split(backbone, probe, "train", protocol, data_dir)
        test, _ = encoded_split(backbone, probe, "test", protocol, data_dir)
    except TaskError:
        return None  # no data dir: forgetting is recorded as null
    tr_idx = capped_test_indices(train.labels, protocol.forgetting_probe_train)
    te_idx = capped_test_indices(test.labels, protocol.forgetting_probe_test)
    pad = int(backbone.tokenizer.pad_token_id)

    def accuracy(model: Any) -> float:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        xtr = pooled_features(model, train, tr_idx, pad, False, device)
        xte = pooled_features(model, test, te_idx, pad, False, device)
        scaler = StandardScaler().fit(xtr)
        clf = LogisticRegression(C=1.0, max_iter=2000).fit(scaler.transform(xtr), train.labels[tr_idx])
        return float((clf.predict(scaler.transform(xte)) == test.labels[te_idx]).mean())

    key = (backbone.name, probe_name)
    if key not in _BASELINES:
        _BASELINES[key] = accuracy(backbone.pristine_on(device))
    return lambda model: _BASELINES[key] - accuracy(model)


def prepare_cell(backbone: Any, task: TaskSpec, train_size: int, seed: int, protocol: Protocol,
                 data_dir: Any, device: Any, autocast: bool) -> Any:
    from bench.methods import Cell

    pool, pool_df = encoded_split(backbone, task, "train", protocol, data_dir)
    test, test_df = encoded_split(backbone, task, "test", protocol, data_dir)
    if task.generation:
        return _generation_cell(backbone, task, train_size, seed, protocol, data_dir, device, autocast,
                                pool, pool_df, test, test_df)
    train_idx, val_idx = split_cell(pool.labels, train_size, protocol.val_size(train_size), seed)
    test_idx = capped_test_indices(test.labels, protocol.test_cap)
    causal = backbone.kind == "causal"
    return Cell(backbone=backbone, task=task, protocol=protocol, train_size=train_size, seed=seed, pool=pool,
                test=test, train_idx=train_idx, val_idx=val_idx, test_idx=test_idx, pool_rows=pool_df,
                device=device, autocast=autocast, label_token_ids=label_token_ids(backbone, task).to(device) if causal else None,
                forgetting_probe=forgetting_probe(backbone, task, protocol, data_dir, device))


def _generation_cell(backbone: Any, task: TaskSpec, train_size: int, seed: int, protocol: Protocol, data_dir: Any,
                     device: Any, autocast: bool, pool: Any, pool_df: Any, test: Any, test_df: Any) -> Any:
    """A generation cell: seeded-permutation split (no classes), prompts for decoding, targets for training."""
    from bench.methods import Cell
    from bench.methods.generation import GenData, encode_targets

    causal = backbone.kind == "causal"
    train_idx, val_idx = split_random(len(pool_df), train_size, protocol.val_size(train_size), seed)
    test_idx = capped_random_indices(len(test_df), protocol.test_cap)
    gen = None
    if causal:
        key = (backbone.name, f"{task.name}@{task.version}:{task.source_file}", "train+target")
        if key not in _ENCODED:
            _ENCODED[key] = (encode_targets(backbone.tokenizer, task_texts(task, pool_df, True),
                                            pool_df["target"].tolist(), protocol.causal_max_length), pool_df)
        gen = GenData(_ENCODED[key][0], list(pool_df["accepted"]), list(test_df["accepted"]))
    return Cell(backbone=backbone, task=task, protocol=protocol, train_size=train_size, seed=seed, pool=pool,
                test=test, train_idx=train_idx, val_idx=val_idx, test_idx=test_idx, pool_rows=pool_df,
                device=device, autocast=autocast, label_token_ids=None,
                forgetting_probe=forgetting_probe(backbone, task, protocol, data_dir, device) if causal else None,
                cache={"test_rows": test_df}, gen=gen)


# ---------------------------------------------------------------------------------------
# Environment facts recorded with every run
# ---------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()

    try:
        return {"git_commit": git("rev-parse", "HEAD") or None,
                "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "git_dirty": None}


@functools.lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("torch", "transformers", "peft", "scikit-learn", "numpy", "tuning-advisor"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "absent"
    return out


def environment(device: Any) -> dict[str, Any]:
    import torch

    return {"packages": package_versions(), **git_state(), "threads": torch.get_num_threads(),
            "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                        "cpu_count": os.cpu_count(),
                        "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None}}


# ---------------------------------------------------------------------------------------
# Method overrides (hyperparameter studies without code edits)
# ---------------------------------------------------------------------------------------
OVERRIDES_ENV = "BENCH_OVERRIDES"
# Arrays a trial produced, by run_id, until write_artifacts puts them in a file next to the result (the record
# itself stays plain JSON; run_trial and the write happen in the same process).
_ARTIFACTS: dict[str, Any] = {}
PROMPT_SUFFIX = ".prompt.npy"


def prompt_path(result_json: str | Path) -> Path:
    """Where a prompt-tuning run's learned prompt lives: next to its result, n64-s0.json -> n64-s0.prompt.npy."""
    p = Path(result_json)
    return p.with_name(p.stem + PROMPT_SUFFIX)


def write_artifacts(result_json: str | Path, record: dict[str, Any]) -> None:
    """Move array artifacts off the record into files next to the result (atomic: temp file + rename),
    before the JSON is written, so a result that names a prompt file always has it."""
    prompt = _ARTIFACTS.pop(record.get("run_id"), None)
    if prompt is None:
        return
    path = prompt_path(result_json)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.save(fh, np.asarray(prompt, dtype=np.float32))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    record.setdefault("artifacts", {})["prompt_embeddings"] = path.name


def parse_overrides(text: str | None) -> dict[str, dict[str, Any]]:
    """"method.key=value;..." -> {method: {key: value}}. Keys: `lrs` (any trained method: `|`-separated
    rates, replacing its lr candidates; one rate = no race) and the method's `options` (prompt_tuning.init).

    Read from $BENCH_OVERRIDES (set by `bench run --override`), so worker processes inherit it; every
    record stores what was applied in config.overrides."""
    from bench.methods import METHODS

    out: dict[str, dict[str, Any]] = {}
    for item in [x.strip() for x in (text or "").split(";") if x.strip()]:
        key, sep, value = item.partition("=")
        method, dot, name = key.strip().partition(".")
        if not sep or not dot:
            raise ValueError(f"override {item[:60]!r} (expected method.key=value, e.g. prompt_tuning.init=class_labels)")
        if method not in METHODS:
            raise ValueError(f"override {item[:60]!r}: unknown method {method!r} (valid: {', '.join(METHODS)})")
        options = getattr(METHODS[method], "options", {})
        value = value.strip()
        if name == "lrs":
            try:
                rates = tuple(float(v) for v in value.split("|"))
            except ValueError:
                raise ValueError(f"override {item[:60]!r}: lrs must be |-separated numbers, e.g. 0.03|0.1") from None
            if not rates or any(not (r > 0 and np.isfinite(r)) for r in rates):
                raise ValueError(f"override {item[:60]!r}: every lr must be a positive number")
            out.setdefault(method, {})["lrs"] = rates
        elif name in options:
            if value not in options[name]:
                raise ValueError(f"override {item[:60]!r}: {method}.{name}={value[:30]!r} "
                                 f"(allowed: {', '.join(options[name])})")
            out.setdefault(method, {})[name] = value
        else:
            raise ValueError(f"override {item[:60]!r}: {method} has no option {name!r} "
                             f"(allowed: {', '.join(['lrs', *options])})")
    return out


# ---------------------------------------------------------------------------------------
# One trial -> one record
# ---------------------------------------------------------------------------------------
def run_trial(backbone_name: str, task: TaskSpec, method_name: str, train_size: int, seed: int,
              protocol: Protocol, data_dir: Any = None, device: str = "auto",
              overrides: dict | None = None) -> dict[str, Any]:
    """Run one method on one cell; never raises for a failing trial (status=failed, error=...).

    `overrides` (benchmarks only, e.g. {"init": "class_labels", "lrs": [0.3]}) change the method's recipe and
    are recorded in the result's config."""
    from bench.methods import get_method, override
    from bench.models import load_backbone
    from bench.train import PeakRSS

    started = dt.datetime.now(dt.timezone.utc)
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "status": "failed", "error": None,
        "run_id": f"{backbone_name}/{task.name}/{method_name}/n{train_size}-s{seed}",
        "created_at": started.isoformat(timespec="seconds"),
        "backbone": backbone_name, "task": task.name, "task_version": task.version, "method": method_name,
        "train_size": train_size, "seed": seed,
        **{k: None for k in ("accuracy", "macro_f1", "train_accuracy", "train_time_s", "peak_rss_mb",
                             "trainable_params", "total_params", "stored_bytes", "infer_ms_per_example",
                             "forgetting", "lr", "steps")},
        # Paths relative to the repository (bench.results.portable_path): no machine's absolute paths in records.
        "config": {"protocol": protocol.to_dict(), "data_dir": portable_path(data_dir) if data_dir else None,
                   "task_file": portable_path(task.source_file, inside_only=True) if task.source_file else None,
                   "overrides": overrides or None,
                   "task_metric": task.metric, "task_complexity": task.complexity},
    }
    t0 = time.perf_counter()
    try:
        dev, autocast = resolve_device(device)
        record["device"] = dev.type + ("+bf16" if autocast else "")
        method = get_method(method_name)
        # One override path: `bench run --override` ($BENCH_OVERRIDES, inherited by workers) and a benchmark's own
        # `overrides` argument; the argument wins. Applied to a copy of the method, recorded in the config.
        overrides = {**parse_overrides(os.environ.get(OVERRIDES_ENV)).get(method_name, {}), **(overrides or {})}
        if overrides:
            method = override(method, overrides)
            record["config"]["overrides"] = {k: list(v) if isinstance(v, tuple) else v for k, v in overrides.items()}
        backbone = load_backbone(backbone_name)
        cell = prepare_cell(backbone, task, train_size, seed, protocol, data_dir, dev, autocast)
        record["config"].update({"lr_candidates": list(method.candidates(cell)) if method.trains else None,
                                 "method_version": method.version,
                                 "task_kind": task.kind,
                                 "val_size": len(cell.val_idx), "test_size": len(cell.test_idx),
                                 "backbone_kind": backbone.kind})
        with PeakRSS() as rss:
            out = method.run(cell)
        prompt = out.extra.pop("prompt_embeddings", None)
        if prompt is not None:
            from bench.methods.prompt_inspect import input_embeddings, readability

            # Measured once here (the vocabulary is at hand); the array goes next to the result file.
            out.extra["prompt_readability"] = readability(prompt, input_embeddings(backbone.pristine),
                                                          backbone.tokenizer)
            _ARTIFACTS[record["run_id"]] = prompt
        lengths = cell.pool.lengths[cell.train_idx]
        record.update({
            "status": "ok", "accuracy": out.accuracy, "macro_f1": out.macro_f1, "train_accuracy": out.train_accuracy,
            "overfitting_gap": out.train_accuracy - out.accuracy, "val_accuracy": out.val_metric,
            "train_time_s": out.train_time_s, "peak_rss_mb": rss.peak_mb, "trainable_params": out.trainable_params,
            "total_params": backbone.total_params, "backbone_params": backbone.total_params,
            "stored_bytes": out.stored_bytes, "infer_ms_per_example": out.infer_ms_per_example,
            "examples_per_s": 1000.0 / out.infer_ms_per_example if out.infer_ms_per_example else None,
            "forgetting": out.forgetting, "lr": out.lr, "steps": out.steps,
            "converged": out.extra.get("converged"),
            "num_classes": task.num_classes, "mean_input_tokens": float(np.mean(lengths)), "is_pair": task.is_pair,
            "zero_shot_accuracy": out.extra.get("zero_shot_accuracy"),
            "few_shot_accuracy": out.extra.get("few_shot_accuracy"),
            "metrics": {"val_metric_name": task.metric, **out.extra},
        })
    except Exception as err:  # a failing trial is data, not a crash: the grid goes on
        from bench.methods.generation import UnsupportedError

        if isinstance(err, UnsupportedError):
            # Not a bug: this method/backbone cannot do this task kind. Stored as failed (the result schema's
            # statuses are ok | failed) with unsupported=true, so grids and reports can tell it apart.
            record.update({"error": f"unsupported: {err}", "unsupported": True})
            record["wall_time_s"] = time.perf_counter() - t0
            record["env"] = {"argv": sys.argv[:1]}
            return _finite(record)
        tail = traceback.format_exc().strip().splitlines()[-6:]
        record["error"] = f"{type(err).__name__}: {err}"
        record["traceback_tail"] = tail
    record["wall_time_s"] = time.perf_counter() - t0
    try:
        import torch

        record["env"] = environment(torch.device(record.get("device", "cpu").split("+")[0]))
    except Exception as err:  # pragma: no cover - environment facts are best effort
        record["env"] = {"error": str(err)}
    record["env"]["argv"] = sys.argv[:1]
    return _finite(record)


def _finite(obj: Any) -> Any:
    """NaN/inf -> None so every record is strict JSON."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return _finite(float(obj))
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj
