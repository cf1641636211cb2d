"""The forward pass against a float64 numpy reference on tiny random-weight models."""

import numpy as np
import pytest
from gguf import GGMLQuantizationType as T

from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.model import SMALL_BATCH, LlamaModel
from constrain.runtime.quants.type_traits import TileKind
from constrain.runtime.synthetic_gguf import mix_tensor_type
from tests.runtime.reference_llama import ReferenceLlama
from tests.runtime.tiny_models import tiny_model

K_SHAPE = {"dim": 256, "ffn_dim": 512}  # K-quants need 256-wide rows

# Every family shape with every weight type, and llama.cpp's mixes (Q6_K for attn_v and
# ffn_down in some layers, Q6_K output): all go through the stacked, fused layers.
CASES = [
    ("smollm", "F32", {}),
    ("smollm", "Q4_1", {}),
    ("smollm", "Q8_0", {}),
    ("tinyllama", "Q4_0", {}),
    ("tinyllama", "F16", {}),
    ("llama2", "Q5_0", {}),
    ("llama2", "BF16", {}),
    ("llama3", "Q5_1", {}),
    ("llama3", "Q4_K", K_SHAPE),
    ("llama2", "Q4_K", K_SHAPE),
    ("tinyllama", "Q6_K", K_SHAPE),
    ("llama2", "Q2_K", K_SHAPE),
    ("smollm", "Q3_K", K_SHAPE),
    ("llama3", "Q5_K", K_SHAPE),
    ("llama2", "Q4_1", {}),
    ("llama2", "Q4_0", {}),
    ("llama3", "Q8_0", {"n_kv_head": 2}),
    ("tinyllama", "Q4_K_M", {**K_SHAPE, "n_layer": 8}),
    ("llama2", "Q5_K_M", {**K_SHAPE, "n_layer": 8}),
]


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.abs(got - want).max() / np.abs(want).max())


def assert_exact_but_rounding_steps(got: np.ndarray, want: np.ndarray, min_exact: int) -> None:
    """Decode-step logits (positions x vocabulary) against the reference's int8-rounded steps:
    exact up to float32 rounding, unless a value computed in float32 and float64 lands on two
    sides of an int8 or float16 (cache) rounding boundary; then that position and the later
    ones move by a step of the rounding. So some positions must be exact, all close."""
    errors = np.abs(got - want).max(axis=1) / np.abs(want).max()
    assert (errors < 1e-4).sum() >= min_exact and errors.max() < 2e-2, errors


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("tiny_models"))


@pytest.mark.parametrize("family,weight_type,overrides", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_logits_match_float64_reference(model_dir, family, weight_type, overrides):
    path = tiny_model(model_dir, family, weight_type, **overrides)
    rng = np.random.default_rng(1)
    model = LlamaModel(GGUFFile(path), n_ctx=32)
    prompt = max(SMALL_BATCH, 6)  # a batch that takes the batch path
    tokens = rng.integers(0, model.hp.n_vocab, size=prompt + 3)

    # token by token from an empty cache: the one-call decode step, whose products take
    # int8 activations, against the reference rounding them the same way
    stepwise = np.concatenate([model.forward(tokens[i:i + 1]) for i in range(len(tokens))])
    reference = ReferenceLlama(path)
    want = np.stack([reference.step(int(t), quantized=True) for t in tokens])
    assert_exact_but_rounding_steps(stepwise, want, min_exact=3)

    # a prompt batch (the batched products, on int8 activations too), then single tokens on
    # top of its cache
    model = LlamaModel(GGUFFile(path), n_ctx=32)
    got = np.concatenate([model.forward(tokens[:prompt], logits_all=True)]
                         + [model.forward(np.array([t])) for t in tokens[prompt:]])
    assert_exact_but_rounding_steps(got, want, min_exact=3)
    # int8 activations stay close to the unrounded products
    unrounded = ReferenceLlama(path)
    assert relative_error(got, np.stack([unrounded.step(int(t)) for t in tokens])) < 0.05


def test_mixed_types_share_the_fused_decode_step(model_dir):
    """A Q4_K_M file stores V and ffn_down in Q6_K in some layers only: one stack holds
    both kinds, per layer, and the decode step reads each layer in its own kind."""
    path = tiny_model(model_dir, "tinyllama", "Q4_K_M", **K_SHAPE, n_layer=8)
    stack = LlamaModel(GGUFFile(path), n_ctx=8).weights.stacked
    more_bits = [0, 3, 6, 7]  # llama.cpp's use_more_bits() layers of 8
    assert [mix_tensor_type("Q4_K_M", "attn_v", i, 8) == T.Q6_K for i in range(8)] == [i in more_bits for i in range(8)]
    v_tiles = stack.qkv.tile_kind[:, -1]  # the last output tile of Q/K/V is V's
    down_tiles = stack.down.tile_kind[:, 0]
    for layer in range(8):
        want = TileKind.U6_G16 if layer in more_bits else TileKind.U4
        assert v_tiles[layer] == want and down_tiles[layer] == want
    assert set(stack.qkv.tile_kind[:, 0]) == {TileKind.U4}


def test_batch_and_decode_step_agree(model_dir):
    """The batched pass and the decode step round the same activations the same way."""
    path = tiny_model(model_dir, "llama3", "Q8_0")
    tokens = np.arange(3, 40, 3)
    batched = LlamaModel(GGUFFile(path), n_ctx=64).forward(tokens, logits_all=True)
    single = LlamaModel(GGUFFile(path), n_ctx=64)
    stepwise = np.concatenate([single.forward(tokens[i:i + 1]) for i in range(len(tokens))])
    assert_exact_but_rounding_steps(batched, stepwise, min_exact=3)


@pytest.mark.parametrize("family,weight_type,shape", [
    ("llama3", "Q4_1", {}),
    ("tinyllama", "Q4_K_M", {**K_SHAPE, "n_layer": 4}),
    ("llama2", "Q5_K_M", {**K_SHAPE, "n_layer": 4}),
    ("smollm", "Q8_0", {}),
    ("tinyllama", "F16", {}),
])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_several_sequences_in_one_pass_match_each_alone(model_dir, family, weight_type, shape, n_threads):
    """forward_sequences: prompts of different lengths in their own KV slots, then next
    tokens of all of them in one pass over the weights, give each sequence exactly the
    logits it gets alone (bit for bit: greedy decoding must not depend on the company a
    sequence keeps), at every width and whichever slots take part."""
    path = tiny_model(model_dir, family, weight_type, **shape)
    rng = np.random.default_rng(5)
    prompts = [rng.integers(0, 200, size=n) for n in (7, 3, 12, 1, 5)]
    nexts = rng.integers(0, 200, size=(3, len(prompts)))
    together = LlamaModel(GGUFFile(path), n_ctx=32, n_seq=len(prompts), n_threads=n_threads)
    got_prompts = together.forward_sequences(list(zip(together.caches, prompts)), logits_all=True)
    got = [[] for _ in prompts]
    # steps of every width: all five sequences, then three of them, then two
    for step, members in enumerate(([0, 1, 2, 3, 4], [1, 3, 4], [0, 2])):
        outs = together.forward_sequences([(together.caches[i], [nexts[step, i]]) for i in members])
        for i, out in zip(members, outs):
            got[i].append(out)
    assert [c.n_tokens for c in together.caches] == [9, 5, 14, 3, 7]
    steps_of = {i: [s for s, members in enumerate(([0, 1, 2, 3, 4], [1, 3, 4], [0, 2])) if i in members]
                for i in range(len(prompts))}
    for i, prompt in enumerate(prompts):
        alone = LlamaModel(GGUFFile(path), n_ctx=32, n_threads=n_threads)
        np.testing.assert_array_equal(got_prompts[i], alone.forward(prompt, logits_all=True))
        for step, out in zip(steps_of[i], got[i]):
            np.testing.assert_array_equal(out, alone.forward(np.array([nexts[step, i]])))
    with pytest.raises(ValueError, match="once"):
        together.forward_sequences([(together.caches[0], [1]), (together.caches[0], [2])])


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
    parallel: it must agree with the reference there too."""
    path = tiny_model(model_dir, "llama3", weight_type, n_kv_head=2)
    tokens = np.random.default_rng(2).integers(0, 400, size=560)
    model = LlamaModel(GGUFFile(path), n_ctx=600)
    model.forward(tokens[:-4], need_logits=False)
    stepwise = np.concatenate([model.forward(tokens[i:i + 1]) for i in range(len(tokens) - 4, len(tokens))])
    reference = ReferenceLlama(path)
    for t in tokens[:-4]:
        reference.step(int(t), quantized=True)
    want = np.stack([reference.step(int(t), quantized=True) for t in tokens[-4:]])
    # over 556 cached positions some rounding steps are certain: close, not exact
    assert_exact_but_rounding_steps(stepwise, want, min_exact=0)
