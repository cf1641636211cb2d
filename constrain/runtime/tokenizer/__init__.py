"""Tokenizers built from GGUF metadata: sentencepiece ("llama") and byte-level BPE ("gpt2")."""

from constrain.runtime.tokenizer.stream import StreamDecoder
from constrain.runtime.tokenizer.tokenizer import Tokenizer, load_tokenizer
from constrain.runtime.tokenizer.vocab import GgufVocabulary, TokenType, read_vocabulary

__all__ = ["GgufVocabulary", "StreamDecoder", "Tokenizer", "TokenType", "load_tokenizer", "read_vocabulary"]
