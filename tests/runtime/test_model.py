"""The forward pass against a float64 numpy reference on tiny random-weight models."""

import numpy as np
import pytest

from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.model import LlamaModel
from reference_llama import ReferenceLlama
from tiny_models import tiny_model

# Every family shape with several weight types; K-quants need 256-wide rows.
CASES = [
    ("smollm", "F32", {}),
    ("smollm", "Q4_1", {}),
    ("smollm", "Q8_0", {}),
    ("tinyllama", "Q4_0", {}),
    ("tinyllama", "F16", {}),
    ("llama2", "Q5_0", {}),
    ("llama2", "BF16", {}),
    ("llama3", "Q5_1", {}),
    ("llama3", "Q4_K", {"dim": 256, "ffn_dim": 512}),
    ("llama2", "Q4_K", {"dim": 256, "ffn_dim": 512}),
    ("tinyllama", "Q6_K", {"dim": 256, "ffn_dim": 512}),
    ("llama2", "Q2_K", {"dim": 256, "ffn_dim": 512}),
    ("smollm", "Q3_K", {"dim": 256, "ffn_dim": 512}),
    ("llama3", "Q5_K", {"dim": 256, "ffn_dim": 512}),
    # every matrix a multiple of 64 rows: the stacked, fused layers and the one-call decode step
    ("llama2", "Q4_1", {}),
    ("llama2", "Q4_0", {}),
    ("llama3", "Q8_0", {"n_kv_head": 2}),
]
STACKED = {"llama2-Q4_1", "llama2-Q4_0", "llama3-Q8_0", "llama2-Q4_K", "llama3-Q4_K"}


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.abs(got - want).max() / np.abs(want).max())


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("tiny_models"))


@pytest.mark.parametrize("family,weight_type,overrides", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_logits_match_float64_reference(model_dir, family, weight_type, overrides):
    path = tiny_model(model_dir, family, weight_type, **overrides)
    model = LlamaModel(GGUFFile(path), n_ctx=32)
    assert (model.weights.stacked is not None) == (f"{family}-{weight_type}" in STACKED)
    reference = ReferenceLlama(path)
    rng = np.random.default_rng(1)
    tokens = rng.integers(0, model.hp.n_vocab, size=9)

    # a prompt batch, then single tokens on top of the cache
    got = [model.forward(tokens[:6], logits_all=True)]
    for t in tokens[6:]:
        got.append(model.forward(np.array([t]), logits_all=True))
    got = np.concatenate(got)
    want = np.stack([reference.step(int(t)) for t in tokens])
    assert got.shape == want.shape
    assert relative_error(got, want) < 1e-3


def test_batch_equals_token_by_token(model_dir):
    path = tiny_model(model_dir, "llama3", "Q8_0")
    tokens = np.arange(3, 40, 3)
    batched = LlamaModel(GGUFFile(path), n_ctx=64).forward(tokens, logits_all=True)
    single = LlamaModel(GGUFFile(path), n_ctx=64)
    stepwise = np.concatenate([single.forward(tokens[i:i + 1]) for i in range(len(tokens))])
    assert relative_error(batched, stepwise) < 1e-4


def test_last_logits_only_by_default(model_dir):
    path = tiny_model(model_dir, "smollm", "Q4_0")
    model = LlamaModel(GGUFFile(path), n_ctx=16)
    out = model.forward(np.array([1, 2, 3]))
    assert out.shape == (1, model.hp.n_vocab)
    assert model.cache.n_tokens == 3


def test_linear_rope_scaling_from_metadata(model_dir):
    path = tiny_model(model_dir, "llama2", "F32", rope_scaling={"type": "linear", "factor": 4.0})
    model = LlamaModel(GGUFFile(path), n_ctx=32)
    assert model.hp.rope_scale == 4.0
    reference = ReferenceLlama(path)
    tokens = [7, 8, 9, 10, 11]
    got = model.forward(np.array(tokens), logits_all=True)
    want = np.stack([reference.step(t) for t in tokens])
    assert relative_error(got, want) < 1e-3


def test_context_overflow_is_a_clear_error(model_dir):
    from constrain.errors import ContextOverflowError

    path = tiny_model(model_dir, "smollm", "F32")
    model = LlamaModel(GGUFFile(path), n_ctx=4)
    model.forward(np.array([1, 2, 3]))
    with pytest.raises(ContextOverflowError, match="context window of 4"):
        model.forward(np.array([4, 5]))


@pytest.mark.parametrize("weight_type", ["Q4_1", "Q8_0"])
def test_decode_step_over_a_long_context(model_dir, weight_type):
    """Past a few hundred cached keys the one-call decode step attends with its heads in
    parallel: it must agree with the batched pass there too."""
    path = tiny_model(model_dir, "llama3", weight_type, n_kv_head=2)
    tokens = np.random.default_rng(2).integers(0, 400, size=560)
    batched = LlamaModel(GGUFFile(path), n_ctx=600).forward(tokens, logits_all=True)[-4:]
    model = LlamaModel(GGUFFile(path), n_ctx=600)
    assert model.weights.stacked is not None
    model.forward(tokens[:-4])
    stepwise = np.concatenate([model.forward(tokens[i:i + 1]) for i in range(len(tokens) - 4, len(tokens))])
    assert relative_error(stepwise, batched) < 1e-4
