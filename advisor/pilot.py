"""The pilot on your own data: validate a CSV, measure zero-shot and linear-probe accuracy on it (and, with
`quick`, one short LoRA run), so the advisor's expected accuracies rest on your data.

Torch-free: the measuring runs in a subprocess (`python -m bench.cli probe` / `bench.cli run`), so neither the
advisor nor the app ever imports torch (tests/test_layers.py). Only the layer-0 modules `bench.tasks`,
`bench.results` and `bench.protocol` are imported here.

What is measured, honestly: the probe runs the MiniLM encoder (all-MiniLM-L6-v2, 22M parameters) — the
backbone and procedure with which the calibration's zero-shot and linear-probe anchors were measured
(`advisor/calibration.py`: `zs_accuracy` = the backbone's prompt_engineering zero-shot accuracy, `probe_score` =
its linear probe at the same n) — not your model. The numbers describe how hard *your data* is for that
reference encoder, which is what the calibration's probe mode takes as input.

Your file is read, never modified; its rows are copied into a `tempfile.TemporaryDirectory` that is deleted
when the run ends (success, error or timeout).
"""

from __future__ import annotations

import csv
import io
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import yaml

# The row limit and the split (test = 20% of the rows, at most 500; the probe's training subset at most 4,096) live
# with the pilot's cost estimates in advisor.costs, which the plan reads too.
from advisor.costs import (MAX_ROWS, PILOT_MIN_TRAIN, PROBE_TRAIN_CAP, TEST_CAP, instruction_tokens_for,
                           pilot_min_rows as min_rows, pilot_split)
from advisor.profile import INT_RANGES

# ---------------------------------------------------------------- limits (stated in every error message)
MAX_BYTES = 20_000_000  # 20 MB: ~80k rows at ag_news's ~240 bytes per row; a bigger upload is refused unread
MIN_PER_CLASS = 3  # one example each for the test set, the validation split and the training subset
MIN_TRAIN = PILOT_MIN_TRAIN  # the smallest training size the calibration measured (advisor.costs)
SPLIT_SEED = 0
BACKBONES = ("minilm",)  # the backbone the calibration's anchors were measured with (see the module docstring)
PROBE_TIMEOUT_S = 900
QUICK_TIMEOUT_S = 900

# The quick LoRA pilot: one MiniLM LoRA run on min(n, 256) of your training rows — 256 is a training size the
# calibration measured, so the advisor's prediction for that same setting is "measured here", not extrapolated —
# capped at QUICK_STEPS optimizer steps instead of the protocol's 100-320. Why 60, measured on this 2-core machine
# with a background grid on both cores (ag_news, 2,000 rows): the run took 158 s wall with 1 thread (63 steps incl.
# the two-lr race, 129 s of it training and its validation checks at ~22 ms per example), the probe before it
# 58 s, so the whole pilot stays under the 5-minute budget. An earlier try with 2 threads on the busy cores (and
# n = 1,344) was still running after 5 minutes (oversubscribed), hence `default_threads`.
QUICK_STEPS = 60
QUICK_TRAIN_CAP = 256
QUICK_TEST_CAP = TEST_CAP

Progress = Callable[[str], None]


def default_threads() -> int:
    """Torch threads for the measuring subprocess: the cores not already busy (1-minute load average), at least 1.
    Threads beyond the free cores spin-wait for each other (README, Threads): see QUICK_STEPS for what it cost."""
    cores = os.cpu_count() or 1
    try:
        busy = round(os.getloadavg()[0])
    except OSError:  # pragma: no cover - no load average on this platform
        busy = 0
    return max(1, min(cores, cores - busy))


class PilotError(ValueError):
    """Bad pilot input or a failed measurement. `field` is the input at fault: `data`, `text`, `label` or
    `backbone` (the message names it and what is allowed); the message never carries a traceback."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class PilotData:
    """A validated CSV: the usable (text, label) rows and what was dropped."""

    texts: tuple[str, ...]
    labels: tuple[str, ...]
    columns: tuple[str, ...]
    classes: tuple[str, ...]
    dropped_empty: int  # rows without text or label, left out

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def counts(self) -> dict[str, int]:
        return dict(Counter(self.labels))


@dataclass
class PilotResult:
    """What the pilot measured. Accuracies are on `n_test` held-out rows of your file."""

    zero_shot_accuracy: float
    probe_accuracy: float
    n_rows: int  # usable rows of the file (the profile's labeled_examples)
    n_train: int  # the probe's training subset
    n_val: int  # the validation split (the probe's C, the LoRA lr and early stopping)
    n_test: int
    num_classes: int
    backbone: str
    seconds: float
    dropped_empty: int = 0
    lora_accuracy: Optional[float] = None
    lora: dict[str, Any] = field(default_factory=dict)  # settings and timing of the quick run
    notes: list[str] = field(default_factory=list)
    # `--model`: prompting measured with the user's own model (the prompt the validation split chose, on the test
    # rows), the model's size counted from its files, and where it came from.
    model: Optional[str] = None
    model_params: Optional[float] = None
    model_catalog: Optional[str] = None
    prompt_accuracy: Optional[float] = None
    prompt_zero_shot_accuracy: Optional[float] = None
    prompt_few_shot_accuracy: Optional[float] = None
    prompt_variant: Optional[str] = None
    prompt_shots: int = 0
    prompt_n: int = 0
    stages: list[dict[str, Any]] = field(default_factory=list)  # key, name, estimate_s, basis, seconds
    memory: dict[str, Any] = field(default_factory=dict)  # need_gb, limit_gb, limit_source (with --model)

    def measured_on(self) -> str:
        """The sentence the answer's basis carries (recommend(measured_on=...))."""
        text = (f"your own data: {self.n_rows:,} labeled rows, {self.num_classes} classes; zero-shot "
                f"{self.zero_shot_accuracy:.3f} and linear probe {self.probe_accuracy:.3f} (trained on "
                f"{self.n_train:,}) on {self.n_test:,} held-out rows, measured with the {self.backbone} encoder — "
                f"the calibration's reference backbone")
        if self.prompt_accuracy is not None:
            text += (f"; prompting with your model {self.model} measured at {self.prompt_accuracy:.3f} on "
                     f"{self.prompt_n:,} held-out rows")
        return text

    def profile_values(self) -> dict[str, Any]:
        out = {"zero_shot_accuracy": round(self.zero_shot_accuracy, 4), "probe_accuracy": round(self.probe_accuracy, 4),
               "labeled_examples": self.n_rows, "num_classes": self.num_classes}
        if self.prompt_accuracy is not None:
            out.update(prompt_accuracy=round(self.prompt_accuracy, 4), prompt_accuracy_n=self.prompt_n)
            # The model the pilot ran is the user's model: its size (counted from its files) or its catalog entry.
            if self.model_catalog:
                from advisor.models import get_model

                out.update(model=self.model_catalog, model_params_b=get_model(self.model_catalog).params_b)
            elif self.model_params:
                out.update(model=None, model_params_b=round(self.model_params / 1e9, 6))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "measured_on": self.measured_on()}


# ---------------------------------------------------------------- validation

def _show(values: Any, limit: int = 20) -> str:
    items = [str(v)[:40] for v in list(values)[:limit]]
    more = f", ... (+{len(values) - limit} more)" if len(values) > limit else ""
    return ", ".join(repr(v) for v in items) + more


def read_text(source: str | Path | bytes) -> str:
    """The file or upload as UTF-8 text, at most MAX_BYTES (bench.tasks.read_user_text's checks, as PilotErrors)."""
    from bench.tasks import read_user_text

    try:
        return read_user_text(source, MAX_BYTES)
    except ValueError as err:
        where = "" if isinstance(source, (bytes, bytearray)) else f"{str(source)[:200]}: "
        raise PilotError("data", f"{where}{err}") from None


def columns(source: str | Path | bytes) -> list[str]:
    """The header's column names (for the app's column pickers); PilotError for an unreadable file."""
    return _header(read_text(source))


def _header(text: str) -> list[str]:
    from bench.tasks import check_columns

    try:
        check_columns(text)  # the column cap before any row is parsed (a 10^6-column header)
    except ValueError as err:
        raise PilotError("data", str(err)) from None
    try:
        header = next(csv.reader(io.StringIO(text)), [])
    except csv.Error as err:
        raise PilotError("data", f"not a valid CSV ({err}; allowed: comma-separated values with a header)") from None
    names = [h.strip() for h in header]
    if not any(names):
        raise PilotError("data", "no header row (allowed: a first row naming the columns, e.g. text,label)")
    return names


def validate_csv(source: str | Path | bytes, text: str, label: str) -> PilotData:
    """Read and check a user CSV for the pilot. Every problem is a PilotError naming the field and what is allowed.

    Checks, in order: readable, at most MAX_BYTES; UTF-8 (no NUL bytes); a header; the `text` and `label` columns
    exist; at most MAX_ROWS rows; rows without text or label are dropped (counted); at least 2 classes; every class
    has at least MIN_PER_CLASS examples; the class count is inside the profile's range; enough rows for the split.
    """
    body = read_text(source)
    names = _header(body)
    for role, col in (("text", text), ("label", label)):
        if not col or col not in names:
            sep = next((c for c in (";", "\t", "|") if len(names) == 1 and c in names[0]), None)
            hint = f"; the header looks separated by {sep!r} — re-save the file with commas" if sep else ""
            raise PilotError(role, f"no column {str(col)[:40]!r} in the file (allowed: {_show(names)}{hint})")
    if text == label:
        raise PilotError("label", f"{label!r} is also the text column (allowed: another column: "
                                  f"{_show([n for n in names if n != text])})")
    ti, li = names.index(text), names.index(label)
    texts, labels, empty = [], [], 0
    try:
        reader = csv.reader(io.StringIO(body))
        next(reader)  # the header
        for i, row in enumerate(reader):
            if i >= MAX_ROWS:
                raise PilotError("data", f"more than {MAX_ROWS:,} rows (allowed: at most {MAX_ROWS:,}; take a "
                                         f"stratified sample)")
            if not any(cell.strip() for cell in row):
                continue  # a blank line
            t = row[ti].strip() if ti < len(row) else ""
            y = row[li].strip() if li < len(row) else ""
            if not t or not y:
                empty += 1
                continue
            texts.append(t)
            labels.append(y)
    except csv.Error as err:
        raise PilotError("data", f"not a valid CSV ({str(err)[:100]}; allowed: comma-separated values, fields "
                                 f"quoted with \" when they contain commas or newlines)") from None
    if not texts:
        raise PilotError("data", f"no usable rows ({empty} without text or label; allowed: rows with a non-empty "
                                 f"{text!r} and {label!r})")
    classes = tuple(sorted(set(labels)))
    if len(classes) < 2:
        raise PilotError("label", f"column {label!r} has {len(classes)} class ({_show(classes)}) (allowed: at least "
                                  f"2 classes)")
    lo, hi = INT_RANGES["num_classes"]
    if not lo <= len(classes) <= hi:  # pragma: no cover - MAX_ROWS / MIN_PER_CLASS bound it far below
        raise PilotError("label", f"{len(classes):,} classes (allowed: {lo}..{hi})")
    counts = Counter(labels)  # one pass: 50,000 rows may hold thousands of classes
    small = {c: n for c, n in sorted(counts.items()) if n < MIN_PER_CLASS}
    if small:
        shown = ", ".join(f"{c[:40]!r}: {n}" for c, n in list(small.items())[:10])
        raise PilotError("label", f"{len(small)} class(es) with fewer than {MIN_PER_CLASS} examples ({shown}) "
                                  f"(allowed: at least {MIN_PER_CLASS} per class — one each for test, validation "
                                  f"and training; merge or drop rare classes)")
    # The probe's training subset must be able to hold every class (bench.protocol allocates >= 1 per class).
    floor = max(MIN_TRAIN, len(classes))
    if floor > PROBE_TRAIN_CAP:
        raise PilotError("label", f"{len(classes):,} classes (allowed: at most {PROBE_TRAIN_CAP:,} for the pilot, "
                                  f"whose probe trains on at most {PROBE_TRAIN_CAP:,} rows)")
    n_train, _, _ = split_sizes(len(texts), len(classes))
    if n_train < floor:
        need = min_rows(len(classes))
        raise PilotError("data", f"{len(texts)} usable rows are too few for a test set, a validation split and a "
                                 f"training subset of at least {floor} (allowed: at least {need} rows for "
                                 f"{len(classes)} classes)")
    return PilotData(tuple(texts), tuple(labels), tuple(names), classes, empty)


# ---------------------------------------------------------------- the split

split_sizes = pilot_split  # the rule lives in advisor.costs: the plan prices the same pilot it describes



def stratified_split(labels: tuple[str, ...], n_test: int, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """(pool, test) row indices: per class a seeded permutation, the test share allocated by largest remainder
    with at least one per class (bench.protocol's allocation), the rest to the pool."""
    from bench.protocol import _allocate

    y = np.asarray(labels)
    rng = np.random.default_rng(seed)
    classes = sorted(set(labels))
    perms = [rng.permutation(np.flatnonzero(y == c)) for c in classes]
    counts = np.array([len(p) for p in perms])
    # At most count - 2 of a class go to test, so the pool keeps one for validation and one for training.
    take = np.minimum(_allocate(counts, n_test), counts - 2)
    test = np.concatenate([p[:t] for p, t in zip(perms, take)])
    pool = np.concatenate([p[t:] for p, t in zip(perms, take)])
    return np.sort(pool), np.sort(test)


def write_task(data: PilotData, folder: Path) -> tuple[Path, int, int]:
    """Copy the rows into `folder` (train.csv = the pool, test.csv) and write the task YAML bench loads.
    Returns (task file, pool size, test size)."""
    from bench.tasks import parse_task

    _, _, n_test = split_sizes(len(data.texts), data.num_classes)
    pool, test = stratified_split(data.labels, n_test)
    for name, idx in (("train.csv", pool), ("test.csv", test)):
        with open(folder / name, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["text", "label"])
            w.writerows((data.texts[i], data.labels[i]) for i in idx)
    raw = {"name": "pilot", "version": 1, "description": "your uploaded data (pilot)", "dataset": "pilot",
           "files": {"train": str((folder / "train.csv").resolve()), "test": str((folder / "test.csv").resolve())},
           "text_fields": ["text"], "label_field": "label", "metric": "accuracy", "complexity": "moderate",
           "instruction": "Classify the text.", "template": "Text: {text}\nLabel:",
           # The encoder's zero-shot compares each text with the embedded label descriptions: the label names.
           "labels": [{"value": c, "word": c.replace("_", " "), "description": c.replace("_", " ")}
                      for c in data.classes],
           "license": "user data, not stored"}
    path = folder / "pilot.yaml"
    parse_task(raw, str(path))  # the same checks `bench` applies, before anything runs
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path, len(pool), len(test)


# ---------------------------------------------------------------- running bench in a subprocess

def _stream(cmd: list[str], progress: Progress, timeout_s: float, what: str, heartbeat_s: float = 10.0) -> list[str]:
    """Run `cmd`, passing each output line (stdout and stderr, tqdm's \\r updates included) to `progress`,
    with a heartbeat every `heartbeat_s` of silence; kill it after `timeout_s`. Returns the lines."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    repo = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = repo + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                            errors="replace", cwd=repo, env=env)  # text mode: "\r" ends a line too
    lines: "queue.Queue[str | None]" = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    out: list[str] = []
    t0 = last = time.monotonic()
    try:
        while True:
            try:
                line = lines.get(timeout=1.0)
            except queue.Empty:
                line = ""
            now = time.monotonic()
            if line is None:
                break
            if line:
                line = _ANSI.sub("", line)  # tqdm's cursor moves
            if line.strip():
                out.append(line)
                progress(line)
                last = now
            elif now - last >= heartbeat_s:
                progress(f"... {what}: {now - t0:.0f} s")
                last = now
            if now - t0 > timeout_s:
                proc.kill()
                proc.wait()
                raise PilotError("data", f"{what} did not finish within {timeout_s:.0f} s (allowed: what the pilot "
                                         f"can measure in that time: fewer rows, a smaller model, or a GPU with "
                                         f"--device cuda)")
        rc = proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if rc != 0:
        why = _last_error(out) or f"exit code {rc}" + (f"; last output: {out[-1][:200]}" if out else "")
        raise PilotError("data", f"{what} failed: {why}")
    return out


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_ERROR_LINE = re.compile(r"^(error:|\w*(Error|Exception)\b:)")


def _last_error(lines: list[str]) -> str:
    """The last `error: ...` or `SomeError: ...` line and its wrapped continuation, at most 300 characters
    (the subprocess's traceback itself is never shown)."""
    for i in range(len(lines) - 1, -1, -1):
        if _ERROR_LINE.match(lines[i].strip()):
            tail = [ln.strip() for ln in lines[i:i + 4] if not ln.strip().startswith(("trials:", "["))]
            return " ".join(tail)[:300]
    return ""


def _value(lines: list[str], key: str) -> float:
    """A `key: number` line of bench probe's output (profile lines, or the "# key: ..." details it prints as
    comments)."""
    text = _text(lines, key)
    if text is None:
        raise PilotError("data", f"bench probe printed no {key} line")
    return float(text)


@dataclass
class Stage:
    """One step of the pilot as the user sees it: its name, the estimate before it starts, the time it took."""

    key: str  # reference | prompting | lora (advisor.costs.pilot_estimates)
    name: str
    estimate_s: Optional[float] = None
    basis: str = ""
    seconds: Optional[float] = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


StageEvent = Callable[[int, int, Stage], None]  # (index from 1, number of stages, the stage; seconds set when done)


def available_memory_gb() -> tuple[float | None, str]:
    """Memory this machine can give a new process now (MemAvailable, Linux), and how that was read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 / 1e9, "available on this machine now (/proc/meminfo)"
    except OSError:  # pragma: no cover - not Linux
        pass
    return None, ""


def check_memory(model: Any, quick: bool, tokens: float, stated_gb: float | None) -> dict[str, Any]:
    """Refuse, before anything is loaded, a model the pilot cannot hold: its fp32 weights, a few-shot prompt's KV
    cache and the runtime (and with --quick a LoRA training step), priced by advisor.costs. The limit is the memory
    you stated (gpu_memory_gb), else what this machine has free."""
    from advisor.costs import pilot_memory

    need = pilot_memory(model.params, model.hidden_size, model.layers, model.vocab_size, quick, tokens)
    limit, where = (stated_gb, "you stated (gpu_memory_gb)") if stated_gb is not None else available_memory_gb()
    if limit is not None and need.total_gb > limit:
        what = (f"prompting {need.prompting_gb:,.1f} GB (fp32 weights {model.params * 4 / 1e9:,.1f} GB, the runtime "
                f"and a few-shot prompt's KV cache)" + (f", the quick LoRA run {need.lora_gb:,.1f} GB" if quick else ""))
        raise PilotError("model", f"{model.label} ({model.params_b:.3g}B parameters) needs about {need.total_gb:,.1f} "
                                  f"GB to run the pilot — {what} — more than the {limit:,.1f} GB {where} (allowed: a "
                                  f"model that fits; a smaller model of the same family, or a machine with more "
                                  f"memory{'; or leave out --quick' if quick and need.prompting_gb <= limit else ''})")
    return {"need_gb": round(need.total_gb, 2), "limit_gb": None if limit is None else round(limit, 2),
            "limit_source": where}


def _tokens(data: PilotData) -> float:
    """Typical input length in tokens: ~4 characters per token (English BPE), the median row."""
    lengths = sorted(len(t) for t in data.texts)
    return max(1.0, lengths[len(lengths) // 2] / 4.0)


def run_pilot(source: str | Path | bytes, text: str, label: str, quick: bool = False,
              progress: Progress | None = None, backbone: str = "minilm", threads: int | None = None,
              data: PilotData | None = None, model: str | None = None, device: str = "auto",
              memory_gb: float | None = None, on_stage: StageEvent | None = None) -> PilotResult:
    """Validate, split, measure. `progress` receives every output line of the subprocesses (and heartbeats);
    `on_stage` each stage as it starts (with its estimate) and ends (with its time).

    `model`: your own model (`advisor.models.resolve_local_model`: a local Hugging Face folder, smollm2-135m,
    minilm, or a catalog model in the Hugging Face cache). Its prompting (zero-shot and with demonstrations, the
    one the validation split picks) is measured on the same held-out rows, and `quick` trains LoRA on it instead
    of on MiniLM. The MiniLM reference probe runs either way: the calibration's anchors were measured with it.
    The file (or uploaded bytes) is only read; the rows go to a TemporaryDirectory removed on exit.
    """
    from advisor.costs import pilot_estimates

    if backbone not in BACKBONES:
        raise PilotError("backbone", f"{backbone!r} (allowed: {', '.join(BACKBONES)} — the encoder the "
                                     f"calibration's zero-shot and probe anchors were measured with)")
    if device not in ("auto", "cpu", "cuda"):
        raise PilotError("device", f"{device!r} (allowed: auto, cpu, cuda)")
    say = progress or (lambda line: None)
    data = data or validate_csv(source, text, label)
    lm = None
    if model is not None:
        from advisor.models import LocalModelError, resolve_local_model

        try:
            lm = resolve_local_model(model)
        except LocalModelError as err:
            raise PilotError("model", str(err).removeprefix("model: ")) from None
    tokens = _tokens(data)
    memory = check_memory(lm, quick, tokens, memory_gb) if lm is not None else {}
    # The quick run trains the user's model when there is one; the calibration's backbone otherwise.
    trained = lm.bench_name if lm is not None else backbone
    bench_data = _bench_data_dir() if quick else None  # fail before the probe, not after it
    n_train, n_val, n_test = split_sizes(len(data.texts), data.num_classes)
    ref = {e.key: e for e in pilot_estimates(lm.params if lm else 22_713_728, lm.kind if lm else "encoder",
                                               n_train, n_val, n_test, tokens, quick, QUICK_STEPS,
                                               instruction=instruction_tokens_for(data.num_classes))}
    stages = [Stage("reference", "reference probe (MiniLM zero-shot and linear probe)")]
    own_prompt = lm is not None and lm.bench_name != backbone
    if own_prompt:
        stages.append(Stage("prompting", f"prompting with {lm.label} (zero-shot and with demonstrations)"))
    if quick:
        stages.append(Stage("lora", f"quick LoRA run with {lm.label if lm else backbone} (at most {QUICK_STEPS} steps)"))
    for st in stages:
        e = ref.get(st.key)
        if e is not None:
            st.estimate_s, st.basis = round(e.seconds + STARTUP_S, 1), e.basis + f", plus ~{STARTUP_S:.0f} s to start"
    report = on_stage or (lambda i, total, st: None)

    def stage(i: int, run: Callable[[], Any]) -> Any:
        st = stages[i]
        report(i + 1, len(stages), st)
        t = time.perf_counter()
        out = run()
        st.seconds = round(time.perf_counter() - t, 1)
        report(i + 1, len(stages), st)
        return out

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tuning-advisor-pilot-") as tmp:
        folder = Path(tmp)
        task, _, n_test = write_task(data, folder)
        say(f"# {len(data.texts):,} rows, {data.num_classes} classes: test {n_test} rows (20%, at most {TEST_CAP}); "
            f"probe trains on {n_train:,} with {n_val} for validation; reference backbone {backbone}"
            + (f"; your model {lm.label} ({lm.params_b:.3g}B parameters, {lm.kind})" if lm else ""))
        base = [sys.executable, "-m", "bench.cli"]
        common = ["--task-file", str(task), "--data-dir", str(folder), "--results-dir", str(folder / "results"),
                  "--device", device]
        threads = threads or default_threads()
        extra = ["--threads", str(threads)]
        lines = stage(0, lambda: _stream(base + ["probe", *common, "--size", str(n_train), "--model", backbone,
                                                 "--seed", "0", *extra], say, PROBE_TIMEOUT_S, "bench probe"))
        result = PilotResult(zero_shot_accuracy=_value(lines, "zero_shot_accuracy"),
                             probe_accuracy=_value(lines, "probe_accuracy"), n_rows=len(data.texts), n_train=n_train,
                             n_val=n_val, n_test=n_test, num_classes=data.num_classes, backbone=backbone, seconds=0.0,
                             dropped_empty=data.dropped_empty, notes=_notes(data))
        if lm is not None:
            result.model, result.model_params, result.model_catalog = lm.label, lm.params, lm.catalog_name
            mine = lines
            if own_prompt:
                mine = stage(1, lambda: _stream(base + ["probe", *common, "--size", str(n_train), "--model",
                                                        lm.bench_name, "--methods", "prompt_engineering", "--seed",
                                                        "0", *extra], say, _timeout(stages[1], PROMPT_TIMEOUT_S),
                                                f"prompting with {lm.label}"))
            result.prompt_accuracy = _value(mine, "prompt_accuracy")
            result.prompt_zero_shot_accuracy = _value(mine, "zero_shot_accuracy")
            result.prompt_few_shot_accuracy = _optional(mine, "few_shot_accuracy")
            result.prompt_variant = _text(mine, "prompt_variant")
            result.prompt_shots = int(_value(mine, "prompt_shots"))
            result.prompt_n = int(_value(mine, "test_rows")) or n_test
            if lm.kind == "encoder":
                result.notes.append(f"{lm.label} is an encoder: its 'prompting' compares each text with the label "
                                    "names' embeddings (zero-shot) or with class centroids (few-shot); it cannot "
                                    "follow an instruction.")
        if quick:
            result.lora_accuracy, result.lora = stage(len(stages) - 1, lambda: _quick_lora(
                base, task, n_train, trained, threads, folder, bench_data, say, device,
                _timeout(stages[-1], QUICK_TIMEOUT_S)))
        result.seconds = round(time.perf_counter() - t0, 1)
        result.stages = [st.to_dict() for st in stages]
        result.memory = memory
        if memory:
            result.notes.append(f"Memory: about {memory['need_gb']:,.1f} GB needed"
                                + (f", {memory['limit_gb']:,.1f} GB {memory['limit_source']}" if memory["limit_gb"]
                                   else "") + ".")
    return result


# Starting a measuring subprocess: Python, torch and transformers imports and the model load, measured here at
# 9-12 s for MiniLM on this 2-core machine (the MiniLM pilot: 16.5 s in all, of which ~5 s measuring).
STARTUP_S = 10.0
PROMPT_TIMEOUT_S = 3600  # a 1B model on a CPU: ~10x SmolLM2's ~1 min for a 400-row file


def _timeout(stage: "Stage", floor: float) -> float:
    """A stage's time limit: the floor, or three times its announced estimate when that is longer (a 7B model's
    prompting on a CPU is announced in hours; killing it at a fixed limit would waste them)."""
    return max(floor, 3.0 * (stage.estimate_s or 0.0))


def _optional(lines: list[str], key: str) -> float | None:
    try:
        return _value(lines, key)
    except PilotError:
        return None


def _text(lines: list[str], key: str) -> str | None:
    for line in lines:
        if line.startswith((key + ":", "# " + key + ":")):
            return line.split(":", 1)[1].strip()
    return None


def _bench_data_dir() -> Path:
    """The benchmark data dir, needed by the quick LoRA run: a LoRA result records forgetting (the change of a
    linear probe on trec's features, bench/trial.py) and the store refuses a trained run without it. The pilot's
    task file points at the temporary CSVs by absolute path, so the data dir serves that probe only."""
    from bench.tasks import resolve_data_dir

    root = resolve_data_dir()
    if root is None or not (root / "trec").is_dir():
        raise PilotError("data", "the quick LoRA run needs the benchmark data dir with trec for its forgetting "
                                 "measurement (allowed: set TUNING_ADVISOR_DATA or create ../shared/data; or run "
                                 "without --quick)")
    return root


def _quick_lora(base: list[str], task: Path, n_train: int, backbone: str, threads: int, folder: Path,
                bench_data: Path, say: Progress, device: str = "cpu",
                timeout_s: float = QUICK_TIMEOUT_S) -> tuple[float, dict[str, Any]]:
    from bench.results import read_result

    n = min(n_train, QUICK_TRAIN_CAP)
    say(f"# quick pilot: one LoRA run with {backbone}, {n:,} training examples, at most {QUICK_STEPS} steps (the "
        f"protocol's budget is 100-320), {threads} thread(s)")
    t0 = time.perf_counter()
    _stream(base + ["run", "--task-file", str(task), "--data-dir", str(bench_data), "--results-dir",
                    str(folder / "results"), "--models", backbone, "--methods", "lora", "--sizes", str(n), "--seeds", "0",
                    "--max-steps", str(QUICK_STEPS), "--test-cap", str(QUICK_TEST_CAP), "--device", device,
                    "--threads", str(threads)],
            say, timeout_s, "LoRA pilot run")
    from bench.results import safe_name

    files = sorted((folder / "results").glob(f"{safe_name(backbone)}/pilot/lora/*.json"))
    record = read_result(files[0]) if files else None
    if record is None or record.get("status") != "ok" or record.get("accuracy") is None:
        why = (record or {}).get("error") or "no result file"
        raise PilotError("data", f"the LoRA pilot run failed: {str(why)[:300]}")
    settings = {"method": "lora", "backbone": backbone, "train_size": n, "max_steps": QUICK_STEPS, "threads": threads,
                "steps": record.get("steps"), "lr": record.get("lr"), "train_time_s": record.get("train_time_s"),
                "seconds": round(time.perf_counter() - t0, 1),
                "converged": record.get("converged")}
    return float(record["accuracy"]), settings


def _notes(data: PilotData) -> list[str]:
    notes = []
    if data.dropped_empty:
        notes.append(f"{data.dropped_empty} row(s) without text or label were left out.")
    if all(c.lstrip("-").isdigit() for c in data.classes):
        notes.append("Your labels are numbers: the encoder's zero-shot compares texts with the label names, so it "
                     "cannot know what they mean — expect a near-chance zero-shot accuracy (the probe is unaffected).")
    counts = data.counts()
    if max(counts.values()) >= 4 * min(counts.values()):
        notes.append(f"Imbalanced classes (largest {max(counts.values())}, smallest {min(counts.values())}): accuracy "
                     f"favours the large classes; the benchmark scores such tasks by macro-F1.")
    chance = 1 / data.num_classes
    notes.append(f"Chance level: {chance:.3f} ({data.num_classes} classes; majority class "
                 f"{max(counts.values()) / len(data.labels):.3f}).")
    return notes


__all__ = ["MAX_BYTES", "MAX_ROWS", "PilotData", "PilotError", "PilotResult", "columns", "run_pilot", "split_sizes",
           "validate_csv"]
