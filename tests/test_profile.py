import json

import pytest

from advisor import ProfileError, ProjectProfile
from advisor.profile import CHOICES


def test_defaults_are_valid_and_documented():
    p = ProjectProfile()
    assert p.labeled_examples == 500 and p.model_access == "weights"


def test_round_trip_json_and_yaml():
    p = ProjectProfile(labeled_examples=42, compute="high", gpu_memory_gb=24.0, preserve_capabilities=True)
    assert ProjectProfile.from_json(p.to_json()) == p
    assert ProjectProfile.from_yaml(p.to_yaml()) == p
    assert json.loads(p.to_json())["labeled_examples"] == 42


def test_coercion_of_strings_from_cli_and_forms():
    p = ProjectProfile.from_dict({"labeled_examples": "1_000", "compute": " High ", "long_term": "no",
                                  "model_params_b": "7"})
    assert (p.labeled_examples, p.compute, p.long_term, p.model_params_b) == (1000, "high", False, 7.0)


def test_one_error_names_every_bad_field():
    with pytest.raises(ProfileError) as info:
        ProjectProfile.from_dict({"labeled_examples": -1, "compute": "huge", "model_params_b": 0,
                                  "num_tasks": 0, "colour": "red", "interpretability": "maybe"})
    fields = {p.field for p in info.value.problems}
    assert fields == {"labeled_examples", "compute", "model_params_b", "num_tasks", "colour", "interpretability"}
    msg = str(info.value)
    assert "compute='huge' (allowed: minimal | low | medium | high)" in msg
    assert "labeled_examples=-1 (allowed: integer 0..1000000000)" in msg
    assert "model_params_b=0 (allowed: number > 0" in msg


@pytest.mark.parametrize("field,bad", [("labeled_examples", True), ("labeled_examples", 1.5),
                                       ("gpu_memory_gb", -1), ("budget_gpu_hours", float("nan")),
                                       ("num_classes", 1)])
def test_rejects_wrong_types_and_ranges(field, bad):
    with pytest.raises(ProfileError) as info:
        ProjectProfile.from_dict({field: bad})
    assert info.value.problems[0].field == field


def test_optional_fields_accept_null():
    assert ProjectProfile.from_dict({"gpu_memory_gb": None}).gpu_memory_gb is None


def test_bad_files_give_typed_errors(tmp_path):
    with pytest.raises(ProfileError, match="readable"):
        ProjectProfile.load(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ProfileError, match="valid JSON"):
        ProjectProfile.load(bad)
    with pytest.raises(ProfileError, match="mapping"):
        ProjectProfile.from_yaml("- a\n- b\n")


def test_every_choice_field_is_documented():
    from advisor.profile import HELP, field_names
    assert set(field_names()) == set(HELP)
    assert set(CHOICES) <= set(field_names())


def test_an_api_model_may_have_an_unknown_size_but_open_weights_may_not():
    from advisor.profile import ASSUMED_UNKNOWN_PARAMS_B

    p = ProjectProfile(model_access="api_only", model_params_b=None)
    assert p.model_params_b is None and p.params_b == ASSUMED_UNKNOWN_PARAMS_B and not p.size_known
    assert ProjectProfile.from_yaml(p.to_yaml()) == p  # the unknown size survives a save and a load
    assert ProjectProfile.from_dict({"model_access": "api_with_finetuning", "model_params_b": " "}).model_params_b is None
    with pytest.raises(ProfileError, match="required with model_access=weights"):
        ProjectProfile(model_params_b=None)
    named = ProjectProfile(model="Llama-3.1-8B", model_params_b=None)  # a named model gives its own size
    assert named.model_params_b == pytest.approx(8.03, rel=0.01)


def test_a_gpu_memory_without_a_compute_level_sets_the_level_of_that_gpu():
    """An 80 GB GPU is a datacenter GPU (compute medium: 150 TFLOP/s, no 'one consumer GPU' rule), not the default
    'low'; a stated level always wins, and a GPU never means a laptop's CPU."""
    from advisor.profile import compute_for_gpu

    assert ProjectProfile.from_dict({"gpu_memory_gb": 80}).compute == "medium"
    assert ProjectProfile.from_dict({"gpu_memory_gb": 24}).compute == "low"
    assert ProjectProfile.from_dict({"gpu_memory_gb": 8}).compute == "low"
    assert ProjectProfile.from_dict({"gpu_memory_gb": 141}).compute == "medium"  # one H200: still one GPU
    assert ProjectProfile.from_dict({"gpu_memory_gb": 80, "num_gpus": 4}).compute == "high"
    assert ProjectProfile.from_dict({"gpu_memory_gb": 80, "compute": "low"}).compute == "low"
    assert ProjectProfile.from_dict({"gpu_memory_gb": 80, "model_access": "api_only"}).compute == "low"
    assert ProjectProfile.from_dict({}).compute == "low"
    assert compute_for_gpu(16) != "minimal"


def test_the_profiles_gpu_levels_are_the_tables():
    """compute_for_gpu's boundaries restate the decision table's levels (the profile layer cannot import it)."""
    from advisor.profile import CONSUMER_GPU_MAX_GB, compute_for_gpu
    from advisor.table import load_table

    t = load_table()
    assert t.compute_memory_gb["low"] == CONSUMER_GPU_MAX_GB < t.compute_memory_gb["medium"]
    assert t.compute_gpus["low"] == t.compute_gpus["medium"] == 1 < t.compute_gpus["high"]
    for level in ("low", "medium", "high"):  # each level's own GPU maps back to it
        assert compute_for_gpu(t.compute_memory_gb[level], t.compute_gpus[level]) == level


def test_an_api_model_without_a_size_is_of_unknown_size_not_the_default_1b():
    # A review: `advisor recommend --model-access api_with_finetuning` said "moved to your 1B model".
    p = ProjectProfile.from_dict({"labeled_examples": 2000, "model_access": "api_with_finetuning"})
    assert not p.size_known and p.params_b == 1.0
    assert ProjectProfile.from_dict({"labeled_examples": 2000, "model_access": "api_only", "model_params_b": 70}).size_known
    assert ProjectProfile.from_dict({"labeled_examples": 2000}).size_known  # own weights: the default size stands


def test_a_decimal_comma_is_refused_and_other_libraries_numbers_are_numbers():
    # A review (2026-12-05): "1,5" $/GPU-hour was read as 15 (the comma dropped as a thousands separator), and
    # numpy's float32 / int64, Decimal and Fraction were refused with "allowed: number".
    import decimal
    import fractions

    import numpy as np

    for field, text in (("price_per_gpu_hour", "1,5"), ("labeled_examples", "1,5"), ("budget_gpu_hours", "2,50")):
        with pytest.raises(ProfileError, match=f"{field}=.*use '.' for decimals"):
            ProjectProfile.from_dict({field: text})
    assert ProjectProfile.from_dict({"labeled_examples": "8,000"}).labeled_examples == 8000
    assert ProjectProfile.from_dict({"price_per_gpu_hour": "1,234.5"}).price_per_gpu_hour == 1234.5
    for value, want in ((np.float32(1.5), 1.5), (decimal.Decimal("2.5"), 2.5), (fractions.Fraction(3, 2), 1.5)):
        assert ProjectProfile.from_dict({"price_per_gpu_hour": value}).price_per_gpu_hour == want
    assert ProjectProfile.from_dict({"labeled_examples": np.int64(500)}).labeled_examples == 500
    assert str(ProjectProfile.from_dict({"price_per_gpu_hour": -0.0}).price_per_gpu_hour) == "0.0"
    with pytest.raises(ProfileError, match="price_per_gpu_hour"):
        ProjectProfile.from_dict({"price_per_gpu_hour": decimal.Decimal("NaN")})
