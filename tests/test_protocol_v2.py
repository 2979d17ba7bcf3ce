"""Protocol v2 (issue 21): no early stop before the budget, checkpoints judged on the metric with the validation loss
as the tie-break, the version recorded in every run and used as a staleness key; seeds per size in the refresh."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from bench.protocol import Protocol
from bench_helpers import TINY_PROTOCOL, write_toy_task


def _run(tmp_path, protocol: Protocol, method: str = "lora") -> dict:
    from bench.runner import expand, run_grid
    from bench.tasks import load_task

    toy = load_task(write_toy_task(tmp_path / "toy"))
    results = tmp_path / f"results-v{protocol.version}"
    summary = run_grid(expand(["tiny-bert"], [toy], [method], [16], [0]), results, protocol, device="cpu",
                       progress=False, threads=1)
    assert summary["failed"] == 0, summary["failures"]
    return json.loads(next(results.rglob("n16-s0.json")).read_text())


def test_v2_trains_to_the_budget_and_picks_the_best_check_with_loss_as_tie_break(tmp_path):
    # patience 1 would stop a v1 run at its second check without a gain; v2 must still reach the budget.
    protocol = dataclasses.replace(TINY_PROTOCOL, patience=1)
    assert protocol.version == 2
    rec = _run(tmp_path, protocol)
    metrics = rec["metrics"]
    assert rec["config"]["protocol"]["version"] == 2
    assert rec["steps"] >= metrics["budget_steps"]
    curve = metrics["loss_curve"]
    assert all(len(row) == 4 and row[3] is not None and row[3] > 0 for row in curve)  # val loss on every check
    # The curve is the continued candidate's (its race checks included): the kept check has the best metric and,
    # among the checks at that metric, the lowest validation loss.
    best = max(row[2] for row in curve)
    kept = [row for row in curve if row[0] == metrics["best_step"]]
    assert len(kept) == 1 and kept[0][2] == best
    assert kept[0][3] <= min(row[3] for row in curve if row[2] == best) * (1 + 1e-4)  # equal to 1e-4: a tie


def test_v1_is_still_reproducible(tmp_path):
    """Version 1 keeps its own rule (records made before v2 can be reproduced): a strict '>' on the metric."""
    rec = _run(tmp_path, dataclasses.replace(TINY_PROTOCOL, version=1, patience=1))
    assert rec["config"]["protocol"]["version"] == 1
    curve = rec["metrics"]["loss_curve"]
    best = max(row[2] for row in curve)
    assert rec["metrics"]["best_step"] == min(row[0] for row in curve if row[2] == best)  # the first of equals


def test_protocol_version_is_a_staleness_key_for_trained_methods_only(tmp_path):
    from bench.refresh import load_config, stale_reason
    from bench.runner import Job
    from bench.tasks import load_task

    from test_refresh import _config

    config = load_config(_config(tmp_path, staleness={"max_age_days": 30, "on_version_change": ["task", "protocol"]}))
    task = load_task(config.tasks[0])
    now = dt.datetime.now(dt.timezone.utc)
    old = {"created_at": now.isoformat(), "task_version": task.version, "config": {}}  # before versions: v1
    v2 = {**old, "config": {"protocol": {"version": 2}}}
    lora, probe = Job("tiny-bert", task, "lora", 16, 0), Job("tiny-bert", task, "linear_probe", 16, 0)
    assert stale_reason(old, lora, config, now, {}) == "protocol version 1 -> 2"
    assert stale_reason(v2, lora, config, now, {}) is None
    assert stale_reason(old, probe, config, now, {}) is None  # never early-stops: a v1 probe run is a v2 run
    assert stale_reason(old, Job("tiny-bert", task, "prompt_engineering", 16, 0), config, now, {}) is None
    off = load_config(_config(tmp_path, staleness={"max_age_days": 30, "on_version_change": ["task"]}))
    assert stale_reason(old, lora, off, now, {}) is None


def test_seeds_by_size_and_seed_major_order(tmp_path):
    from bench.refresh import RefreshError, config_jobs, load_config
    from bench.tasks import load_task

    from test_refresh import _config

    config = load_config(_config(tmp_path, sizes=[16, 64, 1024], seeds=[0, 1, 2], seeds_by_size={1024: [0, 1]}))
    tasks = [load_task(t) for t in config.tasks]
    jobs = config_jobs(config, tasks, ["lora"])
    per = len(tasks)
    assert len(jobs) == per * (2 * 3 + 1 * 2)
    assert [j.seed for j in jobs] == sorted(j.seed for j in jobs)  # seed-major: a partial rerun covers whole seeds
    assert {j.seed for j in jobs if j.train_size == 1024} == {0, 1}
    assert {j.seed for j in jobs if j.train_size == 16} == {0, 1, 2}
    with pytest.raises(RefreshError, match="seeds_by_size"):
        load_config(_config(tmp_path, seeds_by_size={16: "zero"}))


def test_committed_refresh_config_covers_three_seeds_up_to_256():
    from bench.refresh import load_config

    config = load_config()
    by_size = dict(config.seeds_by_size)
    assert "protocol" in config.on_version_change
    assert all(len(by_size.get(n, config.seeds)) >= 3 for n in config.sizes if n <= 256)
