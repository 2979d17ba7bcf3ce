"""The option registry: one source of names, labels, colours and the hyperparameters shared with the engine."""

import subprocess
import sys

import pytest

from advisor import options
from advisor.glossary import GLOSSARY
from advisor.options import COLOURS, LABELS, OPTIONS, UnknownOption, get


def test_registry_holds_the_five_options_in_display_order():
    assert OPTIONS == ("prompt_engineering", "prompt_tuning", "prefix_tuning", "lora", "full_finetuning")
    assert set(LABELS) == set(COLOURS) == set(GLOSSARY) == set(OPTIONS)
    assert len(set(COLOURS.values())) == len(OPTIONS)  # one distinct colour per option in every chart
    assert not get("prompt_engineering").trains and get("full_finetuning").trains
    assert get("lora").parameter_efficient and not get("full_finetuning").parameter_efficient


def test_unknown_option_raises_naming_allowed_values():
    with pytest.raises(UnknownOption, match="option='adapters'.*allowed: prompt_engineering"):
        get("adapters")
    with pytest.raises(UnknownOption):
        options.label(None)


def test_registry_is_torch_free_and_the_engine_reads_its_hyperparameters():
    code = ("import sys, advisor.options; "
            "assert not {'torch', 'transformers', 'peft', 'sklearn', 'pandas'} & set(sys.modules), sys.modules.keys()")
    subprocess.run([sys.executable, "-c", code], check=True)
    pytest.importorskip("peft")
    from bench.methods import lora, prefix_tuning, prompt_tuning

    assert lora.RANK == options.LORA_RANK and lora.ALPHA == options.LORA_ALPHA
    assert prompt_tuning.VIRTUAL_TOKENS == prefix_tuning.VIRTUAL_TOKENS == options.VIRTUAL_TOKENS


def test_report_raises_on_an_unknown_option_instead_of_dropping_it():
    import dataclasses

    from advisor import ProjectProfile, recommend
    from advisor.report import to_markdown

    rec = recommend(ProjectProfile())
    # The unknown option sits below the top one (the summary line is recommend.py's, not the report's).
    bad = dataclasses.replace(rec, ranking=rec.ranking[:1] + (dataclasses.replace(rec.ranking[1], option="adapters"),)
                              + rec.ranking[2:])
    with pytest.raises(UnknownOption, match="adapters"):
        to_markdown(bad)
    assert "expected accuracy [10-90%]" in to_markdown(rec)
