"""The refresh's metric gates judge a refit against the served calibration on the cells both scored, with the
sampling noise of those cells as part of the tolerance (bench.refresh.gates)."""

from __future__ import annotations

import json
import random

import pytest
import yaml

from advisor.evaluate import STRATEGIES, headline_by_cell, summarise
from bench.refresh import METRICS, MIN_PAIRED, RefreshConfig, RefreshError, _served_cells, gates, load_config, \
    paired_difference

CONFIG = RefreshConfig(("minilm",), "all", "all", (16,), (0,))  # tolerance_points 1.0, noise_z 1.0


def _rows(n: int, seed: int, lose: float = 0.0) -> list[dict]:
    """`n` evaluation rows as advisor.evaluate._score_cells writes them; `lose`: the share of cells whose pick is
    made 10 points worse (a real regression, the same cells every time)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        regret = rng.choice([0.0, 0.0, 0.0, 0.005, 0.02, 0.05])
        if i < lose * n:
            regret += 0.10
        row = {"backbone": "minilm", "task": f"t{i % 14}", "train_size": 16 * (1 + i // 14), "measured_best": "lora",
               "advisor_regret": regret, "advisor_mae": rng.uniform(0.02, 0.12)}
        for name in STRATEGIES:
            row.setdefault(f"{name}_pick", "lora")
        rows.append(row)
    return rows


def _figures(rows: list[dict]) -> dict:
    return {k: summarise(rows)[k] for k, _ in METRICS}


def test_per_cell_metrics_average_to_the_headline():
    rows = _rows(80, 0)
    cells, head = headline_by_cell(rows), summarise(rows)
    for metric, _ in METRICS:
        values = list(cells[metric].values())
        assert abs(sum(values) / len(values) - head[metric]) <= 0.051, metric


def test_the_paired_difference_is_the_mean_change_on_shared_cells_with_its_standard_error():
    old = {i: 0.0 for i in range(20)}
    new = {i: (4.0 if i % 2 else 0.0) for i in range(20)} | {99: 100.0}  # a cell only one side scored: ignored
    k, worse, se = paired_difference(new, old, "lower")
    assert k == 20 and worse == pytest.approx(2.0)
    assert se == pytest.approx((4.0 * 20 / 19) ** 0.5 / 20 ** 0.5)  # sample sd of 0/4 halves over sqrt(k)
    assert paired_difference(new, old, "higher")[1] == pytest.approx(-2.0)  # higher is better: 2 points better
    assert paired_difference({i: 1.0 for i in range(MIN_PAIRED - 1)}, old, "lower") is None


def _metric_gates(new_rows, old_rows, **over):
    config = RefreshConfig(("minilm",), "all", "all", (16,), (0,), **over)
    rows = gates(_figures(new_rows), _figures(old_rows), 1, 1, 0, 0, config, headline_by_cell(new_rows),
                 headline_by_cell(old_rows))
    return {g["gate"].split(" ")[0]: g for g in rows[2:]}


def test_a_refit_within_the_noise_passes_and_a_real_regression_fails():
    served = _rows(80, 0)
    # Another draw of the same quality that happens to be worse on within-1 by more than a point, as 80 cells are.
    w1 = _figures(served)["top1_agreement"]
    same = next(r for r in (_rows(80, s) for s in range(1, 100)) if w1 - _figures(r)["top1_agreement"] > 1.0)
    assert all(g["passed"] for g in _metric_gates(same, served).values())
    # The 1-point rule alone (no noise allowance) holds the same refit back on within-1.
    assert not _metric_gates(same, served, noise_z=0.0)["top1_agreement"]["passed"]
    # A fifth of the cells 10 points worse: regret up ~2 points and within-1 down ~15 on the same cells.
    worse = _rows(80, 0, lose=0.2)
    judged = _metric_gates(worse, served)
    assert not judged["regret"]["passed"] and not judged["top1_agreement"]["passed"]
    assert "on the 80 cells both scored" in judged["regret"]["value"]
    assert "standard error" in judged["top1_agreement"]["value"]


def test_without_pairable_cells_the_headline_and_the_plain_tolerance_decide():
    served, new = _rows(80, 0), _rows(80, 1)
    rows = gates(_figures(new), _figures(served), 1, 1, 0, 0, CONFIG, headline_by_cell(new), None)
    within = next(g for g in rows if g["gate"].startswith("top1_agreement"))
    worse_by = _figures(served)["top1_agreement"] - _figures(new)["top1_agreement"]
    assert within["passed"] == (worse_by <= 1.0) and "no per-cell figures" in within["rule"]


def test_served_rows_that_do_not_reproduce_the_served_figures_are_not_used(tmp_path):
    rows = _rows(80, 0)
    (tmp_path / "calibration.json").write_text(json.dumps({"evaluation": {"rows": rows}}))
    figures = _figures(rows)
    assert _served_cells(tmp_path, figures) is not None
    assert _served_cells(tmp_path, {**figures, "regret": -100.0}) is None  # evaluation.json edited: headline only
    (tmp_path / "calibration.json").write_text("{not json")
    assert _served_cells(tmp_path, figures) is None


def test_noise_z_is_validated(tmp_path):
    raw = {"backbones": ["minilm"], "tasks": "all", "methods": "all", "sizes": [16], "seeds": [0]}
    for bad in (-1, "two", True, 9):
        path = tmp_path / "r.yaml"
        path.write_text(yaml.safe_dump({**raw, "gates": {"noise_z": bad}}))
        with pytest.raises(RefreshError, match="gates.noise_z"):
            load_config(path)
    path.write_text(yaml.safe_dump({**raw, "gates": {"noise_z": 2}}))
    assert load_config(path).noise_z == 2.0
