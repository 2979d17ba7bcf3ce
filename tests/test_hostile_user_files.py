"""Issue 25, user files: profiles, CSVs and task YAML are opened only if regular, read with a byte cap and a
column/field cap before parsing, integers bounded before conversion; errors never echo the file's content and
duplicate keys are an error. Each case is one the fault review reproduced (a FIFO hung forever; a 5,000-digit integer
gave a 152-line traceback; 70,000 unknown keys took 28 s; a 10^6-column CSV ran add-task for 10 minutes to 5 GB)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from advisor.pilot import PilotError, columns
from advisor.profile import ProfileError, ProjectProfile, read_yaml_file
from bench.tasks import TaskError, add_task, load_split, load_task

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([PY, "-m", "advisor.cli", *args], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=REPO)


def test_a_fifo_profile_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "p.yaml"
    os.mkfifo(fifo)
    start = time.perf_counter()
    with pytest.raises(ProfileError, match="not a regular file"):
        ProjectProfile.load(fifo)
    assert time.perf_counter() - start < 2
    r = _cli("recommend", "--profile", str(fifo), timeout=60)
    assert r.returncode == 2 and "not a regular file" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("suffix,text", [(".yaml", "labeled_examples: " + "9" * 5000 + "\n"),
                                         (".json", '{"labeled_examples": ' + "9" * 5000 + "}")])
def test_a_5000_digit_integer_is_one_line_in_the_cli_compare_and_the_loader(tmp_path, suffix, text):
    p = tmp_path / f"big{suffix}"
    p.write_text(text)
    with pytest.raises(ProfileError, match="5000 digits"):
        ProjectProfile.load(p)
    for args in (("recommend", "--profile", str(p)), ("compare", str(p), str(p))):
        r = _cli(*args)
        assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.splitlines()) <= 3, r.stderr


def test_the_app_uploader_path_gets_a_profile_error_for_huge_integers():
    # app.read_uploaded_profile catches ProfileError only: from_yaml/from_json must raise nothing else.
    with pytest.raises(ProfileError):
        ProjectProfile.from_yaml("num_classes: " + "1" * 5000)
    with pytest.raises(ProfileError):
        ProjectProfile.from_json('{"num_classes": ' + "1" * 5000 + "}")


@pytest.mark.parametrize("loader,text", [(ProjectProfile.from_yaml, "compute: low\ncompute: high\n"),
                                         (ProjectProfile.from_json, '{"compute": "low", "compute": "high"}')])
def test_duplicate_keys_are_an_error(loader, text):
    with pytest.raises(ProfileError, match="duplicate key 'compute'"):
        loader(text)


def test_duplicate_keys_in_a_task_yaml_are_an_error(tmp_path):
    p = tmp_path / "t.yaml"
    p.write_text("name: a\nname: b\n")
    with pytest.raises(ValueError, match="duplicate key 'name'"):
        read_yaml_file(p, 10_000, "task file")
    with pytest.raises(TaskError, match="duplicate key"):
        load_task(p)


def test_70000_unknown_keys_are_refused_fast():
    text = "".join(f"k{i}: 1\n" for i in range(70_000))
    start = time.perf_counter()
    with pytest.raises(ProfileError, match="more than 5,000"):
        ProjectProfile.from_yaml(text)
    json_text = "{" + ",".join(f'"k{i}": 1' for i in range(70_000)) + "}"
    with pytest.raises(ProfileError, match="at most 200 fields"):
        ProjectProfile.from_json(json_text)
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("loader,text", [(ProjectProfile.from_yaml, "API_TOKEN: sk-live-1\n  : [\n"),
                                         (ProjectProfile.from_json, '{"API_TOKEN": "sk-live-1",')])
def test_parse_errors_never_echo_the_file(loader, text):
    with pytest.raises(ProfileError) as err:
        loader(text)
    assert "sk-live" not in str(err.value) and "API_TOKEN" not in str(err.value)
    assert "characters>" in str(err.value)


def test_a_million_column_csv_is_refused_before_pandas(tmp_path):
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(1_000_000)) + "\n" + ",".join("x" * 1_000_000) + "\n")
    ok = tmp_path / "ok.csv"
    ok.write_text("text,label\na,x\nb,y\n")
    start = time.perf_counter()
    with pytest.raises(TaskError, match="1,000,000 columns"):
        add_task(wide, ok, "wide", ["text"], "label", "Classify.", out_dir=tmp_path)
    with pytest.raises(PilotError, match="1,000,000 columns"):
        columns(wide)
    assert time.perf_counter() - start < 10


def test_csvs_must_be_regular_files(tmp_path):
    fifo = tmp_path / "train.csv"
    os.mkfifo(fifo)
    ok = tmp_path / "ok.csv"
    ok.write_text("text,label\na,x\nb,y\n")
    with pytest.raises(TaskError, match="not a regular file"):
        add_task(fifo, ok, "t", ["text"], "label", "Classify.", out_dir=tmp_path)
    with pytest.raises(PilotError, match="not a regular file"):
        columns(fifo)


def test_a_task_yaml_naming_a_device_as_data_is_refused(tmp_path):
    ok = tmp_path / "ok.csv"
    ok.write_text("text,label\na,x\nb,y\n")
    task = load_task(add_task(ok, ok, "dev", ["text"], "label", "Classify.", out_dir=tmp_path))
    assert len(load_split(task, "train", tmp_path)) == 2
    task.files["train"] = "/dev/zero"
    with pytest.raises(TaskError, match="not a regular file"):
        load_split(task, "train", tmp_path)
