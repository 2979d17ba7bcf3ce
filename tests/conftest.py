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

# derandomize: CI runs the same 150 examples every time, so a red build means the change, not the draw; the
# thorough profile keeps searching at random (it found the open more-data cases noted on issue 20).
_settings.register_profile("default", max_examples=150, derandomize=True)
_settings.register_profile("thorough", max_examples=10_000)
_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


# One first refresh (36 tiny-bert runs and a calibration fit, ~40 s) for the whole session; each test that starts
# from a refreshed folder gets its own relocated copy (tests/bench_helpers.relocate), so tests never share state.
import json as _json  # noqa: E402

import pytest as _pytest  # noqa: E402


def _shared_once(tmp_path_factory, name: str, build) -> "Path":
    """A folder built once per test session, also across pytest-xdist workers (`make test` runs files in parallel):
    the first worker builds it under a file lock, the others wait and reuse it. Fixtures that took 40-140 s each
    (a refresh, a calibration fit on the committed store) were paid once per worker and file before."""
    import fcntl
    from pathlib import Path

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by this session's workers only (pytest-N/popen-gwK -> pytest-N)
    folder, done = Path(base) / f"shared-{name}", Path(base) / f"shared-{name}.done"
    with open(Path(base) / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            import shutil

            shutil.rmtree(folder, ignore_errors=True)  # a worker that died mid-build left a partial folder
            folder.mkdir(parents=True)
            build(folder)
            done.touch()
    return folder


@_pytest.fixture(scope="session")
def refresh_template(tmp_path_factory):
    from bench_helpers import refresh_config, run_refresh

    def build(root):
        rec = run_refresh(refresh_config(root), root)
        assert rec["promoted"], rec["gates"]
        (root / "first-refresh.json").write_text(_json.dumps(rec, default=str))

    root = _shared_once(tmp_path_factory, "refresh", build)
    return root, _json.loads((root / "first-refresh.json").read_text())


@_pytest.fixture(scope="session")
def store_artifact(tmp_path_factory):
    """The calibration artifact fitted on the committed store and the published rows (what `advisor calibrate`
    writes), as plain JSON data; None without committed results."""
    from pathlib import Path

    def build(folder):
        from advisor.calibration import build_artifact
        from advisor.published import load_evidence
        from bench.results import load

        df = load(Path(__file__).resolve().parent.parent / "data" / "results", include_failed=False)
        art = build_artifact(df, load_evidence()) if not df.empty and df.task.nunique() >= 4 else None
        (folder / "artifact.json").write_text(_json.dumps(art, default=float))

    return _json.loads((_shared_once(tmp_path_factory, "store-artifact", build) / "artifact.json").read_text())


@_pytest.fixture()
def refreshed(refresh_template, tmp_path):
    """(config path, the first refresh's record) for a copy of the session's refreshed folder in tmp_path."""
    from bench_helpers import relocate

    root, rec = refresh_template
    relocate(root, tmp_path)
    rec = _json.loads(_json.dumps(rec, default=str).replace(str(root), str(tmp_path)))
    return tmp_path / "refresh.yaml", rec
