"""Issue 25, item 5: plausible but foreign result files (an unknown backbone `gpt-9`, an unknown task, an extra seed,
each with accuracy 0.99) and files outside the store layout are flagged with their reason — never used — and listed
by name in `bench status`, REPORT.md and the app's Evidence page, capped in length."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.results import flagged_lines, load, result_path, scan, write_result

from bench_helpers import valid_record

FOREIGN = {"gpt-9": dict(backbone="gpt-9"), "unknown task": dict(task="quantum_poetry"), "extra seed": dict(seed=7)}


@pytest.fixture()
def store(tmp_path):
    root = tmp_path / "results"
    for method in ("lora", "prompt_engineering"):
        for seed in (0, 1):
            write_result(result_path(root, "minilm", "sst2", method, 16, seed),
                         valid_record(backbone="minilm", task="sst2", method=method, seed=seed))
    return root


def _add_foreign(root: Path) -> dict[str, Path]:
    out = {}
    for name, change in FOREIGN.items():
        rec = valid_record(**{"backbone": "minilm", "task": "sst2", **change, "accuracy": 0.99})
        path = result_path(root, rec["backbone"], rec["task"], "lora", 16, rec["seed"])
        write_result(path, rec)
        out[name] = path
    stray = root / "minilm" / "sst2" / "lora" / "best-run.json"
    stray.write_text(json.dumps(valid_record(backbone="minilm", task="sst2", accuracy=0.99)))
    out["out of layout"] = stray
    (root / "notes.json").write_text("{}")
    out["out of layout (top)"] = root / "notes.json"
    return out


def test_foreign_and_stray_files_are_flagged_with_their_reason_and_never_used(store):
    bad = _add_foreign(store)
    valid, invalid = scan(store, warn=False)
    reasons = dict(invalid)
    assert len(valid) == 4 and set(reasons) == set(bad.values())
    assert "unknown backbone 'gpt-9'" in reasons[bad["gpt-9"]]
    assert "unknown task 'quantum_poetry'" in reasons[bad["unknown task"]]
    assert "seed 7 is not a configured seed" in reasons[bad["extra seed"]]
    assert "outside the layout" in reasons[bad["out of layout"]]
    df = load(store, include_failed=False)
    assert len(df) == 4 and df.accuracy.max() < 0.99 and set(df.backbone) == {"minilm"}


def test_a_user_task_with_its_task_file_is_known(store, tmp_path):
    task_file = tmp_path / "mine.yaml"
    task_file.write_text("name: mine\n")
    rec = valid_record(backbone="minilm", task="mine", config={"task_file": str(task_file)})
    write_result(result_path(store, "minilm", "mine", "lora", 16, 0), rec)
    assert scan(store, warn=False)[1] == []
    task_file.unlink()  # the task file is gone: no task defines it any more
    assert "unknown task 'mine'" in scan(store, warn=False)[1][0][1]


def test_status_and_report_list_flagged_files_capped(store):
    from bench.cli import app
    from bench.report import write_report

    bad = _add_foreign(store)
    out = CliRunner().invoke(app, ["status", "--results-dir", str(store)])
    assert out.exit_code == 0 and f"{len(bad)} invalid files" in out.output
    assert all(str(p) in out.output for p in bad.values())
    text = write_report(store).read_text()
    assert "## Flagged files (not used)" in text and "minilm/sst2/lora/best-run.json" in text
    assert "unknown backbone 'gpt-9'" in text and "0.990" not in text
    lines = flagged_lines([(Path(f"x{i}.json"), "r" * 500) for i in range(300)], limit=20, width=160)
    assert len(lines) == 21 and all(len(ln) <= 160 for ln in lines) and "280 more" in lines[-1]


def test_a_4mb_error_does_not_make_a_4mb_report(store):
    from bench.report import write_report

    rec = valid_record(backbone="minilm", task="sst2", seed=2, status="failed", error="x" * 4_000_000)
    write_result(result_path(store, "minilm", "sst2", "lora", 16, 2), rec)
    report = write_report(store)
    assert report.stat().st_size < 20_000 and "## Failed runs" in report.read_text()


def test_the_evidence_page_names_flagged_files(monkeypatch, store):
    from streamlit.testing.v1 import AppTest

    _add_foreign(store)
    monkeypatch.setenv("TUNING_ADVISOR_RESULTS", str(store))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=60).run()
    at.sidebar.radio(key="page").set_value("Evidence").run()
    assert not at.exception
    assert at.selectbox(key="ev_backbone").options == ["minilm"]  # gpt-9 is not offered
    shown = " ".join(m.value for m in at.markdown)
    assert "gpt-9" in shown and "best-run.json" in shown and "seed 7" in shown


def test_the_evidence_cache_sees_an_in_place_edit(store):
    import importlib.util

    spec = importlib.util.spec_from_file_location("app_module", Path(__file__).resolve().parent.parent / "app.py")
    # The stamp function alone: the app module runs the UI on import, so it is read from the source.
    src = spec.loader.get_source("app_module")
    start = src.index("def _store_stamp")
    scope: dict = {"Path": Path}
    exec(src[start:src.index("\n\n\n", start)], scope)  # noqa: S102 - the app's own function, read from its file
    before = scope["_store_stamp"](store)
    victim = result_path(store, "minilm", "sst2", "lora", 16, 0)
    st = victim.stat()
    rec = json.loads(victim.read_text())
    rec["accuracy"] = 0.51
    victim.write_text(json.dumps(rec))
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert scope["_store_stamp"](store) != before


def test_records_carry_repository_relative_paths():
    from bench.results import REPO, portable_path, resolve_recorded

    assert portable_path(REPO / "bench" / "tasks" / "sst2.yaml") == "bench/tasks/sst2.yaml"
    assert portable_path(REPO.parent / "shared" / "data") == "../shared/data"
    assert portable_path("/nonexistent-machine-root/data/data") == "<elsewhere>/data"
    assert portable_path("/nonexistent-machine-root/mine.yaml", inside_only=True) == "/nonexistent-machine-root/mine.yaml"
    assert resolve_recorded("bench/tasks/sst2.yaml").is_file()
