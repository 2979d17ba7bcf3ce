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
    # Optional fixed demonstrations (source, target) for a prompting variant, e.g. the seed example
    # "bread -> pain, butter -> beurre" (bench.methods.generation.prompting_variants).
    seed_demonstrations: tuple[tuple[str, str], ...] = ()

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


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "..."


STRING_FIELDS = ("name", "description", "dataset", "label_field", "instruction", "template", "metric", "complexity",
                 "license")
COMPLEXITIES = ("simple", "moderate", "complex")


def check_task_types(raw: dict[str, Any], where: str) -> None:
    """Type-check a task file's fields before use: a wrong type is a TaskError naming the field,
    never a traceback later in `bench run` (e.g. `version: abc`, a non-string template)."""
    version = raw.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise TaskError(f"{where}: version={_short(version)} (allowed: an integer >= 1)")
    for key in STRING_FIELDS:
        if key in raw and not isinstance(raw[key], str):
            raise TaskError(f"{where}: {key}={_short(raw[key])} (allowed: a string)")
    if raw.get("complexity", "moderate") not in COMPLEXITIES:
        raise TaskError(f"{where}: complexity={_short(raw['complexity'])} (allowed: {', '.join(COMPLEXITIES)})")
    fields = raw.get("text_fields")
    if fields is not None:
        items = fields if isinstance(fields, list) else [fields]
        if not items or not all(isinstance(f, str) and f for f in items):
            raise TaskError(f"{where}: text_fields={_short(fields)} (allowed: a non-empty list of column names)")
    for i, lab in enumerate(raw.get("labels") or []):
        entry = lab if isinstance(lab, dict) else {"value": lab}
        for key in ("value", "word", "description"):
            if key in entry and (isinstance(entry[key], bool) or not isinstance(entry[key], (str, int))):
                raise TaskError(f"{where}: labels[{i}].{key}={_short(entry[key])} (allowed: a string)")
    files = raw.get("files")
    if files is not None and (not isinstance(files, dict)
                              or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())):
        raise TaskError(f"{where}: files={_short(files)} (allowed: a mapping of split name to a CSV path)")
    # Relative data paths are resolved inside the data dir: `..` would leave it. An absolute
    # path is the user's explicit choice and is kept.
    for key, value in [("dataset", raw.get("dataset")), *((f"files.{k}", v) for k, v in (files or {}).items())]:
        if isinstance(value, str) and not Path(value).is_absolute() and ".." in Path(value).parts:
            raise TaskError(f"{where}: {key}={_short(value)} leaves the data dir (allowed: a relative path "
                            f"without '..', or an absolute path)")
    template, names = raw.get("template"), fields if isinstance(fields, list) else [fields]
    if isinstance(template, str) and all(isinstance(f, str) for f in names):
        try:
            template.format(**{f: "x" for f in names})
        except (KeyError, IndexError, ValueError) as err:
            raise TaskError(f"{where}: template={_short(template)} cannot be filled from text_fields {names} "
                            f"({type(err).__name__}: {str(err)[:40]}; write literal braces as {{{{ }}}})") from None


def parse_task(raw: Any, where: str) -> TaskSpec:
    if not isinstance(raw, dict):
        raise TaskError(f"{where}: a task file must be a mapping")
    kind = raw.get("kind", "classification")
    if kind not in KINDS:
        raise TaskError(f"{where}: kind={str(kind)[:40]!r} (allowed: {', '.join(KINDS)})")
    if kind == "generation":
        return _parse_generation(raw, where)
    check_task_types(raw, where)
    _require(raw, where, ("name", "labels", "text_fields", "instruction", "template"))
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
    fields, files = _fields_and_files(raw, where)
    metric = raw.get("metric", "accuracy")
    if metric not in METRICS:
        raise TaskError(f"{where}: metric={metric!r} (allowed: {', '.join(METRICS)})")
    return TaskSpec(name=str(raw["name"]), version=int(raw.get("version", 1)), description=str(raw.get("description", "")),
                    dataset=str(raw.get("dataset", raw["name"])), files=dict(files), text_fields=fields,
                    label_field=str(raw.get("label_field", "label")), labels=tuple(parsed),
                    instruction=str(raw["instruction"]), template=str(raw["template"]), metric=metric,
                    complexity=str(raw.get("complexity", "moderate")), license=str(raw.get("license", "not stated")),
                    source_file=where)


def _require(raw: dict, where: str, need: tuple[str, ...], note: str = "") -> None:
    """The required fields are present and the name is a valid task name, for either kind."""
    missing = [k for k in need if k not in raw]
    if missing:
        raise TaskError(f"{where}: missing field(s) {missing}{note}")
    if not re.fullmatch(r"[a-z0-9_][a-z0-9_\-]*", str(raw["name"])):
        raise TaskError(f"{where}: name={raw['name']!r} (allowed: lowercase letters, digits, _ and -)")


def _fields_and_files(raw: dict, where: str) -> tuple[tuple[str, ...], dict]:
    """The text fields (each must appear in the template) and the train/test file names, for either kind."""
    fields = tuple(raw["text_fields"]) if isinstance(raw["text_fields"], list) else (str(raw["text_fields"]),)
    for f in fields:
        if "{" + f + "}" not in raw["template"]:
            raise TaskError(f"{where}: template must contain {{{f}}}")
    files = raw.get("files", {"train": "train.csv", "test": "test.csv"})
    if not isinstance(files, dict) or not {"train", "test"} <= set(files):
        raise TaskError(f"{where}: files needs 'train' and 'test'")
    return fields, dict(files)


def _parse_generation(raw: dict, where: str) -> TaskSpec:
    _require(raw, where, ("name", "text_fields", "target_field", "instruction", "template"), " (kind=generation)")
    fields, files = _fields_and_files(raw, where)
    metric = raw.get("metric", "exact_match")
    demos = raw.get("seed_demonstrations") or []
    if not isinstance(demos, list) or len(demos) > 16 or not all(
            isinstance(d, list) and len(d) == 2 and all(isinstance(x, str) and 0 < len(x) <= 200 for x in d)
            for d in demos):
        raise TaskError(f"{where}: seed_demonstrations={_short(demos)} (allowed: up to 16 [source, target] pairs "
                        f"of non-empty strings)")
    if metric not in GENERATION_METRICS:
        raise TaskError(f"{where}: metric={str(metric)[:40]!r} (allowed for kind=generation: "
                        f"{', '.join(GENERATION_METRICS)})")
    return TaskSpec(name=str(raw["name"]), version=int(raw.get("version", 1)), description=str(raw.get("description", "")),
                    dataset=str(raw.get("dataset", raw["name"])), files=dict(files), text_fields=fields,
                    label_field="", labels=(), instruction=str(raw["instruction"]), template=str(raw["template"]),
                    metric=metric, complexity=str(raw.get("complexity", "moderate")),
                    license=str(raw.get("license", "not stated")), source_file=where, kind="generation",
                    target_field=str(raw["target_field"]), accepted_field=str(raw.get("accepted_field", "")),
                    seed_demonstrations=tuple((a, b) for a, b in demos))


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
    return parse_task(_read_task_yaml(path), str(path))


MAX_TASK_BYTES = 1_000_000


def _read_task_yaml(path: Path) -> Any:
    """A task file read with the profile's bounds: size cap, UTF-8, YAML aliases and nesting limited."""
    from advisor.profile import read_yaml_file

    try:
        return read_yaml_file(path, MAX_TASK_BYTES, "task file")
    except ValueError as err:
        raise TaskError(str(err)) from None


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
    import io

    import pandas as pd

    root = resolve_data_dir(data_dir)
    if root is None:
        raise TaskError(f"task {task.name}: no data dir (pass --data-dir, set TUNING_ADVISOR_DATA, or create ../shared/data)")
    if split not in task.files:
        raise TaskError(f"task {task.name}: no {split!r} split (has: {', '.join(task.files)})")
    path = data_path(task, split, root)
    if not path.exists():
        raise TaskError(f"task {task.name}: data file {path} is missing")
    try:
        # A task YAML may name any file: the same bounds as a user's CSV before pandas reads it.
        text = read_user_text(path, MAX_CSV_BYTES)
        check_columns(text)
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise TaskError(f"task {task.name}: data file {path}: {str(err).strip()[:160]}") from None
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


def data_path(task: TaskSpec, split: str, root: Path) -> Path:
    """Where a split's CSV is: an absolute path as given, else under <data dir>/<dataset>/,
    and then it must stay inside the data dir (`dataset: ../../..` is refused)."""
    path = Path(task.files[split])
    if path.is_absolute():
        return path
    if Path(task.dataset).is_absolute():
        return Path(task.dataset) / path
    full = root / task.dataset / path
    if not full.resolve().is_relative_to(Path(root).resolve()):
        raise TaskError(f"task {task.name}: dataset={_short(task.dataset)} / {_short(str(path))} resolves to "
                        f"{_short(str(full.resolve()))}, outside the data dir {root} (use an absolute path to "
                        f"read elsewhere)")
    return full


MAX_CSV_BYTES = 200_000_000
# Columns in a header: the widest task here has 3 (two text fields and a label); 1,000 is room for a spreadsheet
# export. A 10^6-column CSV (11.9 MB) ran `bench add-task` for 10 minutes to 5 GB in pandas; the header is counted
# first, with the csv module, before pandas sees the file.
MAX_COLUMNS = 1_000


def check_columns(text: str) -> int:
    """The header's column count, refused (ValueError) over MAX_COLUMNS before any parse of the rows."""
    import csv
    import io

    first = text.split("\n", 1)[0]
    if first.count(",") + 1 > MAX_COLUMNS:  # cheap pre-check on the raw first line, before csv parses it
        raise ValueError(f"{first.count(',') + 1:,} columns in the header (allowed: at most {MAX_COLUMNS:,})")
    try:
        header = next(csv.reader(io.StringIO(text)), [])
    except csv.Error as err:
        raise ValueError(f"not a valid CSV ({str(err)[:80]})") from None
    if len(header) > MAX_COLUMNS:
        raise ValueError(f"{len(header):,} columns in the header (allowed: at most {MAX_COLUMNS:,})")
    return len(header)
NA_LABELS = {"", "nan", "null"}  # what an empty spreadsheet cell becomes on export


def read_user_text(source: str | Path | bytes, max_bytes: int) -> str:
    """A user's CSV as text, bounded and checked before any parsing: a regular file (or uploaded bytes) of at most
    `max_bytes`, not empty, UTF-8 (a BOM is fine; not UTF-16, not binary). A ValueError says the problem and what
    is allowed; `bench add-task` and the pilot (advisor.pilot) wrap it in their own typed error."""
    if isinstance(source, (bytes, bytearray)):
        raw = bytes(source)
    else:
        from advisor.files import FileRefused, read_bounded

        path = Path(source)
        if not path.exists():
            raise ValueError("no such file (allowed: a CSV file)")
        try:
            # Regular files only, opened non-blocking (a FIFO cannot hang the open), size checked on the descriptor.
            raw = read_bounded(path, max_bytes, "CSV")
        except FileRefused as err:
            if err.kind == "not_regular":  # a directory, /dev/zero, a FIFO: never read
                raise ValueError("not a regular file (allowed: a CSV file)") from None
            if err.kind == "too_big":
                raise ValueError(f"{err.size:,} bytes (allowed: at most {max_bytes:,} bytes)") from None
            raise ValueError(f"{err} (allowed: a readable CSV file)") from None
    if len(raw) > max_bytes:
        raise ValueError(f"{len(raw):,} bytes (allowed: at most {max_bytes:,} bytes)")
    if not raw.strip():
        raise ValueError("the file is empty (allowed: a UTF-8 CSV with a header row and examples)")
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ValueError("UTF-16 text (allowed: UTF-8; re-save the CSV as UTF-8)")
    if b"\0" in raw[:65536]:
        raise ValueError("binary data (NUL bytes), not a CSV (allowed: UTF-8 text)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"not UTF-8 (undecodable byte at offset {err.start}; allowed: UTF-8 text — re-save the "
                         f"CSV as UTF-8)") from None


def read_user_csv(path: Path, role: str):
    """A user's CSV for `bench add-task`, read with bounds and typed errors (never a traceback):
    read_user_text's checks, then parseable with at least one example."""
    import io

    import pandas as pd

    try:
        text = read_user_text(path, MAX_CSV_BYTES)
        check_columns(text)
    except ValueError as err:
        raise TaskError(f"--{role} {path}: {err}") from None
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise TaskError(f"--{role} {path}: not a valid CSV ({str(err).strip()[:100]})") from None
    if df.empty:
        raise TaskError(f"--{role} {path}: a header but no examples (allowed: at least one row)")
    return df


def check_user_csvs(train, test, csv_train: Path, csv_test: Path, text_fields: list[str], label_field: str) -> list[str]:
    """Columns present in both, labels non-empty, >= 2 classes, test labels seen in train; the sorted classes."""
    for df, path in ((train, csv_train), (test, csv_test)):
        for col in [*text_fields, label_field]:
            if col not in df.columns:
                raise TaskError(f"{path}: no column {col!r} (has: {[str(c)[:40] for c in df.columns][:20]})")
        labels = df[label_field].astype(str)
        blank = labels[labels.str.strip().str.lower().isin(NA_LABELS)]
        if len(blank):
            raise TaskError(f"{path}: {len(blank)} row(s) with an empty or NaN label in column {label_field!r} "
                            f"(first at data row {int(blank.index[0]) + 1}); every example needs a label")
    values = sorted(train[label_field].unique())
    if len(values) < 2:
        raise TaskError(f"{csv_train}: column {label_field!r} has {len(values)} class(es) "
                        f"({[v[:40] for v in values]}); a classification task needs at least 2")
    unseen = sorted(set(test[label_field]) - set(values))
    if unseen:
        raise TaskError(f"{csv_test}: labels absent from the training CSV: {[v[:40] for v in unseen[:5]]}")
    return values


def add_task(csv_train: Path, csv_test: Path, name: str, text_fields: list[str], label_field: str,
             instruction: str, template: str | None = None, out_dir: Path | None = None) -> Path:
    """Write a task YAML for a user's own CSV files (labels read from the training CSV)."""
    out_folder = Path(out_dir or ".")
    if not out_folder.is_dir():
        raise TaskError(f"--out-dir {out_folder}: no such folder (create it first)")
    train, test = read_user_csv(csv_train, "train"), read_user_csv(csv_test, "test")
    values = check_user_csvs(train, test, Path(csv_train), Path(csv_test), text_fields, label_field)
    template = template or "\n".join(f"{f.capitalize()}: {{{f}}}" for f in text_fields) + "\nLabel:"
    raw = {"name": name, "version": 1, "description": f"user task from {csv_train.name}", "dataset": name,
           "files": {"train": str(Path(csv_train).resolve()), "test": str(Path(csv_test).resolve())},
           "text_fields": list(text_fields), "label_field": label_field, "metric": "accuracy",
           "instruction": instruction, "template": template,
           "labels": [{"value": v, "word": v.replace("_", " "), "description": v.replace("_", " ")} for v in values]}
    parse_task(raw, name)  # validate before writing
    out = out_folder / f"{name}.yaml"
    out.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    return out
