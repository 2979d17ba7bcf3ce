import os

# Never reach a model hub from tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Tiny test models run fastest on one thread, and one thread never oversubscribes a
# 2-core machine that is also running a benchmark.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Rule and property tests describe the decision table: keep them rules-only by default
# (no served calibration artifact). Calibration tests pass their own artifact.
os.environ.setdefault("TUNING_ADVISOR_RESULTS", os.path.join(os.path.dirname(__file__), "artifacts", "no-results"))
os.environ.setdefault("TUNING_ADVISOR_CALIBRATION", os.path.join(os.path.dirname(__file__), "artifacts", "no-calibration"))

# Property tests: 150 examples each by default; HYPOTHESIS_PROFILE=thorough runs 10,000.
from hypothesis import settings as _settings  # noqa: E402

_settings.register_profile("default", max_examples=150)
_settings.register_profile("thorough", max_examples=10_000)
_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


# One first refresh (36 tiny-bert runs and a calibration fit, ~40 s) for the whole session; each test that starts
# from a refreshed folder gets its own relocated copy (tests/bench_helpers.relocate), so tests never share state.
import json as _json  # noqa: E402

import pytest as _pytest  # noqa: E402


@_pytest.fixture(scope="session")
def refresh_template(tmp_path_factory):
    from bench_helpers import refresh_config, run_refresh

    root = tmp_path_factory.mktemp("refresh-template")
    rec = run_refresh(refresh_config(root), root)
    assert rec["promoted"], rec["gates"]
    return root, rec


@_pytest.fixture()
def refreshed(refresh_template, tmp_path):
    """(config path, the first refresh's record) for a copy of the session's refreshed folder in tmp_path."""
    from bench_helpers import relocate

    root, rec = refresh_template
    relocate(root, tmp_path)
    rec = _json.loads(_json.dumps(rec, default=str).replace(str(root), str(tmp_path)))
    return tmp_path / "refresh.yaml", rec
