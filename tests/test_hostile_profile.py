"""Issue 15, item 3: profile files and values are read bounded and typed (one test per reproduction)."""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

from advisor import recommend
from advisor.cli import app
from advisor.profile import MAX_PROFILE_BYTES, ProfileError, ProjectProfile


def _error(fn, *args) -> str:
    with pytest.raises(ProfileError) as err:
        fn(*args)
    return str(err.value)


def test_huge_integer_in_a_float_field_is_a_profile_error_not_overflow():
    msg = _error(recommend, {"gpu_memory_gb": 10**400})
    assert "gpu_memory_gb=<integer of about 401 digits>" in msg and "allowed: number" in msg


def test_more_than_4300_digits_is_a_profile_error():
    assert "labeled_examples" in _error(recommend, {"labeled_examples": 10**5000})
    assert "labeled_examples" in _error(recommend, {"labeled_examples": "9" * 5000})
    assert "probe_accuracy" in _error(recommend, {"probe_accuracy": "9" * 5000})
    assert "valid JSON" in _error(ProjectProfile.from_json, '{"num_tasks": ' + "9" * 5000 + "}")


def test_non_utf8_file_is_a_profile_error(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_bytes(b"labeled_examples: \xff\xfe500\n")
    assert "UTF-8" in _error(ProjectProfile.load, path)


def test_deep_nesting_is_refused_without_recursion_error():
    assert "nested deeper" in _error(ProjectProfile.from_yaml, "a: " + "[" * 100_000 + "]" * 100_000)
    assert "JSON nested" in _error(ProjectProfile.from_json, "[" * 100_000 + "]" * 100_000)


def test_dev_zero_is_read_bounded(tmp_path):
    t0 = time.perf_counter()
    assert f"at most {MAX_PROFILE_BYTES} bytes" in _error(ProjectProfile.load, "/dev/zero")
    assert time.perf_counter() - t0 < 5
    res = CliRunner().invoke(app, ["recommend", "--profile", "/dev/zero"])
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output


def test_billion_laughs_is_refused_fast_with_a_short_message():
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    t0 = time.perf_counter()
    msg = _error(ProjectProfile.from_yaml, "\n".join(lines))
    assert time.perf_counter() - t0 < 2 and "aliases" in msg and len(msg) < 300


@pytest.mark.parametrize("text", ["[]", "false", "0", "- a\n- b", "just some text"])
def test_a_top_level_that_is_not_a_mapping_is_an_error(text):
    assert "a mapping of field names" in _error(ProjectProfile.from_yaml, text)
    if text != "just some text" and not text.startswith("-"):
        assert "a mapping of field names" in _error(ProjectProfile.from_json, text)


def test_an_empty_yaml_file_is_the_default_profile():
    assert ProjectProfile.from_yaml("") == ProjectProfile()


def test_errors_quote_only_a_short_prefix_of_the_value(tmp_path):
    msg = _error(recommend, {"task_complexity": "x" * 60_000_000})
    assert len(msg) < 300
    assert len(_error(recommend, {"y" * 1_000_000: 1})) < 1000  # an unknown key is cut too
    many = _error(recommend, {f"k{i}": i for i in range(100_000)})
    assert len(many) < 10_000 and "(+99990 more)" in many
    nested = {"num_tasks": [[[[list(range(10**5))]]]]}
    assert len(_error(recommend, nested)) < 300
    secret = tmp_path / "system.yaml"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    msg = _error(ProjectProfile.load, secret)
    assert "/bin/bash" not in msg and "daemon" not in msg, msg


def test_yaml_syntax_errors_do_not_echo_the_offending_line():
    msg = _error(ProjectProfile.from_yaml, "labeled_examples: 5\nsecret_value_here: [unclosed")
    assert "secret_value_here" not in msg and "line" in msg
