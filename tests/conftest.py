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
