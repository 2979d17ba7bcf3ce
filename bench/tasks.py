"""Tasks: one declarative YAML file each (`bench/tasks/<name>.yaml`), data read from a data dir.

Data dir: `--data-dir`, else env `TUNING_ADVISOR_DATA`, else `../shared/data` next to the
repository when it exists. Torch-free.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TASK_DIR = Path(__file__).resolve().parent / "tasks"
REPO = Path(__file__).resolve().parent.parent
METRICS = ("accuracy", "macro_f1")
KINDS = ("classification", "generation")
GENERATION_METRICS = ("exact_match",)


class TaskError(ValueError):
    """A task file is malformed or its data is missing; the message names the file and field."""


@dataclass(frozen=True)
class Label:
    value: str  # as written in the CSV
    word: str  # verbalizer for prompting / the causal LM's target word
    description: str  # a phrase describing the class (encoder zero-shot prompting)


@dataclass(frozen=True)
class TaskSpec:
    name: str
    version: int
    description: str
    dataset: str
    files: dict[str, str]
    text_fields: tuple[str, ...]
    label_field: str
    labels: tuple[Label, ...]
    instruction: str
    template: str
    metric: str = "accuracy"
    complexity: str = "moderate"
    license: str = "not stated"
    source_file: str = ""
    # Generation tasks (kind=generation): the model writes `target_field`; any `|`-separated form in
    # `accepted_field` counts as correct (bench.methods.generation.exact_match). No labels.
    kind: str = "classification"
    target_field: str = ""
    accepted_field: str = ""

    @property
    def generation(self) -> bool:
        return self.kind == "generation"

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def is_pair(self) -> bool:
        return len(self.text_fields) > 1

    def render(self, row: dict[str, Any]) -> str:
        """The prompt body for one example (the template filled with its text fields)."""
        return self.template.format(**{f: str(row[f]) for f in self.text_fields})


def parse_task(raw: Any, where: str) -> TaskSpec:
    if not isinstance(raw, dict):
        raise TaskError(f"{where}: a task file must be a mapping")
    kind = raw.get("kind", "classification")
    if kind not in KINDS:
        raise TaskError(f"{where}: kind={str(kind)[:40]!r} (allowed: {', '.join(KINDS)})")
    if kind == "generation":
        return _parse_generation(raw, where)
    need = ("name", "labels", "text_fields", "instruction", "template")
    missing = [k for k in need if k not in raw]
    if missing:
        raise TaskError(f"{where}: missing field(s) {missing}")
    if not re.fullmatch(r"[a-z0-9_][a-z0-9_\-]*", str(raw["name"])):
        raise TaskError(f"{where}: name={raw['name']!r} (allowed: lowercase letters, digits, _ and -)")
    labels = raw["labels"]
    if not isinstance(labels, list) or len(labels) < 2:
        raise TaskError(f"{where}: labels must be a list of at least 2 entries")
    parsed = []
    for i, lab in enumerate(labels):
        if isinstance(lab, str):
            lab = {"value": lab}
        if not isinstance(lab, dict) or "value" not in lab:
            raise TaskError(f"{where}: labels[{i}] needs a 'value'")
        value = str(lab["value"])
        parsed.append(Label(value, str(lab.get("word", value)), str(lab.get("description", value))))
    if len({lab.value for lab in parsed}) != len(parsed):
        raise TaskError(f"{where}: label values must be unique")
    fields = tuple(raw["text_fields"]) if isinstance(raw["text_fields"], list) else (str(raw["text_fields"]),)
    for f in fields:
        if "{" + f + "}" not in raw["template"]:
            raise TaskError(f"{where}: template must contain {{{f}}}")
    metric = raw.get("metric", "accuracy")
    if metric not in METRICS:
        raise TaskError(f"{where}: metric={metric!r} (allowed: {', '.join(METRICS)})")
    files = raw.get("files", {"train": "train.csv", "test": "test.csv"})
    if not isinstance(files, dict) or not {"train", "test"} <= set(files):
        raise TaskError(f"{where}: files needs 'train' and 'test'")
    return TaskSpec(name=str(raw["name"]), version=int(raw.get("version", 1)), description=str(raw.get("description", "")),
                    dataset=str(raw.get("dataset", raw["name"])), files=dict(files), text_fields=fields,
                    label_field=str(raw.get("label_field", "label")), labels=tuple(parsed),
                    instruction=str(raw["instruction"]), template=str(raw["template"]), metric=metric,
                    complexity=str(raw.get("complexity", "moderate")), license=str(raw.get("license", "not stated")),
                    source_file=where)


def _parse_generation(raw: dict, where: str) -> TaskSpec:
    need = ("name", "text_fields", "target_field", "instruction", "template")
    missing = [k for k in need if k not in raw]
    if missing:
        raise TaskError(f"{where}: missing field(s) {missing} (kind=generation)")
    if not re.fullmatch(r"[a-z0-9_][a-z0-9_\-]*", str(raw["name"])):
        raise TaskError(f"{where}: name={raw['name']!r} (allowed: lowercase letters, digits, _ and -)")
    fields = tuple(raw["text_fields"]) if isinstance(raw["text_fields"], list) else (str(raw["text_fields"]),)
    for f in fields:
        if "{" + f + "}" not in raw["template"]:
            raise TaskError(f"{where}: template must contain {{{f}}}")
    metric = raw.get("metric", "exact_match")
    if metric not in GENERATION_METRICS:
        raise TaskError(f"{where}: metric={str(metric)[:40]!r} (allowed for kind=generation: "
                        f"{', '.join(GENERATION_METRICS)})")
    files = raw.get("files", {"train": "train.csv", "test": "test.csv"})
    if not isinstance(files, dict) or not {"train", "test"} <= set(files):
        raise TaskError(f"{where}: files needs 'train' and 'test'")
    return TaskSpec(name=str(raw["name"]), version=int(raw.get("version", 1)), description=str(raw.get("description", "")),
                    dataset=str(raw.get("dataset", raw["name"])), files=dict(files), text_fields=fields,
                    label_field="", labels=(), instruction=str(raw["instruction"]), template=str(raw["template"]),
                    metric=metric, complexity=str(raw.get("complexity", "moderate")),
                    license=str(raw.get("license", "not stated")), source_file=where, kind="generation",
                    target_field=str(raw["target_field"]), accepted_field=str(raw.get("accepted_field", "")))


def task_names() -> list[str]:
    return sorted(p.stem for p in TASK_DIR.glob("*.yaml"))


def load_task(name_or_path: str | Path) -> TaskSpec:
    """A built-in task by name, or a task YAML file by path."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        path = p
    else:
        path = TASK_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise TaskError(f"unknown task {str(name_or_path)!r} (valid: {', '.join(task_names())}, or a path to a task .yaml)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise TaskError(f"cannot read task file {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise TaskError(f"task file {path} is not valid YAML: {err}") from None
    return parse_task(raw, str(path))


def resolve_data_dir(data_dir: str | Path | None = None) -> Path | None:
    """`data_dir`, else $TUNING_ADVISOR_DATA, else ../shared/data when it exists, else None."""
    if data_dir:
        return Path(data_dir)
    env = os.environ.get("TUNING_ADVISOR_DATA")
    if env:
        return Path(env)
    shared = REPO.parent / "shared" / "data"
    return shared if shared.exists() else None


def load_split(task: TaskSpec, split: str, data_dir: str | Path | None = None):
    """One split as a pandas DataFrame with the text fields and an integer `label_id` column."""
    import pandas as pd

    root = resolve_data_dir(data_dir)
    if root is None:
        raise TaskError(f"task {task.name}: no data dir (pass --data-dir, set TUNING_ADVISOR_DATA, or create ../shared/data)")
    if split not in task.files:
        raise TaskError(f"task {task.name}: no {split!r} split (has: {', '.join(task.files)})")
    path = Path(task.files[split])
    path = path if path.is_absolute() else root / task.dataset / path
    if not path.exists():
        raise TaskError(f"task {task.name}: data file {path} is missing")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    if task.generation:
        # No classes: `label_id` is the row number (so splits and indices work as for classification),
        # `target` the reference and `accepted` every correct form.
        need = [*task.text_fields, task.target_field] + ([task.accepted_field] if task.accepted_field else [])
        absent = [c for c in need if c not in df.columns]
        if absent:
            raise TaskError(f"task {task.name}: {path} lacks column(s) {absent} (has: {list(df.columns)})")
        out = df[list(task.text_fields)].copy()
        out["target"] = df[task.target_field]
        acc = df[task.accepted_field] if task.accepted_field else df[task.target_field]
        out["accepted"] = [[a for a in str(v).split("|") if a.strip()] or [t] for v, t in zip(acc, out["target"])]
        out["label_id"] = range(len(out))
        return out.reset_index(drop=True)
    need = [*task.text_fields, task.label_field]
    absent = [c for c in need if c not in df.columns]
    if absent:
        raise TaskError(f"task {task.name}: {path} lacks column(s) {absent} (has: {list(df.columns)})")
    index = {lab.value: i for i, lab in enumerate(task.labels)}
    unknown = sorted(set(df[task.label_field]) - set(index))
    if unknown:
        raise TaskError(f"task {task.name}: {path} has labels not declared in the task file: {unknown[:5]}")
    out = df[list(task.text_fields)].copy()
    out["label_id"] = df[task.label_field].map(index).astype(int)
    return out.reset_index(drop=True)


def add_task(csv_train: Path, csv_test: Path, name: str, text_fields: list[str], label_field: str,
             instruction: str, template: str | None = None, out_dir: Path | None = None) -> Path:
    """Write a task YAML for a user's own CSV files (labels read from the training CSV)."""
    import pandas as pd

    df = pd.read_csv(csv_train, dtype=str, keep_default_na=False)
    for col in [*text_fields, label_field]:
        if col not in df.columns:
            raise TaskError(f"{csv_train}: no column {col!r} (has: {list(df.columns)})")
    values = sorted(df[label_field].unique())
    template = template or "\n".join(f"{f.capitalize()}: {{{f}}}" for f in text_fields) + "\nLabel:"
    raw = {"name": name, "version": 1, "description": f"user task from {csv_train.name}", "dataset": name,
           "files": {"train": str(Path(csv_train).resolve()), "test": str(Path(csv_test).resolve())},
           "text_fields": list(text_fields), "label_field": label_field, "metric": "accuracy",
           "instruction": instruction, "template": template,
           "labels": [{"value": v, "word": v.replace("_", " "), "description": v.replace("_", " ")} for v in values]}
    parse_task(raw, name)  # validate before writing
    out = Path(out_dir or ".") / f"{name}.yaml"
    out.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    return out
