"""constrain.batch: extraction over a Ray Dataset, and `constrain extract --ray`.

One local Ray session (2 CPUs, a small object store) serves the whole module: starting Ray
costs seconds."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import jsonschema
import pytest

from constrain.runtime.synthetic_gguf import tiny_shape, write_llama_gguf
from constrain.testing.biographies import PERSON_SCHEMA, biographies

PERSON = PERSON_SCHEMA
TEXTS = biographies(40)


def test_without_ray_the_import_says_how_to_install_it():
    code = ("import sys; sys.modules['ray'] = None\n"
            "try:\n    import constrain.batch\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install 'constrain[ray]'" in out


def test_ray_options_without_ray_are_refused(tmp_path, capsys):
    from constrain.cli import main

    schema = tmp_path / "person.schema.json"
    schema.write_text(json.dumps(PERSON))
    assert main(["extract", "--schema", str(schema), "--input", "in.jsonl", "--output", "out.jsonl"]) == 2
    assert "go with --ray" in capsys.readouterr().err


needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason="constrain.batch needs Ray, which is not installed "
                                      "(pip install 'constrain[ray]')")


@pytest.fixture(scope="module")
def local_ray():
    import ray

    ray.init(num_cpus=2, object_store_memory=200 << 20, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("batch") / "smollm_q4_1.gguf")
    write_llama_gguf(path, tiny_shape("smollm"), "Q4_1")
    return path


@needs_ray
def test_bad_rows_get_an_error_and_the_job_finishes(local_ray, tiny_model, tmp_path):
    from pydantic import BaseModel, ConfigDict, Field

    from constrain.batch import extract_dataset

    class Person(BaseModel):  # defined here, so that Ray ships it to the actors by value
        model_config = ConfigDict(extra="forbid")
        name: str = Field(max_length=24)
        birth_year: int = Field(ge=0, le=2100)
        city: str = Field(max_length=24)

    rows = [{"id": i, "text": text} for i, text in enumerate(TEXTS[:6])]
    rows[2]["text"] = None  # not a string
    rows[4]["text"] = "word " * 400  # longer than the context
    source = tmp_path / "rows.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    ds = local_ray.data.read_json(str(source))
    out = extract_dataset(ds, Person, tiny_model, concurrency=2, batch_size=2, n_seq_max=2, n_ctx=256,
                          max_tokens=48)
    results = sorted(out.take_all(), key=lambda row: row["id"])
    assert [row["id"] for row in results] == list(range(6))
    assert results[2]["extracted"] is None and "not a string" in results[2]["error"]
    assert results[4]["extracted"] is None and "Context" in results[4]["error"]
    for row in results:
        assert (row["extracted"] is None) != (row["error"] is None)
        if row["error"] is None:
            Person.model_validate(row["extracted"])


@needs_ray
def test_plans_keep_actors_times_threads_within_every_node():
    from constrain.batch import BatchConfigError, plan_actors

    assert plan_actors([2.0]) == plan_actors([2.0], concurrency=2)
    one, two = plan_actors([2.0], concurrency=1), plan_actors([2.0], concurrency=2)
    assert (one.concurrency, one.n_threads) == (1, 2) and (two.concurrency, two.n_threads) == (2, 1)
    assert plan_actors([8.0, 8.0, 4.0], num_cpus=4).concurrency == 5
    for cores, plan in ((2, one), (2, two), (16, plan_actors([16.0], num_cpus=4))):
        assert plan.concurrency * plan.n_threads <= cores
        # and Ray's accounting keeps a CPU slot free for the dataset's read tasks
        assert plan.concurrency * plan.ray_cpus <= cores - 1
    with pytest.raises(BatchConfigError, match="do not fit"):
        plan_actors([2.0], concurrency=3)
    with pytest.raises(BatchConfigError, match="smallest node"):
        plan_actors([8.0, 2.0], num_cpus=4)
    with pytest.raises(BatchConfigError, match="positive integer"):
        plan_actors([2.0], concurrency=0)


@needs_ray
def test_settings_that_cannot_run_fail_before_any_actor_starts(local_ray, tiny_model):
    from constrain.batch import BatchConfigError, extract_dataset

    ds = local_ray.data.from_items([{"text": "x"}])
    with pytest.raises(BatchConfigError, match="do not fit"):
        extract_dataset(ds, PERSON, tiny_model, concurrency=2, num_cpus=2)
    with pytest.raises(BatchConfigError, match="batch_size"):
        extract_dataset(ds, PERSON, tiny_model, batch_size=0)


@needs_ray
def test_cli_writes_one_line_per_input_line_in_order(local_ray, tiny_model, tmp_path):
    from constrain.cli import main

    schema = tmp_path / "person.schema.json"
    schema.write_text(json.dumps(PERSON))
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(TEXTS[0]) + "\n" + "{not json\n" + json.dumps({"text": TEXTS[1]}) + "\n")
    target = tmp_path / "out.jsonl"
    assert main(["extract", "--ray", "--input", str(source), "--output", str(target), "--schema", str(schema),
                 "-m", str(tiny_model), "-c", "256", "-n", "48", "--actors", "1", "--batch-size", "2"]) == 0
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(lines) == 3
    assert "not JSON" in lines[1]["error"]
    for value in (lines[0], lines[2]):
        if set(value) != {"error"}:
            jsonschema.validate(value, PERSON)


@needs_ray
@pytest.mark.slow
def test_forty_texts_on_two_actors_with_the_default_model(local_ray):
    from constrain.batch import extract_dataset

    ds = local_ray.data.from_items([{"text": text} for text in TEXTS])
    out = extract_dataset(ds, PERSON, concurrency=2, num_cpus=1, batch_size=10, n_seq_max=4, n_ctx=512,
                          max_tokens=64).take_all()
    assert len(out) == 40
    valid = 0
    for row in out:
        if row["error"] is None:
            jsonschema.validate(row["extracted"], PERSON)
            valid += 1
        else:
            assert row["extracted"] is None and row["error"]
    assert valid >= 30  # the texts are plain; nearly all should extract
