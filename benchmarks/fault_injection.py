"""Fault injection on COPIES: corrupt the result store (24 ways of issue 15 and 4 foreign-file kinds of issue 25),
the served calibration artifact, the SERVED pointer, profiles and CSVs, and print what every reader did.

Store readers: `bench.results.load`, `bench status`, `advisor.recommend` with an artifact fitted on the copy (the
calibration's own fit), the nested evaluation (one outer fold) and `bench report`. Per reader the outcome is one of:
  flagged  skipped, and the file named in a warning / the status listing
  skipped  left out silently (no warning naming it)
  USED     the bad record entered the result (a fit, a table, a count)
  CRASH    the reader raised
Artifact / pointer: `advisor.recommend` with the damaged file served — flagged = the rules-only answer with the
reason in its mode; USED = a calibrated answer from it. Profiles: `ProjectProfile.load`; CSVs: `bench add-task`'s
reader and the pilot's header reader — flagged = a typed error within 10 s that does not echo the file.
A kind is "flagged" when every reader flagged it. The target: every kind flagged, 0 crashes, 0 silently used.

Run: PYTHONPATH=. .venv/bin/python benchmarks/fault_injection.py [--store data/results] [--tasks 3]
     [--sections store,artifact,pointer,profiles,csvs] [--kinds a,b]
The store section runs on a sample (the first --tasks tasks of the first backbone, sizes 16 and 64, seed 0, every
method): the full store took hours under load (issue 25). The old header's 193 s / 451 s for the full store did
not reproduce and are withdrawn; the time of this run is printed at the end.

Measured here (2026-12-03, 2 cores shared with a nice'd `bench refresh`, commit of this header's parent): 78 kinds
tried — store 28 (on 36 ok runs: ag_news, banking77, clinc150), artifact 22, pointer 7, profiles 12, CSVs 9 — 78
flagged, 0 silently used, 0 crashes, 200 s (the store section 198 s).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
PROFILE = REPO / "data" / "examples" / "sentiment_laptop.yaml"


# ---------------------------------------------------------------------------------------------
# The 24 corruptions. Each takes (store root, victim file) and returns (bad file, added?):
# "added" files are new copies (the original stays valid); otherwise the victim itself is bad.
# ---------------------------------------------------------------------------------------------
def _edit(**changes: Any) -> Callable[[Path, Path], tuple[Path, bool]]:
    def corrupt(root: Path, victim: Path) -> tuple[Path, bool]:
        record = json.loads(victim.read_text(encoding="utf-8"))
        for key, value in changes.items():
            if value is _DROP:
                record.pop(key, None)
            else:
                record[key] = value
        victim.write_text(json.dumps(record, indent=1), encoding="utf-8")  # allow_nan: NaN is written as NaN
        return victim, False
    return corrupt


def _raw(data: bytes) -> Callable[[Path, Path], tuple[Path, bool]]:
    def corrupt(root: Path, victim: Path) -> tuple[Path, bool]:
        victim.write_bytes(data(victim) if callable(data) else data)
        return victim, False
    return corrupt


def _copy_other_path(root: Path, victim: Path) -> tuple[Path, bool]:
    # The same run under an unused seed: identical content, wrong place (would count twice).
    target = victim.with_name(victim.name.split("-s")[0] + "-s97.json")
    shutil.copy(victim, target)
    return target, True


def _duplicate_run_id(root: Path, victim: Path) -> tuple[Path, bool]:
    # A second file whose fields match its new place but which reuses the original run id.
    record = json.loads(victim.read_text(encoding="utf-8"))
    record["seed"] = 98
    target = victim.with_name(victim.name.split("-s")[0] + "-s98.json")
    target.write_text(json.dumps(record, indent=1), encoding="utf-8")
    return target, True


def _foreign(**changes: Any) -> Callable[[Path, Path], tuple[Path, bool]]:
    """A schema-valid copy of the victim under a backbone/task/seed we do not know, with accuracy 0.99 (issue 25)."""
    def corrupt(root: Path, victim: Path) -> tuple[Path, bool]:
        from bench.results import expected_run_id, result_path

        record = json.loads(victim.read_text(encoding="utf-8"))
        record.update(changes, accuracy=0.99)
        record["run_id"] = expected_run_id(record)
        target = result_path(root, record["backbone"], record["task"], record["method"], record["train_size"],
                             record["seed"])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(record, indent=1), encoding="utf-8")
        return target, True
    return corrupt


def _out_of_layout(root: Path, victim: Path) -> tuple[Path, bool]:
    target = victim.with_name("best-run.json")
    shutil.copy(victim, target)
    return target, True


def _truncate(victim: Path) -> bytes:
    return victim.read_bytes()[: len(victim.read_bytes()) // 2]


_DROP = object()
KINDS: dict[str, tuple[str, Callable[[Path, Path], tuple[Path, bool]]]] = {
    "train_size_string": ('train_size "16" (a string)', _edit(train_size="16")),
    "train_size_negative": ("train_size -16", _edit(train_size=-16)),
    "train_size_float": ("train_size 16.5", _edit(train_size=16.5)),
    "num_classes_string": ('num_classes "six"', _edit(num_classes="six")),
    "num_classes_one": ("num_classes 1 (below 2)", _edit(num_classes=1)),
    "backbone_params_string": ('backbone_params "22M"', _edit(backbone_params="22M")),
    "is_pair_yes": ('is_pair "yes"', _edit(is_pair="yes")),
    "zero_shot_7": ("zero_shot_accuracy 7.0", _edit(zero_shot_accuracy=7.0)),
    "accuracy_above_1": ("accuracy 1.5", _edit(accuracy=1.5)),
    "accuracy_nan": ("accuracy NaN", _edit(accuracy=float("nan"))),
    "train_time_negative": ("train_time_s -3", _edit(train_time_s=-3.0)),
    "peak_rss_string": ('peak_rss_mb "lots"', _edit(peak_rss_mb="lots")),
    "task_not_string": ("task 123", _edit(task=123)),
    "method_magic": ('method "magic"', _edit(method="magic")),
    "status_unknown": ('status "done"', _edit(status="done")),
    "created_at_naive": ("created_at without a UTC offset", _edit(created_at="2026-11-24T21:53:33")),
    "created_at_missing": ("created_at missing", _edit(created_at=_DROP)),
    "created_at_garbage": ('created_at "yesterday"', _edit(created_at="yesterday")),
    "copy_other_path": ("a copy of a run under another path", _copy_other_path),
    "duplicate_run_id": ("a second file reusing a run id", _duplicate_run_id),
    "truncated_json": ("JSON cut in half (torn write)", _raw(_truncate)),
    "empty_file": ("an empty file", _raw(b"")),
    "not_an_object": ("a JSON list instead of an object", _raw(b"[1, 2, 3]")),
    "huge_integer": ("trainable_params with 5,000 digits", _raw(lambda v: v.read_bytes().replace(
        b'"trainable_params": ', b'"trainable_params": ' + b"9" * 5000 + b"0 * ", 1).replace(b"0 * ", b"", 1))),
    "backbone_gpt9": ("a valid run of an unknown backbone gpt-9 (accuracy 0.99)", _foreign(backbone="gpt-9")),
    "task_unknown": ("a valid run of an unknown task (accuracy 0.99)", _foreign(task="quantum_poetry")),
    "seed_extra": ("a valid run of an unconfigured seed 7 (accuracy 0.99)", _foreign(seed=7)),
    "out_of_layout": ("a copy of a run outside the n<size>-s<seed>.json layout", _out_of_layout),
}


def _victim(root: Path) -> Path:
    """A successful LoRA run (it enters every fit and table)."""
    for path in sorted(root.glob("*/*/lora/n*-s*.json")):
        if json.loads(path.read_text(encoding="utf-8")).get("status") == "ok":
            return path
    raise SystemExit(f"no successful lora run under {root}")


# ---------------------------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------------------------
def _named(caught: list[warnings.WarningMessage], bad: Path) -> bool:
    return any(str(bad) in str(w.message) for w in caught)


def read_load(store: Path, bad: Path, added: bool, base: int) -> tuple[str, str]:
    from bench.results import load

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            df, invalid = load(store, return_invalid=True)
        except TypeError:  # a bench.results without the invalid count (before issue 15)
            df, invalid = load(store), None
    if str(bad) in set(df.path):
        return "USED", f"{len(df)} runs"
    flagged = _named(caught, bad) and invalid is not None and any(p == bad for p, _ in invalid)
    why = next((w for p, w in invalid or [] if p == bad), "")
    return ("flagged" if flagged else "skipped"), why[:90]


def read_status(store: Path, bad: Path, added: bool, base: int) -> tuple[str, str]:
    from typer.testing import CliRunner

    from bench.cli import app

    res = CliRunner().invoke(app, ["status", "--results-dir", str(store)])
    if res.exit_code != 0 or res.exception is not None:
        return "CRASH", f"exit {res.exit_code}: {type(res.exception).__name__}: {str(res.exception)[:60]}"
    counted = next((ln.strip() for ln in res.output.splitlines() if "invalid files" in ln), "")
    return ("flagged" if str(bad) in res.output else "skipped"), counted


def read_recommend(store: Path, bad: Path, added: bool, base: int) -> tuple[str, str]:
    """The calibrated path: fit the artifact from the copy (what `advisor calibrate` / `bench refresh` do), then
    answer with it."""
    import yaml

    from advisor.artifact import ServedCalibration
    from advisor.calibration import build_artifact
    from advisor.recommend import recommend
    from bench.results import load

    profile = yaml.safe_load(PROFILE.read_text(encoding="utf-8"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        art = build_artifact(load(store, include_failed=False), [], with_scaling=False)
        if art is None:
            return "skipped", "no calibration fitted"
        rec = recommend(profile, calibration=ServedCalibration(art))
    runs = {p for cell in art["evidence"] for m in cell["methods"].values() for p in m["runs"]}
    expect = base if added else base - 1
    if str(bad) in runs or art["n_runs"] > expect:
        return "USED", f"fit on {art['n_runs']} runs (expected at most {expect})"
    return ("flagged" if _named(caught, bad) else "skipped"), f"best {rec.best}, fit on {art['n_runs']} runs"


def read_evaluate(store: Path, bad: Path, added: bool, base: int) -> tuple[str, str]:
    """The nested evaluation, one outer fold (the whole procedure per family is the same code)."""
    from advisor.evaluate import leave_one_family_out
    from bench.results import load

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = load(store, include_failed=False)
            result = leave_one_family_out(df, families=[sorted(set(df.task))[0]])
    except Exception as err:
        return "CRASH", f"{type(err).__name__}: {str(err)[:60]}"
    return "flagged", f"regret {result.get('regret')}"


def read_report(store: Path, bad: Path, added: bool, base: int) -> tuple[str, str]:
    from bench.report import write_report

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            path = write_report(store)
    except Exception as err:
        return "CRASH", f"{type(err).__name__}: {str(err)[:60]}"
    first = next((ln for ln in path.read_text(encoding="utf-8").splitlines() if "successful runs" in ln), "")
    n = int(first.split()[0]) if first[:1].isdigit() else -1
    expect = base if added else base - 1
    return ("USED" if n > expect else "flagged"), first[:60]


READERS = {"load": read_load, "status": read_status, "recommend": read_recommend, "evaluate": read_evaluate,
           "report": read_report}


def _sample(store: Path, out: Path, n_tasks: int) -> Path:
    """A small store: the first `n_tasks` tasks of the first backbone, sizes 16 and 64, seed 0, every method."""
    backbone = sorted(p for p in store.iterdir() if p.is_dir())[0]
    for task in sorted(p for p in backbone.iterdir() if p.is_dir())[:n_tasks]:
        for f in task.glob("*/n*-s0.json"):
            if f.name.startswith(("n16-", "n64-")):
                target = out / f.relative_to(store)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(f, target)
    return out


def section_store(args: argparse.Namespace, work: Path) -> list[tuple[str, str, str]]:
    kinds = list(KINDS) if args.kinds == "all" else [k for k in args.kinds.split(",") if k in KINDS]
    readers = args.readers.split(",")
    sample = _sample(args.store, work / "sample", args.tasks)
    base = sum(1 for p in sample.glob("*/*/*/n*-s*.json")
               if json.loads(p.read_text(encoding="utf-8")).get("status") == "ok")
    print(f"store sample {sample} ({base} ok runs from {args.store})")
    out = []
    for kind in kinds:
        label, corrupt = KINDS[kind]
        store = work / kind / "results"  # a new folder per kind: no cached fit is reused
        shutil.copytree(sample, store)
        bad, added = corrupt(store, _victim(store))
        outcomes = {}
        for name in readers:
            try:
                outcomes[name] = READERS[name](store, bad, added, base)
            except Exception as err:
                tail = traceback.format_exc().strip().splitlines()[-2].strip()
                outcomes[name] = ("CRASH", f"{type(err).__name__}: {str(err)[:50]} [{tail[:60]}]")
        print(f"  {kind}: {label}  ({bad.relative_to(store)})")
        for name, (outcome, detail) in outcomes.items():
            print(f"      {name:<10} {outcome:<8} {detail}")
        out.append((kind, _verdict([o for o, _ in outcomes.values()]), ""))
        shutil.rmtree(work / kind, ignore_errors=True)
    return out


def _verdict(outcomes: list[str]) -> str:
    if "CRASH" in outcomes:
        return "CRASH"
    if "USED" in outcomes:
        return "USED"
    return "flagged" if all(o == "flagged" for o in outcomes) else "skipped"


def _served_answer(profile: dict) -> tuple[str, str]:
    from advisor.recommend import recommend

    rec = recommend(profile, with_counterfactuals=False)
    if rec.mode.startswith("rules-only (") and "answering rules-only" in rec.mode:
        return "flagged", rec.mode.split("cannot be used (", 1)[-1][:110]
    return "USED", rec.mode[:110]


def _artifact_kinds() -> dict[str, Callable[[dict], Any]]:
    """The fault review's 22 artifact corruptions (issue 25), applied to the parsed artifact or its bytes."""
    def put(path: str, value: Any) -> Callable[[dict], dict]:
        def edit(a: dict) -> dict:
            *head, last = path.split(".")
            node = a
            for k in head:
                node = node[k]
            node[last] = value(node[last]) if callable(value) else value
            return a
        return edit

    def drop(path: str) -> Callable[[dict], dict]:
        def edit(a: dict) -> dict:
            *head, last = path.split(".")
            node = a
            for k in head:
                node = node[k]
            del node[last]
            return a
        return edit

    def all_nan(a: dict) -> dict:
        for m in a["modes"].values():
            m["model"]["coef"] = [float("nan")] * len(m["model"]["coef"])
        return a

    return {
        "unknown feature": put("modes.profile.features", lambda f: ["bogus_feature"] + f[1:]),
        "modes {}": put("modes", {}),
        "top level []": lambda a: [],
        "decision removed": drop("modes.profile.decision"),
        "shift_quantile removed": drop("shift_quantile"),
        "evidence [{}]": put("evidence", [{}]),
        "backbones {}": put("backbones", {}),
        "coef wrong length": put("modes.profile.model.coef", lambda c: c[:-1]),
        "coef as strings": put("modes.profile.model.coef", lambda c: [str(x) for x in c]),
        "every coefficient NaN": all_nan,
        "garbage scaling": put("scaling", {"sources": "xyz", "gap_model": [1], "evidence_points": 7}),
        "complexity_shift a list": put("complexity_shift", [1, 2]),
        "sigma_diff Infinity": put("modes.profile.sigma_diff", float("inf")),
        "span 0": put("modes.profile.decision.span", 0),
        "version 1": put("version", 1),
        "measured_sizes [0]": put("measured_sizes", [0]),
        "option_residuals []": put("modes.profile.option_residuals", {"lora": []}),
        "depth 10,000": b"[" * 10_000 + b"]" * 10_000,
        "5,000-digit integer": lambda a: json.dumps(a).replace('"n_runs": ', '"n_runs": ' + "9" * 5000 + "0*", 1)
                                          .replace("0*" + str(a["n_runs"]), "", 1),
        "non-UTF-8": b"\xff\xfe{}",
        "truncated": lambda a: json.dumps(a)[: len(json.dumps(a)) // 2],
        "symlink to /dev/zero": "/dev/zero",
    }


def section_artifact(args: argparse.Namespace, work: Path) -> list[tuple[str, str, str]]:
    from advisor import artifact

    served = artifact.CAL_ROOT / (artifact.CAL_ROOT / "SERVED").read_text(encoding="utf-8").strip()
    good = json.loads((served / "calibration.json").read_text(encoding="utf-8"))
    profile = {"labeled_examples": 500, "num_classes": 4, "compute": "low"}
    out = []
    old = os.environ.get("TUNING_ADVISOR_CALIBRATION")
    try:
        for i, (kind, edit) in enumerate(_artifact_kinds().items()):
            folder = work / f"artifact{i}"
            folder.mkdir(parents=True)
            target = folder / "calibration.json"
            if isinstance(edit, str):
                os.symlink(edit, target)
            elif isinstance(edit, bytes):
                target.write_bytes(edit)
            else:
                value = edit(json.loads(json.dumps(good)))
                target.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
            os.environ["TUNING_ADVISOR_CALIBRATION"] = str(folder)
            out.append((kind, *_timed(lambda: _served_answer(profile))))
    finally:
        if old is None:
            os.environ.pop("TUNING_ADVISOR_CALIBRATION", None)
        else:
            os.environ["TUNING_ADVISOR_CALIBRATION"] = old
    return out


def section_pointer(args: argparse.Namespace, work: Path) -> list[tuple[str, str, str]]:
    from advisor import artifact

    profile = {"labeled_examples": 500, "num_classes": 4, "compute": "low"}
    served = artifact.CAL_ROOT / (artifact.CAL_ROOT / "SERVED").read_text(encoding="utf-8").strip()
    kinds: dict[str, Callable[[Path], None]] = {
        "non-UTF-8": lambda r: (r / "SERVED").write_bytes(b"\xff\xfe2026"),
        "symlink to /dev/zero": lambda r: os.symlink("/dev/zero", r / "SERVED"),
        "../../../cal/evil": lambda r: (r / "SERVED").write_text("../../../cal/evil"),
        "a directory": lambda r: (r / "SERVED").mkdir(),
        "a FIFO": lambda r: os.mkfifo(r / "SERVED"),
        "served folder symlinked outside": lambda r: (os.symlink(served, r / "evil"), (r / "SERVED").write_text("evil")),
        "names a missing folder": lambda r: (r / "SERVED").write_text("20990101T000000Z"),
    }
    out = []
    old_env, old_root = os.environ.pop("TUNING_ADVISOR_CALIBRATION", None), artifact.CAL_ROOT
    try:
        for i, (kind, make) in enumerate(kinds.items()):
            root = work / f"pointer{i}" / "calibration"
            root.mkdir(parents=True)
            make(root)
            artifact.CAL_ROOT = root
            out.append((kind, *_timed(lambda: _served_answer(profile))))
    finally:
        artifact.CAL_ROOT = old_root
        if old_env is not None:
            os.environ["TUNING_ADVISOR_CALIBRATION"] = old_env
    return out


def _timed(call: Callable[[], tuple[str, str]], limit_s: float = 10.0) -> tuple[str, str]:
    """(outcome, detail) of `call` in a daemon thread: a hang past `limit_s` is a crash (a FIFO hung forever)."""
    import threading

    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["r"] = call()
        except Exception as err:  # noqa: BLE001 - the outcome being measured
            box["r"] = ("CRASH", f"{type(err).__name__}: {str(err)[:80]}")

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(limit_s)
    return box.get("r", ("CRASH", f"hung for more than {limit_s:.0f} s"))


def section_profiles(args: argparse.Namespace, work: Path) -> list[tuple[str, str, str]]:
    from advisor.profile import ProfileError, ProjectProfile

    secret = "sk-live-1"
    kinds: dict[str, tuple[str, Callable[[Path], None]]] = {
        "FIFO": (".yaml", lambda p: os.mkfifo(p)),
        "symlink to /dev/zero": (".yaml", lambda p: os.symlink("/dev/zero", p)),
        "a directory": (".yaml", lambda p: p.mkdir()),
        "5,000-digit YAML integer": (".yaml", lambda p: p.write_text("labeled_examples: " + "9" * 5000)),
        "5,000-digit JSON integer": (".json", lambda p: p.write_text('{"labeled_examples": ' + "9" * 5000 + "}")),
        "duplicate YAML keys": (".yaml", lambda p: p.write_text("compute: low\ncompute: high\n")),
        "duplicate JSON keys": (".json", lambda p: p.write_text('{"compute": "low", "compute": "high"}')),
        "70,000 unknown keys": (".yaml", lambda p: p.write_text("".join(f"k{i}: 1\n" for i in range(70_000)))),
        "parse error after a secret (YAML)": (".yaml", lambda p: p.write_text(f"API_TOKEN: {secret}\n  : [\n")),
        "parse error after a secret (JSON)": (".json", lambda p: p.write_text(f'{{"API_TOKEN": "{secret}",')),
        "non-UTF-8": (".yaml", lambda p: p.write_bytes(b"compute: \xff\xfe")),
        "billion laughs": (".yaml", lambda p: p.write_text('a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
            f'{c}: &{c} [{",".join("*" + chr(ord(c) - 1) for _ in range(9))}]\n' for c in "bcdefghi"))),
    }
    out = []
    for i, (kind, (suffix, make)) in enumerate(kinds.items()):
        path = work / f"profile{i}{suffix}"
        make(path)

        def load(path: Path = path) -> tuple[str, str]:
            try:
                ProjectProfile.load(path)
            except ProfileError as err:
                text = str(err)
                return ("USED", "the error echoes the file's content") if secret in text else ("flagged", text[:110])
            return "USED", "loaded without an error"
        out.append((kind, *_timed(load)))
    return out


def section_csvs(args: argparse.Namespace, work: Path) -> list[tuple[str, str, str]]:
    from advisor.pilot import PilotError, columns
    from bench.tasks import TaskError, read_user_csv

    kinds: dict[str, Callable[[Path], None]] = {
        "10^6 columns": lambda p: p.write_text(",".join(f"c{i}" for i in range(1_000_000)) + "\n"
                                               + ",".join("x" * 1_000_000) + "\n"),
        "FIFO": lambda p: os.mkfifo(p),
        "symlink to /dev/zero": lambda p: os.symlink("/dev/zero", p),
        "a directory": lambda p: p.mkdir(),
        "UTF-16": lambda p: p.write_bytes("text,label\na,b\n".encode("utf-16")),
        "binary (NUL bytes)": lambda p: p.write_bytes(b"\0" * 1000),
        "non-UTF-8": lambda p: p.write_bytes(b"text,label\n\xff\xfe,x\n"),
        "empty": lambda p: p.write_bytes(b""),
        "header only": lambda p: p.write_text("text,label\n"),
    }
    out = []
    for i, (kind, make) in enumerate(kinds.items()):
        path = work / f"csv{i}.csv"
        make(path)

        def read(path: Path = path) -> tuple[str, str]:
            outcomes = []
            for reader, error in ((lambda: read_user_csv(path, "train"), TaskError), (lambda: columns(path), PilotError)):
                try:
                    reader()
                    outcomes.append(("USED", "read without an error"))
                except error as err:
                    outcomes.append(("flagged", str(err)[:110]))
            # The pilot reads a header-only file's columns legitimately; add-task refuses it (no examples).
            if kind == "header only":
                outcomes = outcomes[:1]
            return _verdict([o for o, _ in outcomes]), outcomes[0][1]
        out.append((kind, *_timed(read, 60.0)))
    return out


SECTIONS = {"store": section_store, "artifact": section_artifact, "pointer": section_pointer,
            "profiles": section_profiles, "csvs": section_csvs}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, default=REPO / "data" / "results")
    ap.add_argument("--tasks", type=int, default=3, help="tasks in the sampled store (default 3)")
    ap.add_argument("--sections", default=",".join(SECTIONS))
    ap.add_argument("--kinds", default="all", help="store kinds, comma-separated (default: all)")
    ap.add_argument("--readers", default=",".join(READERS))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fault-injection-"))
    t0 = time.perf_counter()
    summary = []
    try:
        for name in args.sections.split(","):
            t = time.perf_counter()
            print(f"\n== {name}")
            (work / name).mkdir(parents=True, exist_ok=True)
            rows = SECTIONS[name](args, work / name)
            if name != "store":
                for kind, outcome, detail in rows:
                    print(f"  [{outcome}] {kind}: {detail}")
            counts = {k: sum(o == k for _, o, _ in rows) for k in ("flagged", "USED", "skipped", "CRASH")}
            summary.append((name, len(rows), counts, time.perf_counter() - t))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\nsection    kinds tried  flagged  silently used  crashed  seconds")
    bad = 0
    for name, n, c, secs in summary:
        print(f"{name:<10} {n:>11} {c['flagged']:>8} {c['USED'] + c['skipped']:>14} {c['CRASH']:>8} {secs:>8.0f}")
        bad += n - c["flagged"]
    print(f"total {sum(n for _, n, _, _ in summary)} kinds, {bad} not flagged, "
          f"{sum(c['CRASH'] for _, _, c, _ in summary)} crashes ({time.perf_counter() - t0:.0f} s)")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
