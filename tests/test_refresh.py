"""bench refresh: gates, atomic promotion, history, lock, staleness and kill -9 (fault injection)."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from advisor.artifact import load_served
from bench.cli import app
from bench.refresh import Lock, RefreshError, history, load_config, refresh, served_dir

from bench_helpers import TINY_PROTOCOL, refresh_config, run_refresh

REPO = Path(__file__).resolve().parent.parent


def _config(tmp_path: Path, **over) -> Path:
    return refresh_config(tmp_path, **over)


def _refresh(cfg: Path, tmp_path: Path, **kw):
    return run_refresh(cfg, tmp_path, **kw)


@pytest.fixture()
def first(refreshed):
    return refreshed


def test_first_refresh_runs_everything_and_promotes(first, tmp_path):
    cfg, rec = first
    assert rec["ran"] == 36 and rec["failed"] == 0 and rec["promoted"], rec["gates"]
    served = served_dir(tmp_path / "cal")
    assert served is not None and served.name == rec["calibration"]
    cal = load_served(served / "calibration.json")
    assert cal.n_runs == 36 and cal.source.startswith("served calibration")
    assert (served / "evaluation.md").read_text().startswith("# Advisor evaluation")
    again = _refresh(cfg, tmp_path, now=None)
    assert again["ran"] == 0 and again["skipped"] == 36  # idempotent: nothing missing or stale
    assert [h["promoted"] for h in history(tmp_path / "cal")] == [True, again["promoted"]]


def test_a_worse_calibration_is_not_promoted(first, tmp_path):
    cfg, rec = first
    served = served_dir(tmp_path / "cal")
    # Fault injection: the served calibration claims a far better evaluation than any refit can reach.
    (served / "evaluation.json").write_text(json.dumps({"regret": -100.0, "mae": 0.0, "top1_agreement": 100.0}))
    # One cell to rerun: a refresh with nothing new refits nothing (and writes no folder).
    next((tmp_path / "results").glob("tiny-bert/toy/lora/n16-s0.json")).unlink()
    res = CliRunner().invoke(app, ["refresh", "--config", str(cfg), "--results-dir", str(tmp_path / "results"),
                                   "--root", str(tmp_path / "cal"), "--device", "cpu", "--threads", "1"])
    assert res.exit_code == 1, res.output
    assert "FAIL] regret vs served" in res.output and "not promoted" in res.output
    assert served_dir(tmp_path / "cal") == served  # unchanged
    assert history(tmp_path / "cal")[-1]["promoted"] is False


def test_failing_cells_are_recorded_and_gated(first, tmp_path):
    cfg = _config(tmp_path, sizes=[16, 32, 48, 100000])  # 100000 exceeds the toy pool: those trials fail
    rec = _refresh(cfg, tmp_path)
    assert rec["failed"] == 12 and not rec["promoted"]
    assert any(g["gate"] == "failed cells" and not g["passed"] for g in rec["gates"])
    failed = list((tmp_path / "results").glob("**/n100000-s0.json"))
    assert len(failed) == 12 and json.loads(failed[0].read_text())["status"] == "failed"


def test_stale_cells_are_rerun(first, tmp_path):
    cfg, _ = first
    path = next((tmp_path / "results").glob("tiny-bert/toy/lora/n16-s0.json"))
    record = json.loads(path.read_text())
    record["created_at"] = "2020-01-01T00:00:00+00:00"
    path.write_text(json.dumps(record))
    rec = _refresh(cfg, tmp_path)
    assert rec["stale_run"] == 1 and "older than 30 days" in next(iter(rec["stale_reasons"].values()))
    assert json.loads(path.read_text())["created_at"] > "2020"


def test_a_changed_method_recipe_makes_its_cells_stale(tmp_path):
    """A run made under an older recipe version (or before versions were recorded: version 1) is rerun."""
    import datetime as dt

    from bench.refresh import stale_reason
    from bench.runner import Job
    from bench.tasks import load_task

    config = load_config(_config(tmp_path, staleness={"max_age_days": 30, "on_version_change": ["task", "method"]}))
    task = load_task(config.tasks[0])
    now = dt.datetime.now(dt.timezone.utc)
    record = {"created_at": now.isoformat(), "task_version": task.version, "config": {}}
    job = Job("tiny-bert", task, "prompt_tuning", 16, 0)
    assert stale_reason(record, job, config, now, {}) == "prompt_tuning recipe version 1 -> 2"
    assert stale_reason({**record, "config": {"method_version": 2}}, job, config, now, {}) is None
    assert stale_reason(record, Job("tiny-bert", task, "lora", 16, 0), config, now, {}) is None
    no_method = load_config(_config(tmp_path, staleness={"max_age_days": 30, "on_version_change": ["task"]}))
    assert stale_reason(record, job, no_method, now, {}) is None


def test_lock_blocks_a_second_refresh_and_dead_locks_are_broken(tmp_path):
    cfg = _config(tmp_path)
    lock = tmp_path / "cal" / ".refresh.lock"
    lock.parent.mkdir(parents=True)
    with Lock(lock):  # a live holder (flock: per open file, so it blocks this same process too)
        assert lock.read_text().startswith(f"pid {os.getpid()} started ")
        with pytest.raises(RefreshError, match="another refresh holds"):
            _refresh(cfg, tmp_path)
    assert not lock.exists()
    lock.write_text("999999999")  # a dead holder's leftover file (no flock held) never blocks
    with Lock(lock):
        assert lock.read_text().startswith(f"pid {os.getpid()} ")
    assert not lock.exists()


def test_bad_config_is_a_typed_error(tmp_path):
    cfg = _config(tmp_path, sizes="many")
    with pytest.raises(RefreshError, match="sizes='many'"):
        load_config(cfg)
    res = CliRunner().invoke(app, ["refresh", "--config", str(cfg)])
    assert res.exit_code == 2 and "sizes" in res.output


def test_killed_refresh_keeps_the_served_calibration_and_resumes(first, tmp_path):
    cfg, rec = first
    served = served_dir(tmp_path / "cal")
    cfg2 = _config(tmp_path, seeds=[0, 1])  # 36 new cells to run
    args = [sys.executable, "-m", "bench.cli", "refresh", "--config", str(cfg2), "--results-dir",
            str(tmp_path / "results"), "--root", str(tmp_path / "cal"), "--device", "cpu", "--threads", "1"]
    proc = subprocess.Popen(args, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while time.time() < deadline and not list((tmp_path / "results").glob("**/n*-s1.json")):
        time.sleep(0.2)
    from advisor import recommend

    # The advisor keeps answering while the refresh runs...
    during = recommend({"labeled_examples": 32}, calibration=load_served(served_dir(tmp_path / "cal") / "calibration.json"))
    assert during.mode.startswith("rules + calibration (36 measured runs, served calibration")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert served_dir(tmp_path / "cal") == served and load_served(served / "calibration.json").n_runs == 36
    # ...and after it was killed, from the same served calibration.
    after = recommend({"labeled_examples": 32}, calibration=load_served(served_dir(tmp_path / "cal") / "calibration.json"))
    assert after.to_dict()["ranking"] == during.to_dict()["ranking"]
    done = len(list((tmp_path / "results").glob("**/n*-s1.json")))
    assert done >= 1
    rec2 = refresh(load_config(cfg2), tmp_path / "results", tmp_path / "cal", device="cpu", threads=1,
                   protocol=dataclasses.replace(TINY_PROTOCOL), progress=False)  # the dead lock is broken
    assert rec2["missing_run"] == 36 - done and rec2["failed"] == 0


def test_a_failed_gate_can_be_overridden_only_with_a_reason_on_the_record(first, tmp_path):
    """`bench promote NAME --reason`: a complete folder, a sentence of reason, SERVED moved, history says why."""
    from bench.refresh import override

    cfg, rec = first
    cal = tmp_path / "cal"
    name = rec["calibration"]
    runner = CliRunner()
    out = runner.invoke(app, ["promote", name, "--reason", "short", "--root", str(cal)])
    assert out.exit_code == 2 and "reason=" in out.output
    out = runner.invoke(app, ["promote", "../etc", "--reason", "x" * 30, "--root", str(cal)])
    assert out.exit_code == 2 and "calibration=" in out.output
    (cal / "20990101T000000Z").mkdir()  # no manifest: never served
    with pytest.raises(RefreshError, match="manifest"):
        override(cal, "20990101T000000Z", "an incomplete folder must not be served")
    reason = "the table change of issue 20 costs four cells of within-1; regret stays under 2.3"
    out = runner.invoke(app, ["promote", name, "--reason", reason, "--root", str(cal)])
    assert out.exit_code == 0, out.output
    assert (cal / "SERVED").read_text().strip() == name
    last = history(cal)[-1]
    assert last["override"]["reason"] == reason and last["promoted"] is True


def test_a_store_in_git_is_cited_as_the_repository_sees_it(tmp_path):
    """Run paths relative to the work tree and the commit they are at, so a reader finds them in any clone."""
    import shutil

    from bench.refresh import store_citation

    if shutil.which("git") is None:
        pytest.skip("git not installed")
    repo = tmp_path / "checkout"
    run = repo / "data" / "results" / "minilm" / "sst2" / "lora" / "n16-s0.json"
    run.parent.mkdir(parents=True)
    run.write_text("{}", encoding="utf-8")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    for cmd in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "runs"]):
        subprocess.run(["git", "-C", str(repo), *cmd], check=True, env=env, capture_output=True)
    sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"], check=True, text=True,
                         capture_output=True).stdout.strip()
    source, cite = store_citation(repo / "data" / "results")
    assert source == f"data/results at commit {sha}"
    assert cite(str(run)) == "data/results/minilm/sst2/lora/n16-s0.json"
    run.with_name("n16-s1.json").write_text("{}", encoding="utf-8")  # a run not committed yet
    assert store_citation(repo / "data" / "results")[0].endswith("with runs not yet committed")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert store_citation(outside)[0] == str(outside)


def _age(results: Path, *names: str) -> Path:
    """Make these tiny-bert LoRA cells stale (created in 2020, past the config's 30 days); the last one's path."""
    for name in names:
        path = next(results.glob(f"tiny-bert/toy/lora/{name}"))
        record = json.loads(path.read_text())
        record["created_at"] = "2020-01-01T00:00:00+00:00"
        path.write_text(json.dumps(record))
    return path


def _gpu_rerun():
    """deploy/gpu_rerun.py as a module (deploy/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpu_rerun", REPO / "deploy" / "gpu_rerun.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_gpu_rerun_picks_the_cells_refresh_calls_missing_or_stale(first, tmp_path, capsys):
    """deploy/gpu_rerun.py runs what `bench refresh` would (bench.refresh.plan_cells): here one stale cell and
    nothing missing; a dry run prints the counts and trains nothing."""
    cfg, _ = first
    path = _age(tmp_path / "results", "n16-s0.json")
    module = _gpu_rerun()
    assert module.main(["--config", str(cfg), "--results-dir", str(tmp_path / "results"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("36 cells: 0 missing, 1 stale ({'older than 30 days': 1}), 0 invalid") and "35 fresh" in out
    assert json.loads(path.read_text())["created_at"].startswith("2020")  # a dry run trains and writes nothing
    assert module.main(["--config", str(tmp_path / "nope.yaml"), "--dry-run"]) == 2  # a typed error, not a trace


def test_the_gpu_rerun_runs_from_the_back_with_reverse_and_keeps_the_protocol_cap(first, tmp_path, monkeypatch):
    """`--reverse` hands run_grid the cells in the opposite order (the CPU refresh works from the front; the two meet
    in the middle), and without --test-cap the protocol's own cap (MiniLM's 1,000) is used, not SmolLM2's 500."""
    import bench.runner
    from bench.protocol import Protocol

    cfg, _ = first
    _age(tmp_path / "results", "n16-s0.json", "n48-s0.json")
    module = _gpu_rerun()
    seen = []
    monkeypatch.setattr(bench.runner, "run_grid", lambda todo, _dir, protocol, *a, **k: seen.append(
        ([j.train_size for j in todo], protocol.test_cap)) or {"ran": 0, "failed": 0, "seconds": 0.0, "failures": []})
    base = ["--config", str(cfg), "--results-dir", str(tmp_path / "results")]
    assert module.main(base) == 0 and module.main([*base, "--reverse", "--test-cap", "500"]) == 0
    (forward, cap), (backward, cap_given) = seen
    assert forward == [16, 48] and backward == [48, 16]
    assert cap == Protocol().test_cap and cap_given == 500


def test_stale_first_runs_a_revised_stopping_rule_before_any_other_stale_cell(first, tmp_path, monkeypatch):
    """A review (2026-12-05): `--stale-first` ranked every reason but a version change first, so an aged cell ran
    before a run the revised stopping rules change. Now only the latter leads."""
    import bench.runner

    cfg, _ = first
    config = yaml.safe_load(cfg.read_text())
    config["staleness"]["on_version_change"] = ["task", "protocol"]
    cfg.write_text(yaml.safe_dump(config))
    _age(tmp_path / "results", "n16-s0.json")  # stale for its age
    path = next((tmp_path / "results").glob("tiny-bert/toy/lora/n48-s0.json"))
    record = json.loads(path.read_text())
    record["config"]["protocol"].update(extend_factor=2.0, tie_break_at_perfect=True)  # the rules before
    record["metrics"]["lr_race"] = {"0.001": 1.0, "0.01": 1.0}  # a race the old tie-break decided at 1.0
    path.write_text(json.dumps(record))
    module = _gpu_rerun()
    seen = []
    monkeypatch.setattr(bench.runner, "run_grid", lambda todo, _dir, *a, **k: seen.append(
        [Path(j.path(_dir)).resolve() for j in todo]) or {"ran": 0, "failed": 0, "seconds": 0.0, "failures": []})
    base = ["--config", str(cfg), "--results-dir", str(tmp_path / "results")]
    assert module.main(base) == 0 and module.main([*base, "--stale-first"]) == 0
    aged, revised = path.with_name("n16-s0.json").resolve(), path.resolve()
    (plain, first_) = seen
    assert plain.index(aged) < plain.index(revised)  # the grid's order
    assert first_.index(revised) < first_.index(aged)  # the revised stopping rule first
    # (the toy grid trains under a 1x cap, so its other runs are stale for the cap: revised rules too, also first)
    assert all(first_.index(j) < first_.index(aged) for j in first_ if j != aged)
