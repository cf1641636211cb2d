"""Byte-level BPE encoding (tokenizer.ggml.model == "gpt2") through the `tokenizers` library.

The pre-tokenizer is the sequence of split regexes llama.cpp uses for the vocabulary's
`tokenizer.ggml.pre`: each regex cuts every current chunk into its matches and the text
between them, then the chunks go through GPT-2's byte-to-character table and the merges.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tokenizers import Regex, Tokenizer, models, pre_tokenizers

from constrain.errors import TokenizerError
from constrain.runtime.tokenizer.pieces import byte_level_to_bytes
from constrain.runtime.tokenizer.special_split import Part
from constrain.runtime.tokenizer.vocab import GgufVocabulary

_GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
# llama.cpp writes Llama 3's case-insensitive contractions out, as (?i:...) is not portable
_LLAMA3 = (r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
           r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_QWEN2 = (r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
          r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

_FAMILIES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("default",): (r"[\p{P}\$\+<=>\^~\|]+", _GPT2, r"\p{N}+", r"[0-9][0-9][0-9]"),
    ("llama3", "llama-v3", "llama-bpe", "falcon3", "dbrx", "smaug-bpe"): (_LLAMA3,),
    # "gpt2" is not a name llama.cpp writes, but is accepted as an alias of its "gpt-2"
    ("gpt-2", "gpt2", "phi-2", "roberta-bpe", "mpt", "olmo", "jais"): (_GPT2,),
    ("smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b"): (r"\p{N}", _GPT2),
    ("qwen2", "stablelm2", "megrez"): (_QWEN2,),
    ("falcon",): (r"[\p{P}\$\+<=>\^~\|`]+", _GPT2, r"[0-9][0-9][0-9]"),
}
PRE_TOKENIZER_REGEXES: dict[str, tuple[str, ...]] = {name: r for names, r in _FAMILIES.items() for name in names}
# Pre-tokenizers whose vocabularies look a whole chunk up before merging (llama.cpp ignore_merges).
IGNORE_MERGES = frozenset({"llama3", "llama-v3", "llama-bpe", "falcon3"})


def pre_tokenizer_regexes(pre: str) -> tuple[str, ...]:
    try:
        return PRE_TOKENIZER_REGEXES[pre]
    except KeyError:
        raise TokenizerError(
            f"tokenizer.ggml.pre = {pre!r} is not supported; supported pre-tokenizers: "
            + ", ".join(sorted(PRE_TOKENIZER_REGEXES))
        ) from None


_NO_SPACE_LINE = re.compile(r"^[^ \n]*$", re.MULTILINE)


def _split_merges(merges: Sequence[str]) -> list[tuple[str, str]] | None:
    """(left, right) pairs by C-speed string operations, or None when some merge is not
    exactly "left right" with one space (then `_checked_merge_pairs` handles them)."""
    joined = "\n".join(merges)
    # as many spaces as merges and no merge without one: exactly one space per merge
    if (joined.count(" ") != len(merges) or joined.count("\n") != len(merges) - 1
            or joined.startswith(" ") or "\n " in joined or _NO_SPACE_LINE.search(joined)):
        return None
    sides = joined.replace(" ", "\n").split("\n")
    return list(zip(sides[::2], sides[1::2]))


def _checked_merge_pairs(merges: Sequence[str], vocab: dict[str, int]) -> list[tuple[str, str]]:
    """(left, right) pairs in rank order; merges that can never yield a token are dropped,
    since `tokenizers` refuses them (llama.cpp falls back to bytes for their result)."""
    pairs = []
    for rank, merge in enumerate(merges):
        # llama.cpp splits at the first space after the first character
        cut = merge.find(" ", 1)
        if cut < 0:
            raise TokenizerError(f"tokenizer.ggml.merges[{rank}] = {merge!r} is not two tokens separated by a space")
        left, right = merge[:cut], merge[cut + 1:]
        if left + right in vocab and left in vocab and right in vocab:
            pairs.append((left, right))
    return pairs


def _bpe_model(vocab: GgufVocabulary) -> models.BPE:
    merges = vocab.merges or []
    ignore_merges = vocab.pre in IGNORE_MERGES
    pairs = _split_merges(merges)
    if pairs is not None:
        try:
            # well-formed vocabularies: let tokenizers check the merges, much faster than Python
            return models.BPE(vocab.text_to_id, pairs, ignore_merges=ignore_merges)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # a Rust panic in tokenizers is a BaseException
            pass
    pairs = _checked_merge_pairs(merges, vocab.text_to_id)
    try:
        return models.BPE(vocab.text_to_id, pairs, ignore_merges=ignore_merges)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:
        raise TokenizerError(f"cannot build the BPE tokenizer from the GGUF vocabulary: {e}") from e


class BPEEncoder:
    """Encodes plain-text fragments with a byte-level BPE vocabulary."""

    def __init__(self, vocab: GgufVocabulary):
        regexes = pre_tokenizer_regexes(vocab.pre)
        hf = Tokenizer(_bpe_model(vocab))
        hf.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Split(Regex(r), behavior="isolated") for r in regexes]
            + [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
        )
        self._hf = hf

    def encode_parts(self, parts: Sequence[Part]) -> list[int]:
        ids: list[int] = []
        for part in parts:
            if isinstance(part, str):
                # one call per fragment: the batch calls would start tokenizers' thread pool
                ids.extend(self._hf.encode(part, add_special_tokens=False).ids)
            else:
                ids.append(part)
        return ids

    def pre_tokenize(self, text: str) -> list[str]:
        """The chunks the merges run on, as text (for tests and debugging)."""
        chunks = self._hf.pre_tokenizer.pre_tokenize_str(text)
        return [byte_level_to_bytes(s).decode("utf-8", "replace") for s, _ in chunks]
