"""Hypothesis property tests over the whole profile space."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor import OPTIONS, ProfileError, ProjectProfile, recommend
from advisor.profile import BOOL_FIELDS, CHOICES
from advisor.costs import estimate_all
from advisor.rules import score_options
from advisor.table import load_table

WEIGHT_BASED = ("prompt_tuning", "prefix_tuning", "lora")

valid_profiles = st.fixed_dictionaries({
    "labeled_examples": st.integers(0, 200_000),
    "num_tasks": st.integers(1, 500),
    "model_params_b": st.floats(0.01, 500, allow_nan=False),
    "gpu_memory_gb": st.none() | st.floats(1, 2000),
    "budget_gpu_hours": st.none() | st.floats(0, 1e4),
    "num_classes": st.integers(2, 200),
    "avg_input_tokens": st.integers(1, 4000),
    **{name: st.sampled_from(values) for name, values in CHOICES.items()},
    **{name: st.booleans() for name in BOOL_FIELDS},
})

anything = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**10), st.floats(allow_nan=True),
                     st.text(max_size=8), st.sampled_from(["low", "high", "weights", "simple", "fast"]))
any_profiles = st.dictionaries(st.sampled_from(list(ProjectProfile.__dataclass_fields__) + ["bogus"]), anything)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(any_profiles)
def test_any_input_gives_a_recommendation_or_the_typed_error(data):
    try:
        rec = recommend(data, with_counterfactuals=False)
    except ProfileError as err:
        assert err.problems and all(p.allowed for p in err.problems)
        return
    d = rec.to_dict()
    assert d["best"] in OPTIONS and rec.ranking[0].feasible
    assert sorted(r.option for r in rec.ranking) == sorted(OPTIONS)


def _score(profile, option):
    return recommend(profile, with_counterfactuals=False).option(option).score


@SETTINGS
@given(valid_profiles, st.integers(0, 200_000), st.integers(0, 200_000))
def test_more_data_never_lowers_trained_methods_relative_to_prompting(data, a, b):
    lo, hi = sorted((a, b))
    small, large = recommend({**data, "labeled_examples": lo}), recommend({**data, "labeled_examples": hi})
    table = load_table()
    raw_small, raw_large = (score_options(r.profile, table, estimate_all(r.profile, table)) for r in (small, large))
    for option in ("lora", "full_finetuning"):
        # The table is additive in raw points (the 0-100 score is a sigmoid of it, which compresses gaps
        # near the ends): the raw gap to prompting never shrinks, so neither does the ordering.
        gap_small = raw_small[option].raw - raw_small["prompt_engineering"].raw
        gap_large = raw_large[option].raw - raw_large["prompt_engineering"].raw
        if small.option(option).feasible:  # with 0 labels the option is infeasible: no gap to compare
            assert gap_large >= gap_small - 1e-9
        if small.option(option).score > small.option("prompt_engineering").score:
            assert large.option(option).score > large.option("prompt_engineering").score
        # ...and more data never makes a trained method infeasible.
        assert large.option(option).feasible or not small.option(option).feasible


@SETTINGS
@given(valid_profiles)
def test_lower_compute_never_raises_full_finetuning(data):
    levels = CHOICES["compute"]
    recs = [recommend({**data, "compute": c}, with_counterfactuals=False).option("full_finetuning") for c in levels]
    for lower, higher in zip(recs, recs[1:]):
        assert lower.score <= higher.score + 1e-9
        assert higher.feasible or not lower.feasible


@SETTINGS
@given(valid_profiles)
def test_api_only_never_ranks_a_weight_based_option_feasible(data):
    rec = recommend({**data, "model_access": "api_only"}, with_counterfactuals=False)
    assert rec.best == "prompt_engineering"
    assert not any(rec.option(o).feasible for o in (*WEIGHT_BASED, "full_finetuning"))


@SETTINGS
@given(valid_profiles)
def test_recommend_is_deterministic(data):
    assert recommend(data).to_dict() == recommend(data).to_dict()
