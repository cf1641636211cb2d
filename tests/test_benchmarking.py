"""`constrain bench` without big files: options, workloads, tables, the streaming synthetic
writer, and one end-to-end run on a tiny random model (constrain engine only)."""

import os

import gguf
import numpy as np
import pytest
from gguf.constants import GGMLQuantizationType

from constrain.benchmarking import command, synthetic
from constrain.benchmarking.protocol import Workload
from constrain.benchmarking.report import add_derived, contention_table, memory_note, model_table, summary_table
from constrain.benchmarking.runner import medians
from constrain.cli import build_parser, main
from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.synthetic_gguf import FULL_SHAPES, random_weight_bytes, tiny_shape


def test_bench_options_parse():
    args = build_parser().parse_args(["bench", "--no-7b", "--contexts", "512,128", "--engines", "constrain",
                                      "--models", "default,tinyllama-q4_k_m"])
    assert args.contexts == (512, 128) and args.engines == ["constrain"] and args.no_7b
    assert args.models == ["default", "tinyllama-q4_k_m"]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", "--contexts", "12,x"])


def test_workloads():
    args = build_parser().parse_args(["bench"])
    small, big, real = (command.workload_for(m, args) for m in ("tinyllama-q4_k_m", "llama2-7b-q5_k_m", "default"))
    assert small.gen_tokens == 128 and small.json_tokens == 0 and small.n_ctx == 512
    assert big.gen_tokens == 32  # the 7B file generates a quarter
    assert real.json_tokens == 96 and real.n_ctx == 512
    at = command.context_workload_for("tinyllama-q4_k_m", args)
    assert at.contexts == (1024,) and at.n_ctx == 4096
    assert command.context_workload_for("llama2-7b-q5_k_m", args) is None
    together = command.contention_workload_for("default", args)
    assert together.gen_only and together.gen_tokens == 64
    assert Workload(contexts=(2048,), ctx_gen_tokens=32).n_ctx == 2304  # in 256-token units
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
    assert "llama.cpp" not in single and "| load, tile cache present (s) | 1.00 |" in single
    note = memory_note(1000.0, {"constrain": (200.0, "float32"), "llama_cpp": (100.0, "float16")}, meds)
    assert "constrain: KV cache 200 MiB (float32); peak RSS 300 MiB = 0.25x file + KV (1,200 MiB)" in note
    assert "llama.cpp: KV cache 100 MiB (float16); peak RSS 600 MiB = 0.55x file + KV (1,100 MiB)" in note
    summary = summary_table([("m", meds)], (2048,))
    assert "| m | 0.50x | 0.50x | 0.50x | 0.50x |  | 0.50x |" in summary
    table = contention_table({"m": {"constrain": {"alone": [10.0], "two": [8.0], "busy": [5.0]},
                                    "llama_cpp": {"alone": [10.0], "two": [4.0], "busy": [5.0]}}})
    assert "| m | constrain | 10.0 | 8.0 | 5.0 | 1.25x | 2.00x |" in table
    assert "| m | constrain / llama.cpp | 1.00x | 2.00x | 1.00x | | |" in table
    assert medians([{"a": 1, "b": "x"}, {"a": 3}, {"a": 2}]) == {"a": 2}


@pytest.mark.parametrize("qtype", ["Q4_0", "Q4_1", "Q5_0", "Q8_0", "Q4_K"])
def test_random_blocks_have_finite_values_of_the_wanted_spread(qtype):
    t = GGMLQuantizationType[qtype]
    raw = random_weight_bytes(np.random.default_rng(1), t, 8, 256, 0.05, random_blocks=True)
    values = gguf.quants.dequantize(raw, t)
    assert values.shape == (8, 256) and np.isfinite(values).all()
    assert 0.02 < values.std() < 0.1


def test_synthetic_files_are_written_once(tmp_path, monkeypatch):
    monkeypatch.setitem(FULL_SHAPES, "tiny-test", tiny_shape("tinyllama", dim=256, ffn_dim=512))
    monkeypatch.setitem(synthetic.SYNTHETIC_MODELS, "tiny-q4_k_m", synthetic.SyntheticModel("tiny-test", "Q4_K_M"))
    logged = []
    path = synthetic.ensure_model("tiny-q4_k_m", str(tmp_path), log=logged.append, use_llama_cpp=False)
    stamp = os.stat(path).st_mtime_ns
    assert synthetic.ensure_model("tiny-q4_k_m", str(tmp_path), log=logged.append, use_llama_cpp=False) == path
    assert os.stat(path).st_mtime_ns == stamp and len(logged) == 1
    assert os.listdir(tmp_path) == [os.path.basename(path)]  # no .partial left behind
    # tinyllama shape: 2 layers, 2 of 8 heads for keys and values, head_dim 32
    assert synthetic.kv_cache_mib(path, 1024, 4) == pytest.approx(2 * 2 * 1024 * 64 * 4 / 2**20)
    # written without llama.cpp, the file has llama.cpp's Q4_K_M types (tensor by tensor)
    types = {name: info.ggml_type.name for name, info in GGUFFile(path).tensors.items()}
    assert types["output.weight"] == "Q6_K" and types["token_embd.weight"] == "Q4_K"
    # of 2 layers, llama.cpp's use_more_bits() picks the last
    assert types["blk.0.attn_v.weight"] == types["blk.0.ffn_down.weight"] == types["blk.1.attn_q.weight"] == "Q4_K"
    assert types["blk.1.attn_v.weight"] == types["blk.1.ffn_down.weight"] == "Q6_K"


def test_bench_end_to_end_on_a_tiny_model(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(FULL_SHAPES, "tiny-test", tiny_shape("tinyllama"))
    monkeypatch.setitem(synthetic.SYNTHETIC_MODELS, "tiny-q4_0", synthetic.SyntheticModel("tiny-test", "Q4_0"))
    monkeypatch.setattr(command, "CONTENTION_MODELS", ("tiny-q4_0",))
    monkeypatch.setenv("CONSTRAIN_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["bench", "--models", "tiny-q4_0", "--dir", str(tmp_path), "--engines", "constrain",
                 "--rounds", "1", "--threads", "1", "--prompt-tokens", "16", "--gen-tokens", "4",
                 "--contexts", "64", "--ctx-gen-tokens", "4", "--contention-tokens", "8"]) == 0
    out = capsys.readouterr().out
    assert "### tiny-q4_0: random-tiny-test-q4_0-" in out
    for row in ("prompt, 16 tokens in one batch", "generation at context 64, 4 tokens", "peak RSS, n_ctx 512",
                "peak RSS, n_ctx 4096", "load, first process: builds the tile cache"):
        assert f"| {row}" in out
    assert "| tiny-q4_0 | constrain |" in out  # the contention table
