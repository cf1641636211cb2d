"""GrammarLogitsProcessor inside transformers' generate(), on small random LlamaForCausalLM models.

Every mask the processor applies is compared, row by row and step by step, with the mask of a
fresh constrain matcher on constrain's own tokenizer of the same GGUF vocabulary, replaying the
tokens the row generated; every finished output is parsed and validated.
"""

import importlib
import json
import sys

import jsonschema
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed: pip install 'constrain[transformers]'")
transformers = pytest.importorskip("transformers",
                                   reason="transformers is not installed: pip install 'constrain[transformers]'")

from transformers import LlamaConfig, LlamaForCausalLM, LogitsProcessor, LogitsProcessorList  # noqa: E402

from constrain import grammars  # noqa: E402
from constrain.grammars import GrammarError  # noqa: E402
from constrain.integrations import grammar_rows  # noqa: E402
from constrain.integrations.hf_tokenizer import hf_tokenizer  # noqa: E402
from constrain.integrations.hf_vocabulary import UnsupportedTokenizerError  # noqa: E402
from constrain.integrations.transformers import GrammarLogitsProcessor, masked  # noqa: E402
from constrain.runtime.gguf_file import GGUFFile  # noqa: E402
from constrain.runtime.synthetic_gguf import tiny_shape, write_llama_gguf  # noqa: E402
from constrain.runtime.tokenizer import load_tokenizer, read_vocabulary  # noqa: E402

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 6},
        "age": {"type": "integer", "minimum": 0, "maximum": 130},
        "role": {"enum": ["admin", "user"]},
        "active": {"type": "boolean"},
    },
    "required": ["name", "age", "role", "active"],
}
# every sentence is at most 35 bytes: a row always finishes within 36 tokens
PAIRS_LARK = r"""
start: pair ("," pair)~0..2
pair: KEY "=" VALUE
KEY: /[a-z]{1,5}/
VALUE: /[0-9]{1,3}/ | "true" | "false"
"""
PROMPTS = ["Person as JSON:", "{", "Write the record", "a"]


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    # two torch threads on a 2-core machine that is running other work make a tiny model 100x slower
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class Setup:
    """A GGUF vocabulary three ways (constrain's tokenizer, a transformers tokenizer, the ids that
    end a generation) and a random LlamaForCausalLM with one logit per token."""

    def __init__(self, path, hidden=64):
        metadata = GGUFFile(path).metadata
        self.own = load_tokenizer(metadata)
        self.hf = hf_tokenizer(read_vocabulary(metadata))
        self.eos = sorted(self.own.eog_ids)
        self.pad = self.own.eos_id
        torch.manual_seed(0)
        config = LlamaConfig(vocab_size=len(self.hf), hidden_size=hidden, intermediate_size=2 * hidden,
                             num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                             max_position_embeddings=256, bos_token_id=self.own.bos_id, eos_token_id=self.eos,
                             pad_token_id=self.pad)
        self.model = LlamaForCausalLM(config).eval()

    def inputs(self, prompts):
        return self.hf(prompts, return_tensors="pt", padding=True, padding_side="left")


@pytest.fixture(scope="module")
def smollm(default_model_file):
    return Setup(default_model_file)


@pytest.fixture(scope="module")
def spm(tmp_path_factory):
    path = write_llama_gguf(tmp_path_factory.mktemp("spm") / "tinyllama.gguf", tiny_shape("tinyllama"))
    return Setup(path)


class AllowedRecorder(LogitsProcessor):
    """Records which logits are finite after the processors before it."""

    def __init__(self):
        self.steps = []

    def __call__(self, input_ids, scores):
        self.steps.append(torch.isfinite(scores).numpy().copy())
        return scores


def generate(setup, processor, prompts, *, seed, max_new_tokens, **kwargs):
    recorder = AllowedRecorder()
    inputs = setup.inputs(prompts)
    torch.manual_seed(seed)
    with torch.no_grad():
        out = setup.model.generate(**inputs, logits_processor=LogitsProcessorList([processor, recorder]),
                                   max_new_tokens=max_new_tokens, eos_token_id=setup.eos,
                                   pad_token_id=setup.pad, **kwargs)
    return out[:, inputs["input_ids"].shape[1]:].tolist(), recorder.steps


def replay_and_compare(setup, grammar, rows, steps) -> list[bytes | None]:
    """Replays each row through a fresh constrain matcher on constrain's own tokenizer, checking
    the recorded mask at every step; returns each row's text, or None when it did not finish."""
    texts = []
    eos_only = np.zeros(setup.model.config.vocab_size, dtype=bool)
    eos_only[setup.eos] = True
    for r, tokens in enumerate(rows):
        matcher = grammar.matcher(setup.own)
        end = None
        for k, token in enumerate(tokens[:len(steps)]):
            expected = eos_only if end is not None else matcher.mask()
            np.testing.assert_array_equal(steps[k][r], expected, err_msg=f"row {r}, step {k}")
            if end is None:
                matcher.advance(token)  # raises if the processor let a forbidden token through
                if token in setup.own.eog_ids:
                    end = k
        texts.append(None if end is None else setup.own.decode(tokens[:end]))
    return texts


def test_json_schema_at_batch_4_masks_equal_constrains_own(smollm):
    grammar = grammars.json_schema(PERSON)
    processor = GrammarLogitsProcessor(PERSON, smollm.hf, eos_token_id=smollm.eos)
    rows, steps = generate(smollm, processor, PROMPTS, seed=1, do_sample=True, max_new_tokens=120)
    texts = replay_and_compare(smollm, grammar, rows, steps)
    assert all(t is not None for t in texts), texts
    values = [json.loads(t) for t in texts]
    for value in values:
        jsonschema.validate(value, PERSON)
    assert len({json.dumps(v, sort_keys=True) for v in values}) > 1  # sampling: rows differ


def test_lark_grammar_at_batch_4_masks_equal_constrains_own(smollm):
    grammar = grammars.Grammar.from_lark(PAIRS_LARK)
    processor = GrammarLogitsProcessor(PAIRS_LARK, smollm.hf, eos_token_id=smollm.eos)
    rows, steps = generate(smollm, processor, PROMPTS, seed=2, do_sample=True, max_new_tokens=36)
    texts = replay_and_compare(smollm, grammar, rows, steps)
    assert all(t is not None for t in texts), texts
    for text in texts:
        grammar.parse(text.decode("utf-8"))
    assert len(set(texts)) > 1


def test_sentencepiece_byte_fallback_vocabulary_at_batch_4(spm):
    grammar = grammars.regex(r"(yes|no|maybe) [a-z]{2,4}\.")
    processor = GrammarLogitsProcessor(grammar, spm.hf, eos_token_id=spm.eos)
    rows, steps = generate(spm, processor, ["the", "a", "so", "hat"], seed=3, do_sample=True, max_new_tokens=12)
    texts = replay_and_compare(spm, grammar, rows, steps)
    assert all(t is not None and grammar.accepts(t.decode()) for t in texts), texts


def test_one_processor_serves_successive_generations_and_beam_search(smollm, monkeypatch):
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}, "n": {"enum": [1, 22, 333]}},
              "required": ["ok", "n"]}
    grammar = grammars.json_schema(schema)
    processor = GrammarLogitsProcessor(grammar, smollm.hf, eos_token_id=smollm.eos)
    greedy_rows, greedy_steps = generate(smollm, processor, PROMPTS[:2], seed=4, do_sample=False,
                                         max_new_tokens=40)
    for text in replay_and_compare(smollm, grammar, greedy_rows, greedy_steps):
        assert text is not None and grammar.accepts(text.decode())
    # beam search reorders rows between steps: each row's matcher rolls back to what it shares
    # with the row's new tokens and follows the rest
    rewinds = []
    real_rewind = grammar_rows.RowMatcher.rewind
    monkeypatch.setattr(grammar_rows.RowMatcher, "rewind",
                        lambda row, keep: (rewinds.append(keep), real_rewind(row, keep)))
    inputs = smollm.inputs(PROMPTS[2:])
    with torch.no_grad():
        out = smollm.model.generate(**inputs, logits_processor=LogitsProcessorList([processor]), num_beams=3,
                                    num_return_sequences=3, do_sample=False, max_new_tokens=40,
                                    eos_token_id=smollm.eos, pad_token_id=smollm.pad)
    assert rewinds, "beam search never reordered rows: the test does not test that"
    for tokens in out[:, inputs["input_ids"].shape[1]:].tolist():
        matcher = grammar.matcher(smollm.own)
        for token in tokens:
            matcher.advance(token)
            if token in smollm.own.eog_ids:
                break
        assert matcher.is_accepting()


def test_masks_padded_logit_columns_and_keeps_the_dtype(smollm):
    processor = GrammarLogitsProcessor(grammars.choice(["yes", "no"]), smollm.hf, eos_token_id=smollm.eos)
    n = len(smollm.hf)
    ids = torch.tensor([[5, 6], [7, 8]])
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        processor.reset()
        scores = torch.zeros((2, n + 37), dtype=dtype)
        out = processor(ids, scores)
        assert out.dtype == dtype and out.shape == scores.shape
        finite = torch.isfinite(out)
        assert not finite[:, n:].any()
        allowed = {smollm.hf.decode([t]) for t in torch.nonzero(finite[0]).flatten().tolist()}
        assert allowed and allowed <= {"y", "ye", "yes", "n", "no"}
        assert torch.equal(finite[0], finite[1])


@pytest.mark.parametrize("allowed_share", [0.0, 0.001, 0.3, 0.5, 0.97, 1.0])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_masked_equals_masked_fill_whichever_side_is_written(allowed_share, dtype):
    rng = np.random.default_rng(5)
    scores = torch.from_numpy(rng.standard_normal((3, 1000)).astype(np.float32)).to(dtype)
    forbidden = rng.random((3, 1000)) >= allowed_share
    out = masked(scores, forbidden)
    assert out.dtype == dtype
    assert torch.equal(out, scores.masked_fill(torch.from_numpy(forbidden), float("-inf")))


def test_a_row_that_takes_a_forbidden_token_raises(smollm):
    processor = GrammarLogitsProcessor(grammars.choice(["yes"]), smollm.hf, eos_token_id=smollm.eos)
    n = len(smollm.hf)
    processor(torch.tensor([[5], [5]]), torch.zeros((2, n)))
    yes = smollm.own.encode("yes", add_bos=False)
    no = smollm.own.encode("no", add_bos=False)
    with pytest.raises(GrammarError, match="row 1, generated token 0: .*not allowed by the grammar"):
        processor(torch.tensor([[5, yes[0]], [5, no[0]]]), torch.zeros((2, n)))


def test_bad_grammar_and_tokenizer_arguments(smollm):
    with pytest.raises(GrammarError, match="got float"):
        GrammarLogitsProcessor(3.5, smollm.hf)
    with pytest.raises(UnsupportedTokenizerError, match="got int"):
        GrammarLogitsProcessor(PERSON, 7)
    processor = GrammarLogitsProcessor(PERSON, smollm.hf)  # the tokenizer's own eos_token_id
    assert processor.vocabulary.eos_ids == {smollm.hf.eos_token_id}
    with pytest.raises(GrammarError, match="same rows"):
        processor(torch.tensor([[1]]), torch.zeros((2, 10)))


def test_import_without_transformers_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    monkeypatch.delitem(sys.modules, "constrain.integrations.transformers")
    with pytest.raises(ImportError, match=r"pip install 'constrain\[transformers\]'"):
        importlib.import_module("constrain.integrations.transformers")
