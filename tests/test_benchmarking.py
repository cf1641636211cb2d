"""`constrain bench` without big files: options, workloads, tables, the streaming synthetic
writer, and one end-to-end run on a tiny random model (constrain engine only)."""

import os

import numpy as np
import pytest
from gguf.constants import GGMLQuantizationType

import gguf
from constrain.benchmarking import command, synthetic
from constrain.benchmarking.protocol import Workload
from constrain.benchmarking.report import add_derived, memory_note, model_table, summary_table
from constrain.benchmarking.runner import medians
from constrain.cli import build_parser, main
from constrain.testing.synthetic_gguf import FULL_SHAPES, random_weight_bytes, tiny_shape


def test_bench_options_parse():
    args = build_parser().parse_args(["bench", "--no-7b", "--contexts", "512,128", "--engines", "constrain",
                                      "--models", "default,tinyllama-q4_k"])
    assert args.contexts == (512, 128) and args.engines == ["constrain"] and args.no_7b
    assert args.models == ["default", "tinyllama-q4_k"]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", "--contexts", "12,x"])


def test_workloads():
    args = build_parser().parse_args(["bench", "--contexts", "2048,128,512"])
    small, big, real = (command.workload_for(m, args) for m in ("tinyllama-q4_0", "llama2-7b-q4_0", "default"))
    assert small.contexts == (128, 512, 2048) and small.gen_tokens == 128 and small.json_tokens == 0
    assert big.gen_tokens == 32 and big.ctx_gen_tokens == 8  # the 7B file generates a quarter
    assert real.json_tokens == 96
    assert small.n_ctx == 2304  # 2048 + 32 generated, in 256-token units
    assert Workload(contexts=()).n_ctx == 512
    assert Workload.from_dict(small.to_dict()) == small


def _meds(scale: float) -> dict:
    return {"load_s": 1.0 * scale, "prompt_tps": 100.0 * scale, "gen_tps": 50.0 * scale,
            "gen_tps@128": 40.0 * scale, "gen_tps@2048": 20.0 * scale, "peak_rss_mib": 300.0 * scale}


def test_tables_and_ratios():
    work = Workload(contexts=(128, 2048), json_tokens=0)
    meds = {"constrain": add_derived(_meds(1.0), work), "llama_cpp": add_derived(_meds(2.0), work)}
    assert meds["constrain"]["scaling_2048_128"] == pytest.approx(0.5)
    table = model_table("m", meds, work)
    assert "| constrain / llama.cpp |" in table.splitlines()[2]
    assert "| generation, 128 greedy tokens (tokens/s) | 50.00 | 100.00 | 0.50x |" in table
    assert "| speed at context 2048 / at 128 | 0.50 | 0.50 | 1.00x |" in table
    assert "JSON" not in table  # rows not measured are left out
    single = model_table("m", {"constrain": meds["constrain"]}, work)
    assert "llama.cpp" not in single and "| load time (s) | 1.00 |" in single
    note = memory_note(1000.0, {"constrain": (200.0, "float32"), "llama_cpp": (100.0, "float16")}, meds)
    assert "constrain: KV cache 200 MiB (float32); peak RSS 300 MiB = 0.25x file + KV (1,200 MiB)" in note
    assert "llama.cpp: KV cache 100 MiB (float16); peak RSS 600 MiB = 0.55x file + KV (1,100 MiB)" in note
    summary = summary_table([("m", meds)], {"m": work})
    assert "| m | 0.50x | 0.50x | 0.50x (2048) | 0.50x |" in summary
    assert medians([{"a": 1, "b": "x"}, {"a": 3}, {"a": 2}]) == {"a": 2}


@pytest.mark.parametrize("qtype", ["Q4_0", "Q4_1", "Q5_0", "Q8_0", "Q4_K"])
def test_random_blocks_have_finite_values_of_the_wanted_spread(qtype):
    t = GGMLQuantizationType[qtype]
    raw = random_weight_bytes(np.random.default_rng(1), t, 8, 256, 0.05, random_blocks=True)
    values = gguf.quants.dequantize(raw, t)
    assert values.shape == (8, 256) and np.isfinite(values).all()
    assert 0.02 < values.std() < 0.1


def test_synthetic_files_are_written_once(tmp_path, monkeypatch):
    monkeypatch.setitem(FULL_SHAPES, "tiny-test", tiny_shape("tinyllama"))
    monkeypatch.setitem(synthetic.SYNTHETIC_MODELS, "tiny-q4_0", synthetic.SyntheticModel("tiny-test", "Q4_0"))
    logged = []
    path = synthetic.ensure_model("tiny-q4_0", str(tmp_path), log=logged.append)
    stamp = os.stat(path).st_mtime_ns
    assert synthetic.ensure_model("tiny-q4_0", str(tmp_path), log=logged.append) == path
    assert os.stat(path).st_mtime_ns == stamp and len(logged) == 1
    assert os.listdir(tmp_path) == [os.path.basename(path)]  # no .partial left behind
    # tinyllama shape: 2 layers, 2 of 8 heads for keys and values, head_dim 8
    assert synthetic.kv_cache_mib(path, 1024, 4) == pytest.approx(2 * 2 * 1024 * 16 * 4 / 2**20)


def test_bench_end_to_end_on_a_tiny_model(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(FULL_SHAPES, "tiny-test", tiny_shape("tinyllama"))
    monkeypatch.setitem(synthetic.SYNTHETIC_MODELS, "tiny-q4_0", synthetic.SyntheticModel("tiny-test", "Q4_0"))
    assert main(["bench", "--models", "tiny-q4_0", "--dir", str(tmp_path), "--engines", "constrain",
                 "--rounds", "1", "--threads", "1", "--prompt-tokens", "16", "--gen-tokens", "4",
                 "--contexts", "16,64", "--ctx-gen-tokens", "4"]) == 0
    out = capsys.readouterr().out
    assert "### tiny-q4_0: random-tiny-test-q4_0-v1.gguf, n_ctx 512" in out
    for row in ("prompt, 16 tokens in one batch", "generation at context 64, 4 tokens", "peak RSS (MiB)"):
        assert f"| {row}" in out
    assert "constrain: KV cache 0 MiB (float16, the 68 positions reached" in out
