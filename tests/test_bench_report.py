from typer.testing import CliRunner

from bench.cli import app

from bench_helpers import measured_results


def test_report_lists_cells_and_draws_charts(tmp_path):
    results = measured_results(tmp_path, methods=("linear_probe", "prompt_engineering", "lora"))
    res = CliRunner().invoke(app, ["report", "--results-dir", str(results)])
    assert res.exit_code == 0, res.output
    text = (results / "REPORT.md").read_text()
    assert "| tiny-bert | toy | lora | 16 (1), 32 (1) |" in text
    assert "## tiny-bert / toy" in text and "Overfitting gap and forgetting" in text
    # TINY_PROTOCOL's budget, read back from the runs' recorded config (linear probe + LoRA at two sizes).
    assert "| tiny-bert | 8 | 30 | 30 | 48 | 4 |" in text
    pngs = sorted(p.name for p in results.glob("*.png"))
    assert pngs == ["gap_forgetting.png", "tiny-bert__toy.png"]
    assert all((results / p).stat().st_size > 5000 for p in pngs)


def test_report_on_an_empty_folder(tmp_path):
    res = CliRunner().invoke(app, ["report", "--results-dir", str(tmp_path)])
    assert res.exit_code == 0 and "No successful runs yet" in (tmp_path / "REPORT.md").read_text()
    assert CliRunner().invoke(app, ["report", "--results-dir", str(tmp_path / "nope")]).exit_code == 2
