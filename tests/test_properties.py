"""Hypothesis property tests over the whole profile space, on the rules-only path *and* the calibrated path.

`HYPOTHESIS_PROFILE=thorough` (tests/conftest.py) runs 10,000 examples per property instead of the default 150.
"""

import functools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from advisor import OPTIONS, ProfileError, ProjectProfile, recommend
from advisor.options import LABELS
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

# Numbers across the whole range: huge integers (10**400 overflows a float), infinities, NaN, subnormals.
anything = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**10), st.integers(-10**400, 10**400),
                     st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
                     st.sampled_from(["low", "high", "weights", "simple", "fast", "1e999", "-0", "1_000", "8,000"]))
any_profiles = st.dictionaries(st.sampled_from(list(ProjectProfile.__dataclass_fields__) + ["bogus"]), anything)

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@functools.lru_cache(maxsize=1)
def _calibration(artifact_json: str):
    """The calibration fitted on the committed runs without its size model (the task model alone: the properties
    must hold there too; with the size model and published rows, see the "served" case). The task models do not
    depend on the published rows, so this is the session's fitted artifact (tests/conftest.py) minus `scaling`."""
    import json

    from advisor.artifact import ServedCalibration

    art = json.loads(artifact_json)
    return ServedCalibration({k: v for k, v in art.items() if k != "scaling"}) if art else None


@functools.lru_cache(maxsize=1)
def _served():
    """The repository's promoted artifact (conftest points the advisor at no calibration by default)."""
    from advisor.artifact import CAL_ROOT, load_served

    try:
        name = (CAL_ROOT / "SERVED").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return load_served(CAL_ROOT / name / "calibration.json")


@pytest.fixture(params=["rules-only", "calibrated", "served"])
def cal(request):
    if request.param == "rules-only":
        return None
    if request.param == "served":  # the promoted artifact, size model and published rows included
        c = _served()
        if c is None:
            pytest.skip("no served calibration")
        return c
    import json

    c = _calibration(json.dumps(request.getfixturevalue("store_artifact")))
    if c is None:
        pytest.skip("needs the committed benchmark results")
    return c


@SETTINGS
@given(any_profiles)
def test_any_input_gives_a_recommendation_or_the_typed_error(cal, data):
    try:
        rec = recommend(data, with_counterfactuals=False, calibration=cal)
    except ProfileError as err:
        assert err.problems and all(p.allowed for p in err.problems)
        return
    d = rec.to_dict()
    # Nothing may be feasible (a 70B model on a 16 GB laptop cannot even serve a prompt): then the answer says so.
    assert d["best"] in OPTIONS and (rec.ranking[0].feasible or d["summary"].startswith("No option is feasible"))
    assert sorted(r.option for r in rec.ranking) == sorted(OPTIONS)


@SETTINGS
@given(valid_profiles, st.integers(0, 200_000), st.integers(0, 200_000))
def test_more_data_never_lowers_trained_methods_relative_to_prompting(cal, data, a, b):
    lo, hi = sorted((a, b))
    small = recommend({**data, "labeled_examples": lo}, calibration=cal)
    large = recommend({**data, "labeled_examples": hi}, calibration=cal)
    table = load_table()
    raw_small, raw_large = (score_options(r.profile, table, estimate_all(r.profile, table)) for r in (small, large))
    for option in ("lora", "full_finetuning"):
        # The table is additive in raw points (the 0-100 score is a sigmoid of it, which compresses gaps
        # near the ends): the raw gap to prompting never shrinks, so neither does the ordering.
        gap_small = raw_small[option].raw - raw_small["prompt_engineering"].raw
        gap_large = raw_large[option].raw - raw_large["prompt_engineering"].raw
        if small.option(option).feasible:  # with 0 labels the option is infeasible: no gap to compare
            assert gap_large >= gap_small - 1e-9
        # The ordering the user sees: a trained option ranked above prompting stays above it with more data. (An
        # option infeasible at the smaller size — no labels yet, or nothing fits the memory — ranks only among the
        # blocked ones, by the table's score: "least blocked", not a choice; a Hypothesis case with 0 -> 1 labels on
        # a 1 GB GPU, where every option is blocked, compared those.)
        # The same options must be feasible at both sizes: an option that becomes feasible with more data (prefix
        # tuning from 32 examples) can take the top and re-base every gap — then a trained option measurably below it
        # may rank under a prompting estimate too uncertain to be counted below it (a generation task on 1B, 11 -> 92
        # examples). That is the precision-weighted rule working, not more data hurting the trained option; a rule
        # that counted every option at least as low as any it is expected below ("uncertainty never rewards") fixed
        # that case but penalised prompting in issue 20's 40-examples laptop case, and was reverted.
        # Likewise when more data moves the measured top to another option (a pair-input generation task on 0.5B,
        # 32 -> 132 examples: prefix tuning overtakes LoRA, LoRA is counted 5.3 points below it beyond its ±2.9
        # margin, prompting 9.7 below but within its wider one): the gaps are re-based on the new top. Known and
        # noted on issue 20; changing it changes the decision rule the evaluation selected.
        same_top = (small.to_dict().get("decision") or {}).get("top") == (large.to_dict().get("decision") or {}).get("top")
        # Below our smallest backbone of the task's kind (classification: MiniLM, 23M; generation: SmolLM2-135M) the
        # trained options extrapolate to the floor (chance, or 0 for generation) and the order among options held
        # there is noise: a 10M generation model, 100 -> 149 examples, 64.0 vs 64.2; a 10M classifier, 11 -> 39
        # pair-input examples, every trained option at 0.500 while prompting moves 0.511 -> 0.528. Users adapt
        # 1-70B models.
        realistic = data["model_params_b"] >= (0.1 if data["task_kind"] == "generation" else 0.02)
        same_options = realistic and same_top and all(small.option(o).feasible == large.option(o).feasible
                                                      for o in OPTIONS)
        # ...and where the option did not fall because the top, a trained option, pulled measurably further ahead of
        # it: on a 4B model with 32 -> 37 pair-input examples LoRA leads full fine-tuning by 1.8 points, beyond its
        # ±1.4 margin, and full fine-tuning loses 6.8 points, slipping under prompting (3.7 points below it, within
        # its ±21 margin: the table scores it). Who leads is unchanged — more data made the trained top's lead
        # countable; the pick is checked below without this exclusion.
        decisions = [r.to_dict().get("decision") or {} for r in (small, large)]
        penalty = [(d.get("penalty_points") or {}).get(option, 0.0) for d in decisions]
        pulled_ahead = penalty[1] > penalty[0] + 1e-9 and decisions[1].get("top") in WEIGHT_BASED + ("full_finetuning",)
        if same_options and not pulled_ahead and small.option(option).feasible and \
                small.option(option).rank < small.option("prompt_engineering").rank:
            assert large.option(option).rank < large.option("prompt_engineering").rank, (lo, hi)
        # ...and more data never makes a trained method infeasible.
        assert large.option(option).feasible or not small.option(option).feasible
    # The pick: where a trained method is recommended, more data never makes prompting the recommendation (with
    # the same options feasible: with 0 labels nothing trains).
    if realistic and all(small.option(o).feasible == large.option(o).feasible for o in OPTIONS) and \
            small.ranking[0].feasible and small.best != "prompt_engineering":
        assert large.best != "prompt_engineering", (lo, hi, small.best)


@SETTINGS
@given(valid_profiles)
def test_lower_compute_never_raises_full_finetuning(cal, data):
    levels = CHOICES["compute"]
    recs = [recommend({**data, "compute": c}, with_counterfactuals=False, calibration=cal).option("full_finetuning")
            for c in levels]
    for lower, higher in zip(recs, recs[1:]):
        # Full fine-tuning needs the most memory: where it is feasible, so is every option, so both levels judge
        # it against the same feasible set, and only the table's (monotone) compute rules move its score.
        if lower.feasible:
            assert lower.score <= higher.score + 1e-9
        assert higher.feasible or not lower.feasible


@SETTINGS
@given(valid_profiles)
def test_api_only_never_ranks_a_weight_based_option_feasible(cal, data):
    rec = recommend({**data, "model_access": "api_only"}, with_counterfactuals=False, calibration=cal)
    assert rec.best == "prompt_engineering"
    assert not any(rec.option(o).feasible for o in (*WEIGHT_BASED, "full_finetuning"))


@SETTINGS
@given(valid_profiles)
def test_recommend_is_deterministic(cal, data):
    assert recommend(data, calibration=cal).to_dict() == recommend(data, calibration=cal).to_dict()


# ---- issue 20: answers a practitioner who knows the literature would sign

@SETTINGS
@given(valid_profiles, st.integers(1, 10))
def test_a_handful_of_examples_never_picks_a_trained_method(cal, data, n):
    rec = recommend({**data, "labeled_examples": n}, with_counterfactuals=False, calibration=cal)
    if rec.option("prompt_engineering").feasible:
        assert rec.best == "prompt_engineering", rec.summary()


@SETTINGS
@given(valid_profiles)
def test_full_finetuning_is_never_the_pick_below_four_examples_per_class(cal, data):
    n = max(1, min(data["labeled_examples"], 4 * data["num_classes"] - 1))
    rec = recommend({**data, "labeled_examples": n, "task_kind": "classification"}, with_counterfactuals=False,
                    calibration=cal)
    assert not rec.option("full_finetuning").feasible
    if any(r.feasible for r in rec.ranking):  # else nothing is recommended: the answer names the least blocked
        assert rec.best != "full_finetuning"


@SETTINGS
@given(valid_profiles)
def test_fewer_examples_than_classes_never_picks_a_trained_method(cal, data):
    # A class missing from training cannot be predicted by a head or soft prompt learned from these rows (measured
    # here: every trained method at n = 16 on clinc150 and banking77 stays near chance; prompting names the labels).
    n = max(1, min(data["labeled_examples"], data["num_classes"] - 1))
    rec = recommend({**data, "labeled_examples": n, "task_kind": "classification"}, with_counterfactuals=False,
                    calibration=cal)
    assert not any(rec.option(o).feasible for o in ("prompt_tuning", "prefix_tuning", "lora", "full_finetuning"))
    if rec.option("prompt_engineering").feasible:
        assert rec.best == "prompt_engineering", rec.summary()


@SETTINGS
@given(valid_profiles)
def test_the_per_class_minimums_count_the_rows_trained_on_and_only_for_classification(cal, data):
    # What the recipe trains on is the user's examples less its validation split (advisor.costs.training_rows):
    # 100 examples in 100 classes train on 50, and a generation task has no label set to count.
    from advisor.costs import training_rows

    k = data["num_classes"]
    ids = ("data.per_class_trained", "data.per_class_full_ft")
    for n in (k, 2 * k - 1, 2 * k, 6 * k):
        # No budget: what a budget pays for is its own check (rules.OverBudget), with the same minimums.
        p = {**data, "labeled_examples": n, "task_kind": "classification", "budget_gpu_hours": None}
        rec = recommend(p, with_counterfactuals=False, calibration=cal)
        rows = training_rows(ProjectProfile.from_dict(p))
        blocked = {c for o in ("lora", "full_finetuning") for c in ids
                   if any(c in r for r in rec.option(o).infeasible_reasons)}
        assert ("data.per_class_trained" in blocked) == (rows < k), (n, k, rows, blocked)
        assert ("data.per_class_full_ft" in blocked) == (rows < 4 * k), (n, k, rows, blocked)
        gen = recommend({**p, "task_kind": "generation"}, with_counterfactuals=False, calibration=cal)
        assert not any(c in r for o in OPTIONS for c in ids for r in gen.option(o).infeasible_reasons)


# A thorough run's counterexample: prompting at 1.0 on a 0.25B model (within 2x of SmolLM2-135M, where the cap is 1)
# and 0.98 on a 1B one (the cap beyond what we measured) — advisor.artifact.ServedCalibration._ceilings.
_CAPPED = {"labeled_examples": 8, "num_tasks": 1, "model_params_b": 1.0, "gpu_memory_gb": None,
           "budget_gpu_hours": None, "num_classes": 3, "avg_input_tokens": 1, "task_complexity": "simple",
           "compute": "high", "accuracy_goal": "high", "overfitting_risk": "medium", "domain_shift": "none",
           "iteration_speed": "fast", "model_access": "weights", "ml_expertise": "none",
           "task_kind": "classification", "precision": "fp32", "sharding": "zero3", "preserve_capabilities": True,
           "long_term": False, "interpretability": True, "data_governance": False, "pair_input": False}


@SETTINGS
@given(valid_profiles, st.floats(0.135, 500), st.floats(0.135, 500))
@example(_CAPPED, 0.25, 1.0)
def test_a_larger_model_never_lowers_prompting(cal, data, a, b):
    """From the largest measured backbone (SmolLM2-135M) up — where users are, 1-70B. Below it our two backbones
    differ in architecture as well as size (MiniLM's "prompting" is label-embedding similarity), so the measured
    range carries no size law to hold monotone."""
    if cal is None:
        return  # rules-only: no expected accuracies (the table's size rules are checked in test_rules)
    lo, hi = sorted((a, b))
    data = {**data, "labeled_examples": max(1, data["labeled_examples"])}
    small = cal.expected(ProjectProfile.from_dict({**data, "model_params_b": lo}))["prompt_engineering"]
    large = cal.expected(ProjectProfile.from_dict({**data, "model_params_b": hi}))["prompt_engineering"]
    assert large["point"] >= small["point"] - 1e-6, (lo, hi, small["point"], large["point"])


@SETTINGS
@given(valid_profiles)
def test_scores_tie_box_and_reasons_tell_one_story(cal, data):
    rec = recommend(data, with_counterfactuals=False, calibration=cal)
    d = rec.to_dict()
    best = rec.ranking[0]
    tied = (d.get("decision") or {}).get("tied") or []
    for o in tied:
        # Tied on the measured part: the scores differ only by the decision table, which ranked the pick first.
        r = rec.option(o)
        assert abs((best.score - r.score) - (best.rules_score - r.rules_score)) < 1e-6
        assert best.rules_score >= r.rules_score - 1e-9
    # Next to our measurements the selected rule counts a predicted difference in full (margin 0); the answer must
    # not turn that into a "±0.0-point uncertainty": the evaluation's error of a difference is said instead.
    texts = [(d.get("decision") or {}).get("why") or ""] + [x.rationale for r in rec.ranking for x in r.reasons]
    assert not any("±0.0" in t for t in texts), [t for t in texts if "±0.0" in t]
    # The factors named as driving the pick favour it over the runner-up.
    feasible = [r for r in rec.ranking if r.feasible]
    if len(feasible) >= 2:
        for f in rec.deciding_factors():
            mine = sum(x.contribution for x in feasible[0].reasons if x.factor == f)
            theirs = sum(x.contribution for x in feasible[1].reasons if x.factor == f)
            assert mine > theirs


@SETTINGS
@given(valid_profiles)
def test_with_nothing_feasible_the_least_blocked_option_leads(cal, data):
    rec = recommend(data, with_counterfactuals=False, calibration=cal)
    if any(r.feasible for r in rec.ranking):
        return
    counts = [len(r.infeasible_reasons) for r in rec.ranking]
    assert counts == sorted(counts), [(r.option, n) for r, n in zip(rec.ranking, counts)]
    decision = rec.to_dict().get("decision")
    if decision and decision["decided_by"] != "rules":
        assert decision["decided_by"] == "blocked" and "nothing was decided" in decision["why"]
        assert "The measured part decided" not in decision["why"]


def test_one_example_on_a_173b_model_and_a_16gb_card(cal):
    """Hypothesis found it: LoRA (blocked by memory and by the handful of examples) led the infeasible ranking as
    "least blocked" over prompt engineering (memory only), and the why said "beyond the ±0.0-point uncertainty"."""
    data = {"labeled_examples": 1, "model_params_b": 173.0, "num_classes": 2, "avg_input_tokens": 1,
            "compute": "minimal", "ml_expertise": "none", "accuracy_goal": "acceptable"}
    rec = recommend(data, with_counterfactuals=False, calibration=cal)
    assert not any(r.feasible for r in rec.ranking)
    assert rec.best == "prompt_engineering" and "least blocked: prompt engineering" in rec.summary()
    texts = [(rec.to_dict().get("decision") or {}).get("why") or ""] + [x.rationale for r in rec.ranking
                                                                       for x in r.reasons]
    assert not any("±0.0" in t for t in texts)


def test_with_nothing_feasible_the_counterfactuals_say_what_makes_something_feasible(cal):
    """A 70B model on a laptop: 'with accuracy goal = acceptable, prefix tuning would overtake LoRA' reordered two
    blocked options; what helps is the change that makes one feasible (a smaller model)."""
    rec = recommend({"labeled_examples": 1000, "model_params_b": 70, "compute": "minimal"}, calibration=cal)
    assert not any(r.feasible for r in rec.ranking)
    assert rec.counterfactuals and all("would become feasible and be recommended" in c or "makes any option feasible"
                                       in c for c in rec.counterfactuals), rec.counterfactuals
    smaller = [c for c in rec.counterfactuals if "smaller model" in c]
    assert smaller, rec.counterfactuals
    import re

    # "(Qwen2.5-14B-Instruct, 14.7B instead of 70B)": a real model near the factor, named, or a bare size.
    m = re.search(r"\((?:([^,()]+), )?([\d.]+)B instead", smaller[0])
    there = recommend({"labeled_examples": 1000, "compute": "minimal",
                       **({"model": m.group(1)} if m.group(1) else {"model_params_b": float(m.group(2))})},
                      with_counterfactuals=False, calibration=cal)
    assert there.ranking[0].feasible and f"{LABELS[there.best]} would become feasible" in smaller[0]


def test_a_margin_that_rounds_to_zero_is_said_as_the_evaluations_error():
    from advisor.recommend import _beyond, _uncertainty

    assert "±0.0" not in _beyond(4e-4, 0.096) and "9.6 points" in _beyond(4e-4, 0.096)
    assert "±0.0" not in _uncertainty(4e-4, 0.096) and "9.6 points" in _uncertainty(4e-4, 0.096)
    assert "±1.0-point" in _beyond(0.01, 0.096) and "±1.0 points" in _uncertainty(0.01, 0.096)


def test_the_laptop_example_says_the_evaluations_error_not_zero(cal):
    if cal is None:
        return
    rec = recommend(ProjectProfile.load(Path(__file__).parent.parent / "data" / "examples" / "sentiment_laptop.yaml"),
                    with_counterfactuals=False, calibration=cal)
    texts = [rec.to_dict()["decision"]["why"]] + [x.rationale for r in rec.ranking for x in r.reasons]
    assert not any("±0.0" in t for t in texts)
    if any(rec.to_dict()["decision"]["margin_points"][o] == 0 for o in OPTIONS):
        assert any("counts the whole difference" in t or "counted in full" in t for t in texts)


@SETTINGS
@given(valid_profiles)
def test_the_compute_counterfactual_agrees_with_the_answer_at_that_level(cal, data):
    """'With compute = X, Y would overtake' must be what recommend() answers at X: the compute level sets the memory
    (and GPUs) available, and the search once priced its variants with the base level's memory (7 of 300 random
    profiles said a flip that did not happen, or missed one that did)."""
    rec = recommend(data, calibration=cal)
    if rec.profile.model_access != "weights":
        return
    levels = CHOICES["compute"]
    i = levels.index(rec.profile.compute)
    said = [c for c in rec.counterfactuals if c.startswith("With compute = ")]
    ok = rec.ranking[0].feasible
    for j in (i + 1, i - 1):
        if 0 <= j < len(levels):
            there = recommend({**data, "compute": levels[j]}, with_counterfactuals=False, calibration=cal)
            # A change: another feasible pick, nothing feasible any more, or (with nothing feasible now) something
            # feasible there; a reordering of blocked options is none.
            if (ok and (there.best != rec.best or not there.ranking[0].feasible)) or (not ok and
                                                                                       there.ranking[0].feasible):
                assert said and said[0].startswith(f"With compute = {levels[j]} instead"), (said, levels[j])
                if there.ranking[0].feasible:
                    assert f"{LABELS[there.best]} would" in said[0], (said, there.best)
                return
    assert not said, said


@SETTINGS
@given(valid_profiles)
@example({**_CAPPED, "labeled_examples": 0, "model_params_b": 8.0, "compute": "high"})  # "With 20 ... instead of none"
def test_the_examples_model_and_budget_counterfactuals_come_true(cal, data):
    """'With 4x more labeled examples (N instead of M), X would overtake Y' and 'With a 3x larger model (...)' must be
    what recommend() answers for that profile — with a GPU-hour budget too, where each option trains on what the
    budget pays for (the same count for every number of examples, but another one for another model)."""
    import re

    rec = recommend(data, calibration=cal)
    for sentence in rec.counterfactuals:
        if not rec.ranking[0].feasible:
            return
        m = re.match(r"With \S+ (?:more|fewer) labeled examples \(([\d,]+) instead", sentence) or \
            re.match(r"With ([\d,]+) labeled examples instead of none", sentence)
        size = re.match(r"With a \S+ (?:larger|smaller) model \((?:([^,()]+), )?([\d.]+)(M|B) instead", sentence)
        budget = re.match(r"With (\d+)x (more|less) GPU-hour budget", sentence)
        if budget:
            f = int(budget.group(1))
            there = {**data, "budget_gpu_hours": data["budget_gpu_hours"] * (f if budget.group(2) == "more" else 1 / f)}
        elif m:
            there = {**data, "labeled_examples": int(m.group(1).replace(",", ""))}
        elif size and rec.profile.model_access == "weights" and size.group(1):
            # A real model near the factor (the catalog's): the profile with that model.
            from advisor.models import get_model

            there = {**data, "model": size.group(1), "model_params_b": get_model(size.group(1)).params_b,
                     "prompt_accuracy": None, "prompt_accuracy_n": None}
        elif size and rec.profile.model_access == "weights":
            b = float(size.group(2)) / (1000 if size.group(3) == "M" else 1)
            # The sentence rounds the size to 3 significant digits: ask for the size it computed.
            exact = [f * rec.profile.params_b for f in (3.0, 10.0, 1 / 3.0, 0.1)]
            there = {**data, "model_params_b": min(exact, key=lambda x: abs(x - b)), "model": None}
        else:
            continue
        other = recommend(there, with_counterfactuals=False, calibration=cal)
        if "would overtake" in sentence:
            assert other.ranking[0].feasible and sentence.startswith(sentence.split(",")[0]) and \
                f", {other.label(other.best)} would overtake" in sentence, (sentence, other.best)
        elif "no option would be feasible" in sentence:
            assert not other.ranking[0].feasible, sentence


def test_options_held_at_the_ceiling_are_level_not_plus_zero(cal):
    from advisor.artifact import UNMEASURED_CEILING
    from advisor.report import gap_line, ranking_rows, vs_column_name

    rec = recommend({"labeled_examples": 100_000, "model_params_b": 13, "compute": "high",
                     "accuracy_goal": "critical"}, with_counterfactuals=False, calibration=cal)
    line = gap_line(rec)
    if line is None:
        return
    capped = [r for r in rec.ranking if r.option != "full_finetuning" and r.expected_accuracy
              and r.expected_accuracy["point"] >= UNMEASURED_CEILING - 1e-9]
    if rec.option("full_finetuning").expected_accuracy["point"] >= UNMEASURED_CEILING - 1e-9 and capped:
        assert "level (both at the ceiling)" in line and "held at 0.98" in line
        rows = {row["option"]: row for row in ranking_rows(rec)}
        assert all(rows[rec.label(r.option)][vs_column_name(rec)].startswith("level")
                   for r in capped)
    assert "+0.0 points" not in line and "-0.0 points" not in line


@given(st.lists(st.floats(-2.0, 3.0), min_size=1, max_size=6), st.integers(0, 200), st.booleans())
def test_from_gain_inverts_to_gain_and_one_profiles_classes_take_the_array_path(gains, k, clip):
    """The answer's scalar fast path (one profile's number of classes) gives exactly what the array path gives, and
    a score's gain maps back to the score."""
    import numpy as np

    from advisor.features import chance, from_gain, to_gain

    g = np.asarray(gains)
    scalar, array = from_gain(g, k, clip=clip), from_gain(g, np.full(g.shape, float(k)), clip=clip)
    assert np.array_equal(scalar, array)
    if clip:
        assert ((scalar >= chance(k) - 1e-12) & (scalar <= 1.0 + 1e-12)).all()
    score = chance(k) + (1.0 - chance(k)) * np.clip(g, 0.0, 1.0)
    assert np.allclose(from_gain(to_gain(score, k), k), score)


@SETTINGS
@given(valid_profiles)
def test_an_answer_through_a_providers_fine_tuning_api_names_it_one_way(cal, data):
    """A review: the headline said "the provider's fine-tuning API" while the same answer's decision text, reasons,
    difference line and counterfactuals said "full fine-tuning". One name per answer (advisor.options.labels_for);
    "full fine-tuning" stays only for what the evidence measured ("compared with full fine-tuning") and in the
    decision table's general rationales."""
    import re

    from advisor.report import gap_line, tie_sentence

    from advisor.report import basis_lines, ranking_rows

    rec = recommend({**data, "model_access": "api_with_finetuning"}, calibration=cal)
    rows = ranking_rows(rec)
    texts = [gap_line(rec) or "", tie_sentence(rec) or "", rec.summary(), *rec.counterfactuals, *rec.caveats,
             *basis_lines(rec), *[str(k) for k in rows[0]], *[str(v) for row in rows for v in row.values()],
             *[x.rationale for r in rec.ranking for x in r.reasons if x.factor == "expected_accuracy"]]
    # The decision table's own texts (reasons an option is blocked, its rules' rationales) speak of methods in general.
    table = [why for r in rec.ranking for why in (*r.infeasible_reasons, r.why_not_feasible or "") if why] + \
        [x.rationale for r in rec.ranking for x in r.reasons if x.factor != "expected_accuracy"]
    for t in texts:
        for general in table:
            t = t.replace(general.rstrip("."), "")
        rest = re.sub(r"compared with full\s+fine-tuning|scored as full fine-tuning", "", t, flags=re.IGNORECASE)
        assert "full fine-tuning" not in rest.lower(), t


# A review's case: prompting above the 0.98 cap (its value at the edge of what we measured) beside options held there.
_EDGE = {"labeled_examples": 200, "num_classes": 2, "zero_shot_accuracy": 0.99, "probe_accuracy": 0.99,
         "model_params_b": 1, "compute": "high", "task_complexity": "simple"}


@SETTINGS
@given(valid_profiles)
@example({**_CAPPED, **_EDGE})
def test_the_cap_texts_agree_with_the_points_shown(cal, data):
    """Where we did not measure, the answer says options are held at 0.98 — except prompting, which keeps its value
    at the edge of what we measured (a larger model never prompts worse). The texts must say which is which: never
    "no option above 0.98" unqualified beside a point above it, never prompting "held at 0.98" when it is not, and
    no shown interval whose top reads below its point."""
    import re

    from advisor.artifact import UNMEASURED_CEILING
    from advisor.recommend import format_accuracy
    from advisor.report import basis_lines, gap_line

    rec = recommend(data, with_counterfactuals=False, calibration=cal)
    for r in rec.ranking:
        e = r.expected_accuracy
        if e:
            point, low, high = map(float, re.match(r"([\d.]+) \[([\d.]+)-([\d.]+)\]", format_accuracy(e)).groups())
            assert low <= point <= high, format_accuracy(e)
    above = [r for r in rec.ranking if r.expected_accuracy and r.expected_accuracy["point"] > UNMEASURED_CEILING + 1e-9
             and r.expected_accuracy["provenance"]["kind"] not in ("measured here", "measured on your data")]
    assert all(r.option == "prompt_engineering" for r in above)
    lines = " ".join(basis_lines(rec))
    if above and "a cap, not a prediction" in lines:
        assert "(prompting excepted, below)" in lines and "does not lower it" in lines
    held = re.search(r"\. ([^.]*?) (?:are|is) held at 0\.98", gap_line(rec) or "")
    if above and held:
        assert rec.label("prompt_engineering") not in held.group(1).split(" (")[0], gap_line(rec)


@pytest.mark.parametrize("extra", [
    {"task_kind": "generation", "compute": "minimal", "task_complexity": "complex", "accuracy_goal": "acceptable",
     "zero_shot_accuracy": 0.55, "probe_accuracy": 0.8},
    {"model_access": "api_with_finetuning", "task_kind": "generation", "zero_shot_accuracy": 0.55,
     "probe_accuracy": 0.8, "budget_gpu_hours": 0},
    {"model_params_b": 1, "task_complexity": "complex", "zero_shot_accuracy": 0.4, "probe_accuracy": 0.7},
    {"zero_shot_accuracy": 0.6},
    {},
])
def test_counterfactuals_from_no_examples_are_what_recommend_answers_there(cal, extra):
    """A review: with no examples and a measured probe, 'With 100 labeled examples instead of none, LoRA would
    overtake' while recommend() already picked LoRA at 20 — the probe was anchored at 1 example. Each count to label
    is now read as recommend() reads a profile with that many."""
    import re

    from advisor.recommend import _FROM_NONE

    data = {"labeled_examples": 0, "model_params_b": 8, **extra}
    rec = recommend(data, calibration=cal)
    said = [s for s in rec.counterfactuals if "instead of none" in s]
    picks = {m: recommend({**data, "labeled_examples": m}, with_counterfactuals=False, calibration=cal)
             for m in _FROM_NONE}
    if said:
        m = int(re.match(r"With ([\d,]+) labeled", said[0]).group(1).replace(",", ""))
        assert said[0].endswith(f"{picks[m].label(picks[m].best)} would overtake {rec.label(rec.best)}.") or \
            "would become feasible" in said[0], (said, picks[m].best)
        smaller = [x for x in _FROM_NONE if x < m]
    else:
        smaller = list(_FROM_NONE)
    for x in smaller:  # the smallest count that changes the pick is the one said
        if picks[x].ranking[0].feasible and rec.ranking[0].feasible:
            assert picks[x].best == rec.best, (x, picks[x].best, rec.best, rec.counterfactuals)
