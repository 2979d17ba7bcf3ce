"""Issue 25, item 6: a cell claim (an exclusive create next to the result path) so that concurrent runners never
train one cell twice; cleaned up on exit, broken when its owner is dead."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.runner import Job, acquire_claim, claim_path, execute, expand, release_claim
from bench.tasks import load_task

from bench_helpers import TINY_PROTOCOL, write_toy_task

REPO = Path(__file__).resolve().parent.parent


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_one_owner_at_a_time_and_released_on_exit(tmp_path):
    result = tmp_path / "m" / "t" / "lora" / "n16-s0.json"
    claim = acquire_claim(result)
    assert claim == claim_path(result) and claim.exists()
    assert json.loads(claim.read_text())["pid"] == os.getpid()
    assert acquire_claim(result) is None  # held by a live owner (this process)
    release_claim(claim)
    assert not claim.exists()
    again = acquire_claim(result)
    assert again is not None
    release_claim(again)


def test_a_dead_owners_claim_is_broken(tmp_path):
    result = tmp_path / "n16-s0.json"
    claim_path(result).write_text(json.dumps({"pid": _dead_pid(), "host": socket.gethostname(), "started": 0}))
    mine = acquire_claim(result)
    assert mine is not None and json.loads(mine.read_text())["pid"] == os.getpid()
    release_claim(mine)


def test_an_empty_claim_is_held_briefly_then_broken(tmp_path):
    result = tmp_path / "n16-s0.json"
    claim_path(result).write_text("")  # a writer killed between create and write
    assert acquire_claim(result) is None
    old = time.time() - 120
    os.utime(claim_path(result), (old, old))
    mine = acquire_claim(result)
    assert mine is not None
    release_claim(mine)


def test_a_cell_held_by_a_live_runner_is_skipped_untrained(tmp_path):
    task = load_task(write_toy_task(tmp_path / "toy"))
    job = Job("tiny-bert", task, "lora", 16, 0)
    results = tmp_path / "results"
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        path = job.path(results)
        path.parent.mkdir(parents=True)
        claim_path(path).write_text(json.dumps({"pid": other.pid, "host": socket.gethostname(), "started": 0}))
        start = time.perf_counter()
        summary = execute(job, str(results), TINY_PROTOCOL, None, "cpu", False, 1)
        assert summary["status"] == "claimed" and not path.exists() and time.perf_counter() - start < 5
    finally:
        other.kill()
        other.wait()


def test_two_concurrent_runners_train_each_cell_once(tmp_path):
    task_file = write_toy_task(tmp_path / "toy")
    results = tmp_path / "results"
    code = ("import json, sys; sys.path.insert(0, 'tests'); from bench_helpers import TINY_PROTOCOL; "
            "from bench.runner import expand, run_grid; from bench.tasks import load_task; "
            f"jobs = expand(['tiny-bert'], [load_task({str(task_file)!r})], ['linear_probe', 'lora'], [16, 32], [0]); "
            f"s = run_grid(jobs, {str(results)!r}, TINY_PROTOCOL, device='cpu', progress=False, threads=1); "
            "print(json.dumps({'ran': s['ran'], 'labels': [x['label'] for x in s['summaries']]}))")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, cwd=REPO, env=env) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e[-2000:] for _, e in outs]
    runs = [json.loads(o.strip().splitlines()[-1]) for o, _ in outs]
    labels = [lab for r in runs for lab in r["labels"]]
    assert sorted(labels) == sorted(set(labels)) and len(labels) == 4  # every cell trained exactly once
    assert len(list(results.glob("*/*/*/n*-s*.json"))) == 4
    assert not list(results.rglob(".*.claim"))  # every claim cleaned up
