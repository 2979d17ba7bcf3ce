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
