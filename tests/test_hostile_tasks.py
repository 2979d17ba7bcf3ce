"""Issue 15, item 4: `bench add-task`, task files and hf: folders give typed errors (exit 2), never tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bench.cli import app
from bench.tasks import TaskError, load_split, load_task, parse_task

from bench_helpers import write_toy_task

GOOD = "text,label\na good film,pos\na bad film,neg\n"


def _add(tmp_path: Path, train: str | Path, test: str | Path | None = None, out: Path | None = None):
    if test is None:
        test = tmp_path / "good_test.csv"
        test.write_text(GOOD)
    return CliRunner().invoke(app, ["add-task", "mine", "--train", str(train), "--test", str(test),
                                    "--out-dir", str(out or tmp_path)])


def _csv(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name,data,expect", [
    ("empty.csv", b"", "the file is empty"),
    ("binary.csv", bytes(range(256)) * 20, "binary data"),
    ("utf16.csv", GOOD.encode("utf-16"), "UTF-16"),
    ("latin1.csv", "text,label\ncaf\xe9,pos\nx,neg\n".encode("latin-1"), "not UTF-8"),
    ("malformed.csv", b'text,label\n"an unclosed quote,pos\nx,neg\n', "not a valid CSV"),
    ("header_only.csv", b"text,label\n", "no examples"),
    ("nan_label.csv", b"text,label\na,pos\nb,\nc,NaN\nd,nan\ne,neg\n", "empty or NaN label"),
    ("one_class.csv", b"text,label\na,pos\nb,pos\n", "at least 2"),
    ("no_column.csv", b"body,label\na,pos\nb,neg\n", "no column 'text'"),
])
def test_add_task_rejects_bad_training_csvs(tmp_path, name, data, expect):
    res = _add(tmp_path, _csv(tmp_path, name, data))
    assert res.exit_code == 2 and expect in res.output and "Traceback" not in res.output, res.output
    assert not (tmp_path / "mine.yaml").exists()


def test_add_task_rejects_an_empty_test_csv_and_unseen_test_labels(tmp_path):
    train = _csv(tmp_path, "train.csv", GOOD.encode())
    res = _add(tmp_path, train, _csv(tmp_path, "test.csv", b"text,label\n"))
    assert res.exit_code == 2 and "--test" in res.output and "no examples" in res.output
    res = _add(tmp_path, train, _csv(tmp_path, "test2.csv", b"text,label\nx,maybe\n"))
    assert res.exit_code == 2 and "absent from the training CSV" in res.output


@pytest.mark.parametrize("source", ["dir", "/dev/zero"])
def test_add_task_refuses_directories_and_devices_without_reading(tmp_path, source):
    res = _add(tmp_path, tmp_path if source == "dir" else source)
    assert res.exit_code == 2 and "not a regular file" in res.output, res.output


def test_add_task_missing_out_dir_is_a_typed_error(tmp_path):
    res = _add(tmp_path, _csv(tmp_path, "train.csv", GOOD.encode()), out=tmp_path / "nope")
    assert res.exit_code == 2 and "--out-dir" in res.output and "Traceback" not in res.output
    ok = _add(tmp_path, _csv(tmp_path, "train.csv", GOOD.encode()))
    assert ok.exit_code == 0 and load_task(tmp_path / "mine.yaml").num_classes == 2


def _spec(tmp_path: Path, **changes) -> Path:
    toy = write_toy_task(tmp_path / "toy")
    raw = yaml.safe_load(toy.read_text())
    raw.update(changes)
    toy.write_text(yaml.safe_dump(raw))
    return toy


@pytest.mark.parametrize("changes,expect", [
    ({"version": "abc"}, "version='abc'"),
    ({"version": True}, "version=True"),
    ({"template": ["Review: {text}"]}, "template=['Review: {text}']"),
    ({"template": "Review: {text} {other}"}, "cannot be filled"),
    ({"instruction": 5}, "instruction=5"),
    ({"labels": [{"value": ["x"]}, {"value": "y"}]}, "labels[0].value"),
    ({"files": {"train": 1, "test": 2}}, "files="),
    ({"complexity": "hard"}, "complexity='hard'"),
])
def test_task_yaml_fields_are_type_checked(tmp_path, changes, expect):
    path = _spec(tmp_path, **changes)
    with pytest.raises(TaskError, match=None) as err:
        load_task(path)
    assert expect in str(err.value)
    res = CliRunner().invoke(app, ["run", "--models", "tiny-bert", "--task-file", str(path), "--sizes", "16",
                                   "--seeds", "0", "--results-dir", str(tmp_path / "res")])
    assert res.exit_code == 2 and expect in res.output and "Traceback" not in res.output, res.output


def test_task_yaml_is_read_bounded(tmp_path):
    path = tmp_path / "bomb.yaml"
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    path.write_text("\n".join(lines))
    with pytest.raises(TaskError, match="aliases"):
        load_task(path)
    path.write_bytes(b"name: \xff\xfe")
    with pytest.raises(TaskError, match="UTF-8"):
        load_task(path)


def test_dataset_paths_stay_inside_the_data_dir(tmp_path):
    with pytest.raises(TaskError, match="leaves the data dir"):
        load_task(_spec(tmp_path, dataset="../../..", files={"train": "etc/passwd", "test": "etc/passwd"}))
    # A symlink out of the data dir is caught where the path is resolved.
    data = tmp_path / "data"
    data.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "train.csv").write_text(GOOD)
    (data / "escape").symlink_to(outside)
    raw = yaml.safe_load(write_toy_task(tmp_path / "t2", name="t2").read_text())
    raw.update(dataset="escape", files={"train": "train.csv", "test": "train.csv"})
    spec = parse_task(raw, "t2.yaml")
    with pytest.raises(TaskError, match="outside the data dir"):
        load_split(spec, "train", data)
    # An absolute path is the user's explicit choice and is read.
    raw.update(files={"train": str(outside / "train.csv"), "test": str(outside / "train.csv")},
               labels=["pos", "neg"])
    assert len(load_split(parse_task(raw, "t2.yaml"), "train", data)) == 2


@pytest.mark.parametrize("content,expect", [
    (b"garbage{", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"architectures": 5}', "architectures="),
    (b"\xff\xfe\x00", "not UTF-8"),
])
def test_garbage_config_json_in_an_hf_folder_is_a_typed_error(tmp_path, content, expect):
    (tmp_path / "config.json").write_bytes(content)
    res = CliRunner().invoke(app, ["run", "--models", f"hf:{tmp_path}", "--tasks", "sst2", "--sizes", "16",
                                   "--seeds", "0", "--results-dir", str(tmp_path / "res")])
    assert res.exit_code == 2 and expect in res.output and "Traceback" not in res.output, res.output
