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
    if best < 1.0:
        assert kept[0][3] <= min(row[3] for row in curve if row[2] == best) * (1 + 1e-4)  # equal to 1e-4: a tie
    else:  # at a perfect score the first perfect check is kept (`tie_break_at_perfect`)
        assert kept[0][0] == min(row[0] for row in curve if row[2] == best)
    # The replay of the stopping rules (what decides whether a recorded run is stale) is the loop that ran.
    lrs = rec["config"]["lr_candidates"]
    assert protocol.replay(curve, rec["train_size"], len(lrs)) == (rec["steps"], metrics["best_step"])
    assert protocol.reproduces(rec) is None


def test_the_replay_follows_training_past_the_budget(tmp_path):
    """With room past the budget (cap 3x) the replay of the recorded checks still gives the run's own stop and kept
    checkpoint, and a perfect validation score keeps its first check (the toy task reaches 1.0)."""
    protocol = dataclasses.replace(TINY_PROTOCOL, patience=2, extend_factor=3.0)
    rec = _run(tmp_path, protocol, method="full_finetuning")
    curve, metrics = rec["metrics"]["loss_curve"], rec["metrics"]
    lrs = len(rec["config"]["lr_candidates"])
    assert protocol.replay(curve, rec["train_size"], lrs) == (rec["steps"], metrics["best_step"])
    best = max(row[2] for row in curve)
    if best >= 1.0:
        assert metrics["best_step"] == min(row[0] for row in curve if row[2] == best)
    # The same checks under a 1x cap: the replay stops at the budget or asks for nothing it lacks.
    capped = dataclasses.replace(protocol, extend_factor=1.0).replay(curve, rec["train_size"], lrs)
    assert capped is not None and capped[0] <= metrics["budget_steps"]


def test_v1_is_still_reproducible(tmp_path):
    """Version 1 keeps its own rule (records made before v2 can be reproduced): a strict '>' on the metric."""
    rec = _run(tmp_path, dataclasses.replace(TINY_PROTOCOL, version=1, patience=1))
    assert rec["config"]["protocol"]["version"] == 1
    curve = rec["metrics"]["loss_curve"]
    best = max(row[2] for row in curve)
    assert rec["metrics"]["best_step"] == min(row[0] for row in curve if row[2] == best)  # the first of equals
    v1 = dataclasses.replace(TINY_PROTOCOL, version=1, patience=1)
    assert v1.replay(curve, 16, len(rec["config"]["lr_candidates"])) == (rec["steps"], rec["metrics"]["best_step"])


def test_protocol_version_is_a_staleness_key_for_trained_methods_only(tmp_path):
    from bench.refresh import load_config, stale_reason
    from bench.runner import Job
    from bench.tasks import load_task

    from test_refresh import _config

    config = load_config(_config(tmp_path, staleness={"max_age_days": 30, "on_version_change": ["task", "protocol"]}))
    task = load_task(config.tasks[0])
    now = dt.datetime.now(dt.timezone.utc)
    old = {"created_at": now.isoformat(), "task_version": task.version, "config": {}}  # before versions: v1
    v2 = {**old, "config": {"protocol": Protocol().to_dict()}}
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


def _record(curve: list, protocol: dict, lrs: int = 2, race: dict | None = None, n: int = 64) -> dict:
    """A trained run's record as far as the stopping rules read it (steps and kept check from the replay of the
    rules it was recorded under)."""
    recorded = dataclasses.replace(Protocol(), **protocol)
    steps, best = recorded.replay(curve, n, lrs)
    return {"status": "ok", "train_size": n, "steps": steps, "config": {"protocol": {**recorded.to_dict(), **protocol},
                                                        "lr_candidates": [1e-3] * lrs},
            "metrics": {"loss_curve": curve, "best_step": best, "lr_race": race or {"a": 0.5, "b": 0.6}}}


def _curve(values: list[float], losses: list[float], every: int = 10) -> list[list[float]]:
    return [[every * (i + 1), 1.0, v, loss] for i, (v, loss) in enumerate(zip(values, losses))]


def test_revised_stopping_rules_leave_runs_they_would_not_change():
    """Within version 2 the step cap went 2x -> 4x and the loss tie-break stopped at a perfect score: a run recorded
    before is rerun only when the current rules, replayed on its checks, keep another checkpoint or need checks it
    does not have (budget 100 steps at 64 examples, a check every 10)."""
    old = {"extend_factor": 2.0}  # a record from before the revision has no tie_break_at_perfect: True then
    now = Protocol()
    assert now.extend_factor == 4.0 and now.tie_break_at_perfect is False
    # Best at step 60, three checks without a gain past the budget: stops at 105 under either cap (the loop
    # tests for a stop at 25 + 10k steps, after the race leg) -> fresh.
    early = _curve([0.5, 0.6, 0.7, 0.8, 0.8, 0.9] + [0.85] * 6, [2.0] * 12)
    rec = _record(early, old)
    rec["config"]["protocol"].pop("tie_break_at_perfect")
    assert (rec["steps"], rec["metrics"]["best_step"]) == (105, 60)
    assert now.reproduces(rec) is None
    # Still improving at the old cap (200): the current rules need checks past it -> stale.
    rising = _curve([0.3 + 0.03 * i for i in range(20)], [2.0] * 20)
    assert "step cap of 2x" in now.reproduces(_record(rising, old))
    # Perfect from step 30 with the loss still falling: the old rules kept extending (cut off at 200, best 200),
    # the current ones keep step 30 and stop at 105 -> another checkpoint.
    perfect = _curve([0.8, 0.9] + [1.0] * 18, [1.0, 0.5] + [1e-3 / (i + 1) for i in range(18)])
    rec = _record(perfect, {**old, "tie_break_at_perfect": True})
    assert (rec["steps"], rec["metrics"]["best_step"]) == (200, 200)
    assert now.reproduces(rec) is not None
    assert now.replay(perfect, 64, 2) == (105, 30)
    # A race tied at 1.0 was settled by the loss: its winner may differ now -> stale, whatever the replay says.
    assert "lr race" in now.reproduces(_record(early, old, race={"a": 1.0, "b": 1.0}))
    # Another version is never replayed.
    assert now.reproduces(_record(early, {"version": 1})) == "protocol version 1 -> 2"


def test_replay_reproduces_every_stored_run():
    """The replay mirrors bench.train.fit's loop: under the rules each committed run was recorded with (v1 and
    v2), it gives that run's own steps and kept checkpoint. The committed store (data/results) is the test set."""
    from bench.protocol import REVISED_RULES
    from bench.results import iter_results

    checked = 0
    for _, rec in iter_results("data/results"):
        if not rec or rec.get("status") != "ok" or not rec["metrics"].get("loss_curve"):
            continue
        had = rec["config"]["protocol"]
        rules = dataclasses.replace(Protocol(), version=had.get("version", 1),
                                    **{k: had.get(k, old) for k, old in REVISED_RULES.items()})
        got = rules.replay(rec["metrics"]["loss_curve"], rec["train_size"], len(rec["config"]["lr_candidates"]))
        assert got == (rec["steps"], rec["metrics"]["best_step"]), rec["run_id"]
        checked += 1
    assert checked > 500 or checked == 0  # the store holds 634 trained runs (2026-12-05)
