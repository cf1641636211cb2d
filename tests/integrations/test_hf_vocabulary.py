"""Reading a Hugging Face tokenizer.json as the grammar engine's vocabulary (needs only `tokenizers`)."""

import json

import pytest
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

from constrain.errors import ConstrainError, TokenizerError
from constrain.grammars import TokenVocabulary
from constrain.integrations.hf_tokenizer import tokenizers_tokenizer
from constrain.integrations.hf_vocabulary import UnsupportedTokenizerError, vocabulary_from_hf
from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.synthetic_gguf import tiny_shape, write_llama_gguf
from constrain.runtime.tokenizer import load_tokenizer, read_vocabulary


def own_and_hf(path):
    metadata = GGUFFile(path).metadata
    own = load_tokenizer(metadata)
    return own, tokenizers_tokenizer(read_vocabulary(metadata))


def test_byte_level_vocabulary_of_the_default_model_is_constrains_own(default_model_file):
    own, hf = own_and_hf(default_model_file)
    vocab = vocabulary_from_hf(hf, eos_token_id=sorted(own.eog_ids))
    assert vocab == TokenVocabulary.from_tokenizer(own)
    assert vocab.n_vocab == 49152
    assert vocab.fingerprint() == TokenVocabulary.from_tokenizer(own).fingerprint()  # shares the trie cache


@pytest.mark.parametrize("shape", ["tinyllama", "llama2"])
def test_sentencepiece_byte_fallback_vocabulary_is_constrains_own(tmp_path, shape):
    own, hf = own_and_hf(write_llama_gguf(tmp_path / "spm.gguf", tiny_shape(shape)))
    vocab = vocabulary_from_hf(hf, eos_token_id=sorted(own.eog_ids))
    assert vocab == TokenVocabulary.from_tokenizer(own)
    assert vocab.token_bytes[3 + 0x41] == b"A"  # <0x41>
    assert vocab.token_bytes[hf.token_to_id("\u2581t")] == b" t"
    assert {0, 1, 2} <= vocab.forbidden  # <unk> <s> </s>


def test_tokenizer_json_file_and_folder(tmp_path, default_model_file):
    own, hf = own_and_hf(default_model_file)
    hf.save(str(tmp_path / "tokenizer.json"))
    expected = TokenVocabulary.from_tokenizer(own)
    assert vocabulary_from_hf(tmp_path / "tokenizer.json", eos_token_id=sorted(own.eog_ids)) == expected
    assert vocabulary_from_hf(str(tmp_path), eos_token_id=sorted(own.eog_ids)) == expected


def _unigram(pieces, **kwargs):
    return Tokenizer(models.Unigram([(p, -float(i)) for i, p in enumerate(pieces)], **kwargs))


def test_metaspace_decoder_with_its_own_replacement_character():
    tok = _unigram(["<unk>", "|the", "|", "a", "<0x0A>"], unk_id=0)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="|")
    tok.decoder = decoders.Metaspace(replacement="|")
    vocab = vocabulary_from_hf(tok, eos_token_id=0)
    # no byte fallback: "<0x0A>" is five characters of text
    assert vocab.token_bytes[1:] == (b" the", b" ", b"a", b"<0x0A>")
    assert vocab.forbidden == {0}  # the unknown token


def test_literal_pieces_with_byte_fallback_and_added_tokens():
    tok = _unigram(["<unk>", "hello world", "<0xC3>", "<0xA9>"], unk_id=0, byte_fallback=True)
    tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse()])
    tok.add_tokens([AddedToken("<tool>", special=False, normalized=False)])
    tok.add_special_tokens([AddedToken("<|end|>", special=True)])
    vocab = vocabulary_from_hf(tok, eos_token_id=5)
    assert vocab.token_bytes[1:5] == (b"hello world", b"\xc3", b"\xa9", b"<tool>")
    assert vocab.forbidden == {0, 5} and vocab.eos_ids == {5}


def test_ids_no_token_uses_are_control_tokens():
    tok = Tokenizer(models.BPE({"a": 0, "b": 1, "ab": 4}, [("a", "b")]))
    tok.decoder = decoders.ByteLevel()
    vocab = vocabulary_from_hf(tok, eos_token_id=[1])
    assert vocab.n_vocab == 5 and vocab.token_bytes[2] == b""
    assert vocab.forbidden == {1, 2, 3}


def test_pre_tokenizer_tells_the_spelling_when_there_is_no_decoder():
    tok = Tokenizer(models.BPE({"\u0120a": 0, "b": 1}, []))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel()
    assert vocabulary_from_hf(tok, eos_token_id=1).token_bytes[0] == b" a"


# -- refusals -------------------------------------------------------------------------------------
def test_wordpiece_is_refused():
    tok = Tokenizer(models.WordPiece({"[UNK]": 0, "hello": 1, "##s": 2}, unk_token="[UNK]"))
    tok.decoder = decoders.WordPiece()
    with pytest.raises(UnsupportedTokenizerError, match="WordPiece"):
        vocabulary_from_hf(tok, eos_token_id=0)


def test_a_vocabulary_without_spelling_rules_is_refused():
    tok = Tokenizer(models.BPE({"a": 0, "b": 1}, []))  # no decoder: decode would join with spaces
    with pytest.raises(UnsupportedTokenizerError, match="cannot tell how its tokens spell text"):
        vocabulary_from_hf(tok, eos_token_id=0)


def test_end_of_sequence_must_be_known_and_in_range():
    tok = Tokenizer(models.BPE({"a": 0, "b": 1}, []))
    tok.decoder = decoders.ByteLevel()
    with pytest.raises(UnsupportedTokenizerError, match="pass eos_token_id="):
        vocabulary_from_hf(tok)
    with pytest.raises(UnsupportedTokenizerError, match=r"eos_token_id \[7\] is outside"):
        vocabulary_from_hf(tok, eos_token_id=7)
    with pytest.raises(UnsupportedTokenizerError, match="must be an int or a non-empty list"):
        vocabulary_from_hf(tok, eos_token_id=[])


def test_files_that_are_not_tokenizer_json(tmp_path):
    with pytest.raises(UnsupportedTokenizerError, match="cannot read tokenizer file"):
        vocabulary_from_hf(tmp_path / "missing.json", eos_token_id=0)
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(UnsupportedTokenizerError, match="JSON error"):
        vocabulary_from_hf(tmp_path / "broken.json", eos_token_id=0)
    (tmp_path / "other.json").write_text(json.dumps({"version": "1.0"}))
    with pytest.raises(UnsupportedTokenizerError, match='no "model" object'):
        vocabulary_from_hf(tmp_path / "other.json", eos_token_id=0)


def test_objects_that_are_not_fast_tokenizers():
    class SlowTokenizer:  # what transformers' Python tokenizers offer: no backend_tokenizer
        def convert_ids_to_tokens(self, ids):
            return []

    with pytest.raises(UnsupportedTokenizerError, match="slow .* use_fast=True"):
        vocabulary_from_hf(SlowTokenizer(), eos_token_id=0)
    with pytest.raises(UnsupportedTokenizerError, match="got int"):
        vocabulary_from_hf(42, eos_token_id=0)
    assert issubclass(UnsupportedTokenizerError, TokenizerError)
    assert issubclass(UnsupportedTokenizerError, ConstrainError)
