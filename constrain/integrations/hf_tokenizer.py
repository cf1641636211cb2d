"""A Hugging Face fast tokenizer built from a GGUF file's vocabulary, for tests and benchmarks.

It is laid out as the Hub's tokenizer.json files are: byte-level BPE vocabularies ("gpt2") get a
BPE model, the GGUF pre-tokenizer's split regexes and ByteLevel; sentencepiece vocabularies
("llama") get a Unigram model with byte fallback, the "\u2581" space normalizer and the
Replace / ByteFallback / Fuse / Strip decoder of Llama 2's tokenizer.json. Control, unknown and
unused tokens become special added tokens, user-defined tokens plain added tokens. (transformers
can convert a GGUF file too, AutoTokenizer.from_pretrained(folder, gguf_file=name), but reads
the whole file with the gguf package's slow reader: seconds for the default model.)
"""

from __future__ import annotations

import os

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.tokenizer.bpe import pre_tokenizer_regexes
from constrain.runtime.tokenizer.pieces import SPM_SPACE
from constrain.runtime.tokenizer.vocab import GgufVocabulary, TokenType, read_vocabulary

_SPECIAL_TYPES = (TokenType.CONTROL, TokenType.UNKNOWN, TokenType.UNUSED, TokenType.UNDEFINED)


def tokenizers_tokenizer(vocab: GgufVocabulary) -> Tokenizer:
    """The `tokenizers.Tokenizer` a tokenizer.json for `vocab` would describe."""
    if vocab.model == "gpt2":
        merges = [tuple(m.split(" ", 1)) for m in vocab.merges or []]
        tokenizer = Tokenizer(models.BPE(vocab.text_to_id, merges))
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Split(Regex(r), behavior="isolated") for r in pre_tokenizer_regexes(vocab.pre)]
            + [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        tokenizer.decoder = decoders.ByteLevel()
    else:
        scores = vocab.scores.tolist() if vocab.scores is not None else [0.0] * vocab.n_vocab
        tokenizer = Tokenizer(models.Unigram(list(zip(vocab.tokens, scores)), unk_id=vocab.unk_id,
                                             byte_fallback=True))
        tokenizer.normalizer = normalizers.Sequence([normalizers.Prepend(SPM_SPACE),
                                                     normalizers.Replace(" ", SPM_SPACE)])
        tokenizer.decoder = decoders.Sequence([decoders.Replace(SPM_SPACE, " "), decoders.ByteFallback(),
                                               decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    types = vocab.types.tolist()
    special = [AddedToken(vocab.tokens[i], special=True, normalized=False)
               for i, kind in enumerate(types) if kind in _SPECIAL_TYPES]
    user = [AddedToken(vocab.tokens[i], special=False, normalized=False)
            for i, kind in enumerate(types) if kind == TokenType.USER_DEFINED]
    tokenizer.add_special_tokens(special)
    tokenizer.add_tokens(user)
    return tokenizer


def hf_tokenizer(vocab: GgufVocabulary):
    """A transformers PreTrainedTokenizerFast for `vocab` (needs transformers)."""
    from transformers import PreTrainedTokenizerFast

    def text(i):
        return None if i is None else vocab.tokens[i]

    return PreTrainedTokenizerFast(tokenizer_object=tokenizers_tokenizer(vocab), bos_token=text(vocab.bos_id),
                                   eos_token=text(vocab.eos_id), unk_token=text(vocab.unk_id),
                                   pad_token=text(vocab.eos_id), model_input_names=["input_ids", "attention_mask"])


def hf_tokenizer_from_gguf(path: str | os.PathLike):
    """A transformers PreTrainedTokenizerFast for the vocabulary of the GGUF file at `path`."""
    return hf_tokenizer(read_vocabulary(GGUFFile(path).metadata))


__all__ = ["hf_tokenizer", "hf_tokenizer_from_gguf", "tokenizers_tokenizer"]
