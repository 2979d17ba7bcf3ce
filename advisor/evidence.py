"""The measured evidence as the app's Evidence page browses it: the live result store through the one results view.

Answers cite the *served* calibration's evidence index (advisor.artifact.nearest_cells); this module is for
browsing everything measured so far, including runs newer than the served calibration (the page says which).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def results_dir() -> Path:
    """$TUNING_ADVISOR_RESULTS, else the repository's data/results."""
    from bench.results import DEFAULT_RESULTS_DIR

    return Path(os.environ.get("TUNING_ADVISOR_RESULTS", DEFAULT_RESULTS_DIR))


def load_results(path: str | Path | None = None) -> Any:
    """Successful runs (bench.results.runs_view: each scored by its task's metric); empty when there are none."""
    from bench.results import load, runs_view

    return runs_view(load(path or results_dir(), include_failed=False))


def learning_curves(runs: Any) -> Any:
    """Per (backbone, task, method, train size): mean score over seeds, train time, storage, seeds (charts)."""
    from bench.results import cells_view

    return runs if runs.empty else cells_view(runs)
