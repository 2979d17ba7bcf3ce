"""Issue 15, items 5 and 6: refresh faults are reported, never crashes; the lock has no race;
process workers die with their parent."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bench.cli import app
from bench.refresh import Lock, RefreshError, _served_evaluation, clean_incomplete, history, served_dir

from bench_helpers import run_refresh

REPO = Path(__file__).resolve().parent.parent


def _refresh(tmp_path: Path):
    return run_refresh(tmp_path / "refresh.yaml", tmp_path)


@pytest.fixture()
def served(refreshed, tmp_path):
    return served_dir(tmp_path / "cal")


@pytest.mark.parametrize("created_at", ["yesterday", "2026-11-24T21:53:33", None])
def test_a_result_with_a_bad_created_at_is_reported_not_crashed(served, tmp_path, created_at):
    path = next((tmp_path / "results").glob("tiny-bert/toy/lora/n16-s0.json"))
    record = json.loads(path.read_text())
    record["created_at"] = created_at
    if created_at is None:
        del record["created_at"]
    path.write_text(json.dumps(record))
    before = path.read_bytes()
    rec = _refresh(tmp_path)
    assert [b["path"] for b in rec["invalid_files"]] == [str(path)] and "created_at" in rec["invalid_files"][0]["problem"]
    assert path.read_bytes() == before  # reported, left as it is: nothing stored is lost
    res = CliRunner().invoke(app, ["refresh", "--config", str(tmp_path / "refresh.yaml"), "--results-dir",
                                   str(tmp_path / "results"), "--root", str(tmp_path / "cal"), "--device", "cpu"])
    assert "Traceback" not in res.output and "invalid result file" in res.output, res.output


@pytest.mark.parametrize("garbage", [b"", b"not json", b"[1, 2]", b'{"regret": "worse"}', b"\xff\xfe",
                                     b'{"regret": NaN}', b"[" * 100_000])
def test_every_kind_of_garbage_served_evaluation_is_named_not_raised(tmp_path, garbage):
    (tmp_path / "evaluation.json").write_bytes(garbage)
    data, problem = _served_evaluation(tmp_path)
    assert data is None and "evaluation.json" in problem


def test_a_garbage_served_evaluation_is_a_failed_gate_with_folder_and_history(served, tmp_path):
    # The whole refresh once (each run is ~15 s); every kind of garbage is read by the same function above.
    (served / "evaluation.json").write_bytes(b'{"regret": "worse"}')
    next((tmp_path / "results").glob("tiny-bert/toy/lora/n16-s0.json")).unlink()  # something new to refit
    rec = _refresh(tmp_path)
    gate = next(g for g in rec["gates"] if g["gate"] == "served evaluation readable")
    assert not gate["passed"] and "evaluation.json" in gate["value"] and not rec["promoted"]
    assert (tmp_path / "cal" / rec["calibration"] / "manifest.json").exists()  # a complete folder
    assert history(tmp_path / "cal")[-1]["calibration"] == rec["calibration"]
    assert served_dir(tmp_path / "cal") == served


def test_a_refresh_with_nothing_new_writes_no_folder(served, tmp_path):
    folders = sorted(p.name for p in (tmp_path / "cal").iterdir() if p.is_dir())
    rec = _refresh(tmp_path)
    assert rec["nothing_new"] and rec["ran"] == 0 and rec["calibration"] == served.name
    assert sorted(p.name for p in (tmp_path / "cal").iterdir() if p.is_dir()) == folders
    assert history(tmp_path / "cal")[-1].get("nothing_new") is True


def test_incomplete_calibration_folders_are_cleaned(tmp_path):
    root = tmp_path / "cal"
    (root / "20260101T000000Z").mkdir(parents=True)  # a killed refresh: runs.json, no manifest
    (root / "20260101T000000Z" / "runs.json").write_text("[]")
    (root / "20260102T000000Z").mkdir()
    (root / "20260102T000000Z" / "manifest.json").write_text("{}")
    (root / "notes").mkdir()  # not a calibration folder: never touched
    assert clean_incomplete(root) == ["20260101T000000Z"]
    assert sorted(p.name for p in root.iterdir()) == ["20260102T000000Z", "notes"]


def test_served_pointer_cannot_leave_the_calibration_root(tmp_path):
    root = tmp_path / "cal"
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "manifest.json").write_text("{}")
    root.mkdir()
    (root / "SERVED").write_text("../elsewhere\n")
    assert served_dir(root) is None


@pytest.mark.parametrize("content", ["", "0", "1", "garbage", f"{os.getppid()}"])
def test_empty_garbled_or_foreign_lock_files_never_block(tmp_path, content):
    lock = tmp_path / ".refresh.lock"
    lock.write_text(content)  # a kill between open and write, pid 1 (live, unrelated), a live parent
    with Lock(lock):
        text = lock.read_text()
        assert text.startswith(f"pid {os.getpid()} started ") and "locked at" in text
    assert not lock.exists()


def test_a_held_lock_blocks_and_names_its_holder(tmp_path):
    lock = tmp_path / ".refresh.lock"
    with Lock(lock):
        with pytest.raises(RefreshError, match=f"another refresh holds .*pid {os.getpid()}"):
            Lock(lock).__enter__()


def _contend(path: str, start: float, out: "mp.Queue") -> None:
    while time.time() < start:
        pass
    try:
        with Lock(Path(path)):
            out.put(("in", os.getpid(), time.time()))
            time.sleep(0.05)
            out.put(("out", os.getpid(), time.time()))
    except RefreshError:
        out.put(("busy", os.getpid(), time.time()))


def test_racing_refreshes_never_hold_the_lock_together(tmp_path):
    """Eight processes released at the same instant, over stale lock files of every kind, five rounds."""
    ctx = mp.get_context("fork")
    lock = tmp_path / ".refresh.lock"
    for stale in ("", "999999999", "1", "x", None):
        if stale is not None:
            lock.write_text(stale)
        q = ctx.Queue()
        start = time.time() + 0.5
        procs = [ctx.Process(target=_contend, args=(str(lock), start, q)) for _ in range(8)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(30)
        events = []
        while not q.empty():
            events.append(q.get())
        events.sort(key=lambda e: e[2])
        holders, most = 0, 0
        for kind, _, _ in events:
            holders += {"in": 1, "out": -1}.get(kind, 0)
            most = max(most, holders)
        assert most == 1, events
        assert any(kind == "in" for kind, _, _ in events)


def _alive(pid: int) -> bool:
    """Running (a zombie awaiting its reaper has already died)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def test_process_workers_die_with_a_killed_parent(tmp_path):
    """kill -9 of the grid process: its spawned workers exit (PR_SET_PDEATHSIG / watchdog)."""
    pidfile = tmp_path / "worker.pid"
    script = textwrap.dedent(f"""
        import multiprocessing as mp, os, time
        from concurrent.futures import ProcessPoolExecutor
        from bench.runner import die_with_parent

        def work(path):
            open(path, "w").write(str(os.getpid()))
            time.sleep(120)

        if __name__ == "__main__":
            with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"), initializer=die_with_parent,
                                     initargs=(os.getpid(),)) as pool:
                pool.submit(work, {str(pidfile)!r}).result()
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    (tmp_path / "grid.py").write_text(script)  # a file: spawned workers import `work` from it
    parent = subprocess.Popen([sys.executable, str(tmp_path / "grid.py")], cwd=tmp_path, env=env)
    deadline = time.time() + 60
    while time.time() < deadline and not (pidfile.exists() and pidfile.read_text()):
        time.sleep(0.1)
    worker = int(pidfile.read_text())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 10
    while time.time() < deadline and _alive(worker):
        time.sleep(0.1)
    if not _alive(worker):
        return
    os.kill(worker, signal.SIGKILL)
    pytest.fail(f"worker {worker} outlived its killed parent by 10 s")
