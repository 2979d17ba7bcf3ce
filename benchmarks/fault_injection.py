"""Corrupt a COPY of the result store in each of the 24 ways of issue 15 (item 1) and print what
every reader did with the bad file.

Readers: `bench.results.load`, `bench status`, `advisor.recommend` with an artifact fitted on the copy (the
calibration's own fit), the nested evaluation (one outer fold) and `bench report`.
Per reader the outcome is one of:
  flagged  skipped, and the file named in a warning / the status listing
  skipped  left out silently (no warning naming it)
  USED     the bad record entered the result (a fit, a table, a count)
  CRASH    the reader raised
A kind is "flagged" when every reader flagged it (or, for evaluate/report, ran without using it).
The target is 24/24 flagged and 0 crashes. The store itself is never touched.

Run: PYTHONPATH=. .venv/bin/python benchmarks/fault_injection.py [--store data/results] [--kinds a,b]
(about 10 s per kind here: one calibration fit, one evaluation and one report each).

Measured here on the 381-run data/results (2 busy CPU cores, 2026-11-27): with the code before
issue 15 (commit 1f25218; PYTHONPATH pointed at a checkout of it) 0/24 kinds flagged and 14 reader
crashes (recommend 5, evaluate 7, report 2; load used 16 bad files and dropped 8 silently; the
calibrated recommend fitted on 10 of them); with this schema 24/24 flagged and 0 crashes (193 s; 451 s with the
calibrated reader fitting the artifact from each corrupted copy, readers load, status and recommend).
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, default=REPO / "data" / "results")
    ap.add_argument("--kinds", default="all", help="comma-separated kind names (default: all 24)")
    ap.add_argument("--readers", default=",".join(READERS))
    args = ap.parse_args()
    kinds = list(KINDS) if args.kinds == "all" else args.kinds.split(",")
    readers = args.readers.split(",")
    base = sum(1 for p in args.store.glob("*/*/*/n*-s*.json")
               if json.loads(p.read_text(encoding="utf-8")).get("status") == "ok")
    work = Path(tempfile.mkdtemp(prefix="fault-injection-"))
    totals = {"flagged": 0, "crashes": 0}
    t0 = time.perf_counter()
    print(f"store {args.store} ({base} ok runs), copies under {work}")
    try:
        for kind in kinds:
            label, corrupt = KINDS[kind]
            store = work / kind / "results"  # a new folder per kind: no cached fit is reused
            shutil.copytree(args.store, store, ignore=shutil.ignore_patterns("*.png", "*.md"))
            bad, added = corrupt(store, _victim(store))
            outcomes = {}
            for name in readers:
                try:
                    outcomes[name] = READERS[name](store, bad, added, base)
                except Exception as err:
                    tail = traceback.format_exc().strip().splitlines()[-2].strip()
                    outcomes[name] = ("CRASH", f"{type(err).__name__}: {str(err)[:50]} [{tail[:60]}]")
            crashes = sum(o == "CRASH" for o, _ in outcomes.values())
            flagged = all(o == "flagged" for o, _ in outcomes.values())
            totals["crashes"] += crashes
            totals["flagged"] += flagged
            print(f"\n[{'FLAGGED' if flagged else 'NOT FLAGGED'}] {kind}: {label}  ({bad.relative_to(store)})")
            for name, (outcome, detail) in outcomes.items():
                print(f"    {name:<10} {outcome:<8} {detail}")
            shutil.rmtree(work / kind, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{totals['flagged']}/{len(kinds)} kinds flagged by every reader, {totals['crashes']} reader crashes "
          f"({time.perf_counter() - t0:.0f} s)")
    return 0 if totals["flagged"] == len(kinds) and totals["crashes"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
