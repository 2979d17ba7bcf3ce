"""Protocol splits, the atomic result store, tasks and the runner's idempotence and kill/resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bench.protocol import Protocol, split_cell, capped_test_indices
from bench.results import ResultExists, iter_results, load, read_result, result_path, validate, write_result
from bench.tasks import TaskError, load_task, parse_task, resolve_data_dir, task_names

from bench_helpers import valid_record, write_toy_task

REPO = Path(__file__).resolve().parent.parent


_record = valid_record


def test_splits_are_stratified_disjoint_nested_and_deterministic():
    labels = np.array([0] * 300 + [1] * 100 + [2] * 50)
    tr16, va16 = split_cell(labels, 16, 32, seed=0)
    tr64, va64 = split_cell(labels, 64, 32, seed=0)
    assert set(tr16) <= set(tr64)  # learning curves compare nested subsets
    assert not set(tr64) & set(va64) and not set(tr16) & set(va16)
    assert list(va16) == list(va64) or set(va16) == set(va64)
    counts = np.bincount(labels[tr64], minlength=3)
    assert counts.tolist() == [43, 14, 7]  # proportional to 300:100:50
    again, _ = split_cell(labels, 64, 32, seed=0)
    assert list(again) == list(tr64)
    other, _ = split_cell(labels, 64, 32, seed=1)
    assert set(other) != set(tr64)
    with pytest.raises(ValueError, match="exceeds the pool"):
        split_cell(labels, 440, 32, seed=0)


def test_every_class_gets_an_example_when_the_size_allows():
    labels = np.repeat(np.arange(10), [100] + [3] * 9)
    tr, _ = split_cell(labels, 12, 10, seed=0)
    assert len(tr) == 12 and set(labels[tr]) == set(range(10))


def test_test_subset_is_capped_and_the_same_for_every_seed():
    labels = np.arange(5000) % 4
    a, b = capped_test_indices(labels, 1000), capped_test_indices(labels, 1000)
    assert len(a) == 1000 and list(a) == list(b)
    assert len(capped_test_indices(labels[:50], 1000)) == 50


def test_step_budget_has_a_floor_and_a_cap():
    p = Protocol()
    assert p.steps_for(16) == p.min_steps
    assert p.steps_for(10_000) == p.max_steps
    assert p.min_steps <= p.steps_for(300) <= p.max_steps


def test_result_store_is_atomic_and_immutable(tmp_path):
    # A registered task: read_result refuses records naming a task no task file defines (issue 25).
    path = result_path(tmp_path, "hf:/x/y", "sst2", "lora", 16, 0)
    assert "hf_x_y" in str(path)
    write_result(path, _record(backbone="hf:/x/y", task="sst2"))
    with pytest.raises(ResultExists):
        write_result(path, _record(backbone="hf:/x/y", task="sst2", accuracy=0.9))
    assert read_result(path)["accuracy"] == 0.5  # untouched
    write_result(path, _record(backbone="hf:/x/y", task="sst2", accuracy=0.9), force=True)
    assert read_result(path)["accuracy"] == 0.9
    assert not list(path.parent.glob(".*.tmp"))
    with pytest.raises(ValueError, match="outside 0..1"):
        write_result(tmp_path / "bad.json", _record(accuracy=3.0))


def test_corrupt_files_are_reported_not_loaded(tmp_path):
    good = result_path(tmp_path, "tiny-bert", "sst2", "lora", 16, 0)
    write_result(good, _record())
    bad = result_path(tmp_path, "tiny-bert", "sst2", "lora", 16, 1)
    bad.write_text('{"schema_version": 1, "status": "ok"')  # torn write
    found = dict(iter_results(tmp_path))
    assert found[good] is not None and found[bad] is None
    df = load(tmp_path)
    assert len(df) == 1 and df.iloc[0]["accuracy"] == 0.5


def test_one_results_view_scores_each_run_by_its_recorded_metric(tmp_path):
    from bench.results import cells_view, runs_view

    def put(method, seed, acc, f1, **kw):
        rec = _record(task="trec", method=method, seed=seed, accuracy=acc, macro_f1=f1, **kw)
        write_result(result_path(tmp_path, "tiny-bert", "trec", method, 16, seed), rec)

    config = {"task_metric": "macro_f1", "task_complexity": "complex"}
    put("lora", 0, 0.9, 0.6, config=config)
    put("lora", 1, 0.8, 0.4, config=config)
    put("prompt_engineering", 0, 0.7, 0.5, config=config, zero_shot_accuracy=0.55)
    put("full_finetuning", 0, 0.8, 0.7, config=config, status="failed", error="diverged")
    runs = runs_view(load(tmp_path))
    assert set(runs.method) == {"lora", "prompt_engineering"}  # the failed run is not in the view
    assert sorted(runs[runs.method == "lora"].score) == [0.4, 0.6]  # macro-F1, as the run recorded
    assert set(runs.complexity) == {"complex"} and set(runs.family) == {"trec"}
    assert set(runs.zs_accuracy) == {0.55}  # the cell's zero-shot anchor, on every run of the (backbone, task)
    cells = cells_view(runs)
    lora = cells[cells.method == "lora"].iloc[0]
    assert lora.score == pytest.approx(0.5) and lora.seeds == 2 and len(lora.paths) == 2
    assert lora.score_sd == pytest.approx(0.1414, abs=1e-3)
    # sst5 holds sst2's sentences: one family wherever runs are grouped or left out.
    from bench.results import family
    assert family("sst5") == family("sst2") == "sst2"


def test_validate_names_the_problem():
    assert "missing key 'accuracy'" in validate({k: v for k, v in _record().items() if k != "accuracy"})
    assert any("status" in p for p in validate(_record(status="maybe")))
    assert validate(_record(status="failed", error=None)) == ["failed run without an error message"]


def test_builtin_tasks_parse_and_name_their_license():
    assert {"sst2", "ag_news", "trec", "banking77", "sms_spam", "financial_phrasebank", "rte", "subj", "sst5", "clinc150",
            "tweet_offensive", "scicite", "mrpc", "tos_unfair"} <= set(task_names())
    for name in task_names():
        t = load_task(name)
        assert t.license and t.instruction and (t.num_classes >= 2 or t.kind == "generation")
    assert load_task("rte").is_pair and load_task("mrpc").is_pair
    assert load_task("clinc150").num_classes == 150 and load_task("tos_unfair").metric == "macro_f1"


def test_task_errors_are_clear(tmp_path):
    with pytest.raises(TaskError, match="unknown task 'nope'.*valid: ag_news"):
        load_task("nope")
    with pytest.raises(TaskError, match="template must contain"):
        parse_task({"name": "x", "labels": ["a", "b"], "text_fields": ["text"], "instruction": "i",
                    "template": "no field"}, "x.yaml")
    spec = load_task(write_toy_task(tmp_path))
    Path(spec.files["train"]).unlink()
    from bench.tasks import load_split
    with pytest.raises(TaskError, match="is missing"):
        load_split(spec, "train")


def test_data_dir_resolution(monkeypatch, tmp_path):
    assert resolve_data_dir(tmp_path) == tmp_path
    monkeypatch.setenv("TUNING_ADVISOR_DATA", str(tmp_path / "env"))
    assert resolve_data_dir() == tmp_path / "env"


def _bench(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "bench.cli", *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kw)


def test_grid_is_idempotent_and_survives_kill_9(tmp_path):
    task_file = write_toy_task(tmp_path / "toy")
    results = tmp_path / "results"
    args = ["run", "--models", "tiny-bert", "--task-file", str(task_file), "--methods", "linear_probe,lora",
            "--sizes", "16,32", "--seeds", "0,1,2", "--results-dir", str(results), "--device", "cpu",
            "--test-cap", "32", "--max-steps", "10", "--threads", "1"]
    proc = _bench(*args, start_new_session=True)
    deadline = time.time() + 180
    while time.time() < deadline and len(list(results.glob("**/n*-s*.json"))) < 3:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # kill -9 mid-grid
    proc.wait()
    first = {p: p.read_bytes() for p in results.glob("**/n*-s*.json")}
    assert len(first) >= 3
    assert all(read_result(p) is not None for p in first), "a killed run left a corrupt result"
    out = _bench(*args).communicate(timeout=600)[0]
    assert f"skipped {len(first)} (already done)" in out, out
    assert "failed 0" in out
    files = list(results.glob("**/n*-s*.json"))
    assert len(files) == 12 and all(read_result(p) is not None for p in files)
    assert all(p.read_bytes() == b for p, b in first.items()), "finished results must not be rewritten"
    again = _bench(*args).communicate(timeout=300)[0]
    assert "ran 0, skipped 12" in again


def test_cli_rejects_bad_names_with_exit_2():
    from typer.testing import CliRunner

    from bench.cli import app

    for args, text in ((["run", "--methods", "magic"], "valid: prompt_engineering"),
                       (["run", "--models", "gpt5"], "valid: minilm"),
                       (["run", "--tasks", "nope"], "valid: ag_news"),
                       (["run", "--sizes", "abc"], "comma-separated integers"),
                       (["run", "--executor", "mpi"], "serial, process")):
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        assert text in res.output and "Traceback" not in res.output, res.output


def test_add_task_and_status_commands(tmp_path):
    from typer.testing import CliRunner

    from bench.cli import app

    toy = write_toy_task(tmp_path / "toy")
    folder = toy.parent
    res = CliRunner().invoke(app, ["add-task", "mine", "--train", str(folder / "train.csv"), "--test",
                                   str(folder / "test.csv"), "--instruction", "Is it positive?", "--out-dir",
                                   str(tmp_path)])
    assert res.exit_code == 0, res.output
    spec = load_task(tmp_path / "mine.yaml")
    assert spec.name == "mine" and [lab.value for lab in spec.labels] == ["negative", "positive"]
    bad = CliRunner().invoke(app, ["add-task", "mine", "--train", str(folder / "train.csv"), "--test",
                                   str(folder / "test.csv"), "--text", "body", "--out-dir", str(tmp_path)])
    assert bad.exit_code == 2 and "no column 'body'" in bad.output
    write_result(result_path(tmp_path / "res", "tiny-bert", "mine", "lora", 16, 0), _record(task="mine"))
    out = CliRunner().invoke(app, ["status", "--results-dir", str(tmp_path / "res")])
    assert out.exit_code == 0 and "mine" in out.output and "lora" in out.output


def test_dask_local_cluster_matches_the_serial_run(tmp_path):
    from bench.runner import expand, run_grid
    from bench_helpers import TINY_PROTOCOL

    toy = load_task(write_toy_task(tmp_path / "toy"))
    jobs = expand(["tiny-bert"], [toy], ["linear_probe", "lora"], [16], [0, 1])
    serial = run_grid(jobs, tmp_path / "serial", TINY_PROTOCOL, device="cpu", progress=False, threads=1)
    dask = run_grid(jobs, tmp_path / "dask", TINY_PROTOCOL, device="cpu", executor="dask", workers=2,
                    progress=False, threads=1)
    assert serial["failed"] == dask["failed"] == 0 and dask["ran"] == 4
    for job in jobs:
        a, b = read_result(job.path(tmp_path / "serial")), read_result(job.path(tmp_path / "dask"))
        for key in ("accuracy", "macro_f1", "train_accuracy", "lr", "steps", "trainable_params"):
            assert a[key] == b[key], (job.label, key)


def test_probe_measures_the_two_cheap_numbers_the_advisor_takes(tmp_path):
    import yaml
    from typer.testing import CliRunner

    from advisor import ProjectProfile, recommend
    from bench.cli import app

    toy = write_toy_task(tmp_path / "toy")
    res = CliRunner().invoke(app, ["probe", "--task-file", str(toy), "--size", "32", "--model", "tiny-bert",
                                   "--results-dir", str(tmp_path / "res")])
    assert res.exit_code == 0, res.output
    measured = yaml.safe_load(res.output)
    assert set(measured) == {"zero_shot_accuracy", "probe_accuracy"}
    assert all(0.0 <= v <= 1.0 for v in measured.values())
    # The printed lines are valid profile fields.
    profile = ProjectProfile.from_dict({"labeled_examples": 32, **measured})
    assert recommend(profile, calibration=None).best
    bad = CliRunner().invoke(app, ["probe", "--task-file", str(toy), "--size", "1"])
    assert bad.exit_code == 2 and "--size=1 (allowed: >= 2)" in bad.output
