"""Issue 25, item 7: a refresh lock path that is a directory is a typed error; failed refresh folders are pruned to
the newest N; `advisor evaluate` writes only with --write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.refresh import Lock, RefreshError, prune_failed


def test_a_lock_path_that_is_a_directory_is_a_typed_error(tmp_path):
    (tmp_path / ".refresh.lock").mkdir()
    with pytest.raises(RefreshError, match="cannot take the refresh lock"):
        Lock(tmp_path / ".refresh.lock").__enter__()


def _folder(root: Path, name: str, promoted: bool) -> None:
    (root / name).mkdir(parents=True)
    (root / name / "manifest.json").write_text(json.dumps({"promoted": promoted}))


def test_failed_refresh_folders_are_pruned_to_the_newest_n(tmp_path):
    for h in range(11):  # 11 failed refreshes piled up after the review
        _folder(tmp_path, f"20261201T{h:02d}0000Z", False)
    _folder(tmp_path, "20261130T000000Z", True)  # once promoted: kept
    _folder(tmp_path, "20261129T000000Z", False)  # the served one, even though its manifest says not promoted
    (tmp_path / "SERVED").write_text("20261129T000000Z\n")
    removed = prune_failed(tmp_path, keep=3)
    left = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert len(removed) == 8 and "20261129T000000Z" not in removed
    assert left == ["20261129T000000Z", "20261130T000000Z", "20261201T080000Z", "20261201T090000Z",
                    "20261201T100000Z"]
    assert prune_failed(tmp_path, keep=0) == ["20261201T080000Z", "20261201T090000Z", "20261201T100000Z"]


def test_evaluate_writes_nothing_without_write(tmp_path, monkeypatch):
    from advisor import cli

    results = tmp_path / "elsewhere" / "results"
    results.mkdir(parents=True)
    out = CliRunner().invoke(cli.app, ["evaluate", "--results-dir", str(results)])
    assert out.exit_code == 2 and "no benchmark results" in out.output
    assert not (tmp_path / "elsewhere" / "calibration").exists()
    help_text = CliRunner().invoke(cli.app, ["evaluate", "--help"]).output
    assert "--write" in help_text and "--no-write" not in help_text
