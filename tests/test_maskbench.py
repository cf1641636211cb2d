"""benchmarks/maskbench.py without the MaskBench corpus: verdicts end to end on hand-written
schema files, the forcing loop on a fake engine, the time limit and crash handling of the
workers, the summary tables, and llguidance's view of SmolLM2's vocabulary (when installed)."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import maskbench  # noqa: E402
import maskbench_report  # noqa: E402
import maskbench_workers  # noqa: E402
from maskbench_worker import force_all  # noqa: E402

PERSON = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 8}, "age": {"type": "integer"}},
          "required": ["name"], "additionalProperties": False}


def write_corpus(folder: Path) -> None:
    files = {
        # correct: each instance labelled as the spec says
        "person.json": {"schema": PERSON, "tests": [{"data": {"name": "Ada", "age": 36}, "valid": True},
                                                    {"data": {"age": 36}, "valid": False},
                                                    {"data": {"name": "Ada", "x": 1}, "valid": False}]},
        # labelled wrongly on purpose, so that the engine's right answer reads as over / under
        "mislabelled_valid.json": {"schema": PERSON, "tests": [{"data": {"name": "far too long"}, "valid": True}]},
        "mislabelled_invalid.json": {"schema": PERSON, "tests": [{"data": {"name": "Bo"}, "valid": False}]},
        # a backreference is not context-free: refused by any exact engine
        "backreference.json": {"schema": {"type": "string", "pattern": "^(a+)b\\1$"}, "tests": []},
        "no_tests.json": {"schema": {"type": "boolean"}, "tests": []},
    }
    for name, content in files.items():
        (folder / name).write_text(json.dumps(content), encoding="utf-8")


def test_verdicts_end_to_end(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    write_corpus(data)
    out = tmp_path / "results.jsonl"
    maskbench.main([str(data), "--engines", "constrain", "--timeout", "300", "--out", str(out), "--details"])
    meta, results = maskbench_report.load_results(out)
    verdicts = {r["file"]: r["class"] for r in results}
    assert verdicts == {"person.json": "correct", "mislabelled_valid.json": "over",
                        "mislabelled_invalid.json": "under", "backreference.json": "refused",
                        "no_tests.json": "no tests"}
    assert meta["eog_ids"] and meta["engines"]["constrain"]
    person = next(r for r in results if r["file"] == "person.json")
    assert person["n_valid"] == 1 and person["n_invalid"] == 2 and person["compile_us"] > 0
    assert len(person["mask_us"]) >= person["tokens"] > 0
    over = next(r for r in results if r["file"] == "mislabelled_valid.json")["over"][0]
    assert over["at"] != "end" and "far too" in over["before"] + over["token"]
    refused = next(r for r in results if r["file"] == "backreference.json")["error"]
    assert refused["keyword"] == "pattern" and refused["path"].startswith("#")
    # three files share one schema: the two met after the first are counted, but not timed again
    repeats = {r["file"]: r["repeat_of"] for r in results if r["repeat_of"]}
    assert set(repeats) == {"mislabelled_valid.json", "person.json"}
    assert set(repeats.values()) == {"mislabelled_invalid.json"}
    printed = capsys.readouterr().out
    assert "| correct | 1 |" in printed and "Why constrain did not get a schema right" in printed


class FakeEngine:
    """Allows exactly the tokens of one sentence, in order (ids 10, 11, 12), then the end (id 0)."""

    name = "fake"
    eog_ids = (0,)

    def __init__(self):
        self.position = 0
        self.bits = np.zeros(1, dtype=np.uint32)

    def compute_mask(self):
        allowed = [0] if self.position == 3 else [10 + self.position]
        self.bits = np.zeros(1, dtype=np.uint32)
        for token in allowed:
            self.bits[0] |= np.uint32(1 << token)

    def error(self):
        return None

    def advance(self, token):
        self.position += 1

    def is_accepting(self):
        return self.position == 3

    def reset(self):
        self.position = 0


def test_forcing_judges_tokens_and_the_end():
    tests = [{"ids": [10, 11, 12], "valid": True},   # accepted: right
             {"ids": [10, 11], "valid": True},       # end refused: over
             {"ids": [10, 13], "valid": False},      # token refused: right
             {"ids": [10, 11, 12], "valid": False}]  # accepted: under
    forcing = force_all(FakeEngine(), tests)
    assert [(r.test, r.at) for r in forcing.over] == [(1, "end")]
    assert forcing.under == [3]
    assert forcing.tokens == 3 + 2 + 1 + 3
    assert len(forcing.mask_us) == 4 + 3 + 2 + 4 and len(forcing.advance_us) == forcing.tokens
    assert forcing.first_test_masks == 4


def fake_worker(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "fake_worker.py"
    script.write_text(textwrap.dedent("""
        import json, sys, time
        print(json.dumps({"event": "ready", "engine": "fake", "version": "0", "eog_ids": [0],
                          "control_allowed_at_end": [0]}), flush=True)
        for line in sys.stdin:
    """) + textwrap.indent(textwrap.dedent(body), "    "), encoding="utf-8")
    return script


@pytest.mark.parametrize("body, verdict, kind", [
    ('print(json.dumps({"event": "compiled", "compile_us": 5.0}), flush=True)\ntime.sleep(60)\n', "timeout", "timeout"),
    ("sys.exit(3)\n", "crash", "died"),
])
def test_a_hung_or_dead_worker_costs_one_schema(tmp_path, monkeypatch, body, verdict, kind):
    monkeypatch.setattr(maskbench_workers, "WORKER", fake_worker(tmp_path, body))
    pool = maskbench_workers.WorkerPool(["fake"], dict(__import__("os").environ),
                                        SimpleNamespace(mem_limit_gb=0, recycle=100))
    try:
        assert pool.start_all()["fake"]["eog_ids"] == [0]
        result = pool.run("fake", "{}", timeout_s=1.0)
        assert result["class"] == verdict and result["error"]["kind"] == kind
        if verdict == "timeout":
            assert result["phase"] == "forcing" and result["compile_us"] == 5.0
        else:
            assert "status 3" in result["error"]["message"]
        assert "fake" not in pool.workers  # the next schema gets a fresh worker
        assert pool.run("fake", "{}", timeout_s=1.0)["class"] == verdict
    finally:
        pool.kill_all()


def record(file, engine, cls, compile_ms=None, masks=(), **extra):
    return {"file": file, "engine": engine, "class": cls, "repeat_of": None,
            "compile_us": None if compile_ms is None else compile_ms * 1e3, "mask_us": list(masks),
            "advance_us": [1.0] * len(masks), **extra}


def test_summary_ratios_on_common_schemas(capsys):
    results = [
        record("a", "constrain", "correct", 10, [100, 300]), record("a", "llguidance", "correct", 1, [10, 30]),
        record("b", "constrain", "refused", error={"kind": "refused", "error_type": "UnsupportedSchemaError",
                                                  "keyword": "not", "path": "#/not",
                                                  "message": "#/not: 'not' is not enforceable"}),
        record("b", "llguidance", "correct", 2, [20]),
        record("c", "constrain", "timeout", phase="compile", error={"kind": "timeout", "message": "over 15 s"}),
        record("c", "llguidance", "correct", 3, [5]),
    ]
    maskbench_report.print_summary(({"timeout_s": 15.0, "engines": {}}, results), details=True)
    printed = capsys.readouterr().out
    common = printed[printed.index("both engines compiled (1"):printed.index("### Overall")]
    assert "| compile p50 (ms) | 10.0 | 1.00 | 10.0x |" in common
    assert "| mask mean (us) | 200.0 | 20.0 | 10.0x |" in common
    overall = printed[printed.index("### Overall"):]
    assert "| compile max (ms) | 15,000 |" in overall  # the compile timeout counts at the limit
    assert "**refused: not**: 1" in printed and "1 x UnsupportedSchemaError: 'not' is not enforceable" in printed
    assert "**timeout**: 1" in printed and "1 x during compile" in printed


def test_reasons_group_by_message_pattern():
    normalized = maskbench_report.normalized
    assert normalized("#/properties/a/maxLength: 4096 is above the supported 1000 characters") == \
        normalized("#/items/maxLength: 8192 is above the supported 1000 characters")
    assert "2020-12" in normalized("dialect 'http://json-schema.org/draft-07/schema#' is not 2020-12")


def test_llguidance_sees_the_same_vocabulary(smollm2_tokenizer_for_bench):
    pytest.importorskip("llguidance")
    from maskbench_engines import llguidance_tokenizer

    tokenizer = smollm2_tokenizer_for_bench
    lltokenizer = llguidance_tokenizer(tokenizer)
    assert lltokenizer.vocab_size == tokenizer.n_vocab
    assert sorted(lltokenizer.eos_tokens) == sorted(tokenizer.eog_ids)
    ids = tokenizer.encode('{"name":"Zoë","n":[1,2.5]}', add_bos=False)
    assert lltokenizer.decode_bytes(ids) == tokenizer.decode(ids)
    assert all(lltokenizer.is_special_token(i) for i in tokenizer.control_ids)


@pytest.fixture(scope="module")
def smollm2_tokenizer_for_bench():
    from maskbench_engines import load_smollm2_tokenizer

    return load_smollm2_tokenizer()
