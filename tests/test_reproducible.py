"""Same cell, same seed, same result — whatever ran before in the process, and whether an lr won a race or ran
alone (the recipe benchmark reads races off single-lr runs)."""

import pytest

pytest.importorskip("torch")

from bench.tasks import load_task  # noqa: E402
from bench.trial import run_trial  # noqa: E402

from bench_helpers import TINY_PROTOCOL, write_toy_task  # noqa: E402


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return load_task(write_toy_task(tmp_path_factory.mktemp("toy")))


def _curve(record):
    return [c[:2] + c[3:] for c in record["metrics"]["loss_curve"]]  # step, train loss, validation loss


def test_the_first_trial_of_a_process_follows_the_same_random_stream(toy):
    # The classifier template built on a process's first trial drew from the generator the trial had seeded:
    # that trial's dropout then differed from every later one's (a prompt-tuning run's losses from step 10 on).
    from bench.models import load_backbone

    load_backbone("tiny-bert")._seqcls.clear()  # as in a fresh process
    first = run_trial("tiny-bert", toy, "prompt_tuning", 32, 0, TINY_PROTOCOL, None, "cpu")
    again = run_trial("tiny-bert", toy, "prompt_tuning", 32, 0, TINY_PROTOCOL, None, "cpu")
    assert _curve(first) == _curve(again) and first["accuracy"] == again["accuracy"]


def test_a_race_winner_continues_as_its_lr_alone(toy):
    race = run_trial("tiny-bert", toy, "prompt_tuning", 32, 0, TINY_PROTOCOL, None, "cpu")
    alone = run_trial("tiny-bert", toy, "prompt_tuning", 32, 0, TINY_PROTOCOL, None, "cpu",
                      overrides={"lrs": [race["lr"]]})
    assert len(race["metrics"]["lr_race"]) == 3
    assert _curve(race) == _curve(alone)
