"""The command line, end to end on the default model."""

import json
import os

import pytest

from constrain.cli import main

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


@pytest.mark.slow
def test_run_prints_greedy_completion(capsys):
    assert main(["run", "-p", "The first man on the moon was", "-n", "4", "-t", "2"]) == 0
    assert capsys.readouterr().out.startswith("The first man on the moon was named Neil Armstrong")


@pytest.mark.slow
def test_run_with_regex_grammar(capsys):
    assert main(["run", "-p", "The year the first man landed on the moon:", "-n", "8", "--quiet-prompt",
                 "--regex", r" [12][0-9]{3}"]) == 0
    out = capsys.readouterr().out.strip("\n")
    assert len(out) == 5 and out[1:].isdigit()


@pytest.mark.slow
def test_classify(capsys):
    assert main(["classify", "-p", "Dancing in the rain makes me feel", "happy", "sad"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert {line.split()[0] for line in lines} == {"happy", "sad"}
    assert abs(sum(float(line.split()[1]) for line in lines) - 1.0) < 0.01


@pytest.mark.slow
def test_extract_prints_valid_json(capsys):
    import jsonschema

    schema_path = os.path.join(EXAMPLES, "data", "person.schema.json")
    text_path = os.path.join(EXAMPLES, "data", "person.txt")
    assert main(["extract", "--schema", schema_path, "--text", text_path]) == 0
    value = json.loads(capsys.readouterr().out)
    jsonschema.validate(value, json.load(open(schema_path)))


def test_missing_model_is_a_clear_error(tmp_path, capsys):
    assert main(["run", "-p", "hi", "-m", str(tmp_path / "nope.gguf")]) == 2
    assert "model file not found" in capsys.readouterr().err


def test_grammar_check_reports_errors(tmp_path, capsys):
    bad = tmp_path / "bad.lark"
    bad.write_text('start: "a" NUMBER\nNUMBER: /(?<=x)[0-9]+/\n')
    assert main(["grammar", "check", str(bad)]) != 0
    assert "NUMBER" in capsys.readouterr().out + capsys.readouterr().err
