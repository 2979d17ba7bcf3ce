import pytest

from advisor import ProjectProfile, estimate, estimate_all
from advisor.costs import architecture


def test_architecture_matches_known_7b_shape():
    hidden, layers = architecture(7e9)
    assert 3500 < hidden < 4600 and 28 <= layers <= 36


def test_full_finetuning_follows_6nt_and_16_bytes_per_param():
    p = ProjectProfile(model_params_b=1.0, labeled_examples=1000, avg_input_tokens=95)
    ft = estimate(p, "full_finetuning")
    tokens = 1000 * 3 * 100
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


def _median_paired_rss_difference(backbone: str) -> float | None:
    """Median over runs of full fine-tuning's peak RSS minus LoRA's on the same task, n and seed (CPU only: on a GPU
    RSS misses the card). Paired, because inputs dominate the absolute RSS: SmolLM2's one CPU rte run (LoRA, long
    sentence pairs) peaks at 10.2 GB against 3.1-4.0 GB on en_fr_words, and an unpaired median of medians moved by
    it compares tasks, not methods."""
    from bench.results import iter_results

    by_run: dict[tuple, dict[str, float]] = {}
    for _, r in iter_results(RESULTS):
        if (r and r["status"] == "ok" and r["backbone"] == backbone and r["method"] in ("lora", "full_finetuning")
                and r.get("peak_rss_mb") and str(r.get("device", "cpu")).startswith("cpu")):
            by_run.setdefault((r["task"], r["train_size"], r["seed"]), {})[r["method"]] = r["peak_rss_mb"]
    diffs = [v["full_finetuning"] - v["lora"] for v in by_run.values() if len(v) == 2]
    return statistics.median(diffs) if diffs else None


@pytest.mark.parametrize("backbone", ["minilm", pytest.param("smollm2-135m", marks=pytest.mark.xfail(
    strict=True, reason="known gap, measured 2026-11-27 on SmolLM2's six CPU pairs (en_fr_words n=16/64/256, sst2 and "
    "subj n=256, rte n=64): full fine-tuning minus LoRA peak RSS, median per run, 3,345 MB vs 1,536 MB predicted "
    "(2.18x). A run's process peak holds the lr race's best candidate (weights, gradients, AdamW state and its "
    "best-weights copy) while the next candidate trains; the breakdown counts the one training state a user runs. "
    "Strict: it flags when the two agree again."))])
def test_breakdown_matches_measured_peak_memory_difference(backbone):
    # Our runs record the process peak RSS on CPU (fp32). Python, torch and the data set dominate the absolute RSS,
    # so we validate what the breakdown predicts and the process overhead cancels: full fine-tuning minus LoRA on
    # the same backbone = the gradients and AdamW state of every weight (4 + 8 bytes/param in fp32).
    # Measured (data/results, CPU runs, median of per-run paired differences): MiniLM 291 MB vs 259 MB predicted
    # (1.12x); SmolLM2 3,345 MB vs 1,536 MB (2.18x; six CPU pairs, 2,798-3,728 MB each). Process
    # RSS includes the allocator's slack, so the check is a factor of two either way.
    measured_mb = _median_paired_rss_difference(backbone)
    if measured_mb is None:
        pytest.skip(f"no paired CPU runs for {backbone}")
    from bench.results import iter_results

    params = next(r["total_params"] for _, r in iter_results(RESULTS) if r and r["backbone"] == backbone)
    f = memory_breakdown("full_finetuning", params, precision="fp32")
    lo = memory_breakdown("lora", params, precision="fp32")
    predicted_mb = (f.gradients + f.optimizer - lo.gradients - lo.optimizer) / 2**20
    assert 0.5 < measured_mb / predicted_mb < 2.0


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
    assert c.training_tokens == 2000 * 100 * 3 and c.provider_dollars is None  # no price given: tokens only
    assert estimate(p, "prompt_engineering").provider_dollars is None
