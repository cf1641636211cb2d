"""Grammar: a compiled lark grammar; `grammar.matcher(tokenizer)` starts a constrained generation."""

from __future__ import annotations

import hashlib
from pathlib import Path

import lark

from constrain.grammars.engine import GrammarEngine
from constrain.grammars.errors import GrammarError
from constrain.grammars.lark_frontend import parse_lark
from constrain.grammars.masks import MaskBuilder
from constrain.grammars.matcher import GrammarMatcher
from constrain.grammars.vocabulary import TokenVocabulary, load_trie

_ENGINES: dict[str, GrammarEngine] = {}  # compiled grammars by content hash


def content_hash(text: str, start: str) -> str:
    return hashlib.sha256(f"{start}\0{text}".encode()).hexdigest()


class Grammar:
    """A grammar in lark syntax (LALR(1)), compiled once per content and shared by all matchers."""

    def __init__(self, lark_text: str, start: str = "start"):
        if not isinstance(lark_text, str):
            raise GrammarError(f"grammar text must be a str, got {type(lark_text).__name__}")
        self.lark_text = lark_text
        self.start = start
        self.key = content_hash(lark_text, start)
        engine = _ENGINES.get(self.key)
        if engine is None:
            engine = GrammarEngine(parse_lark(lark_text, start))
            _ENGINES[self.key] = engine
        self.engine = engine

    # -- constructors ----------------------------------------------------------------------
    @classmethod
    def from_lark(cls, text: str, start: str = "start") -> "Grammar":
        return cls(text, start)

    @classmethod
    def from_gbnf(cls, text: str, root: str = "root") -> "Grammar":
        from constrain.grammars.gbnf import gbnf_to_lark

        return cls(gbnf_to_lark(text, root))

    @classmethod
    def from_file(cls, path, start: str = "start") -> "Grammar":
        """A .lark file (or .gbnf for llama.cpp grammars, whose start rule is `root`)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise GrammarError(f"cannot read grammar file {path}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise GrammarError(f"grammar file {path} is not UTF-8: {exc}") from None
        if path.suffix.lower() == ".gbnf":
            return cls.from_gbnf(text)
        return cls(text, start)

    # -- use -------------------------------------------------------------------------------
    def matcher(self, tokenizer) -> GrammarMatcher:
        """A fresh matcher; `tokenizer` offers vocab_bytes(), control_ids, eog_ids (or is a TokenVocabulary)."""
        vocab = TokenVocabulary.from_tokenizer(tokenizer)
        fingerprint = vocab.fingerprint()
        masks = self.engine.mask_builders.get(fingerprint)
        if masks is None:
            masks = MaskBuilder(self.engine, load_trie(vocab))
            self.engine.mask_builders[fingerprint] = masks
        return GrammarMatcher(self.engine, vocab, masks)

    @property
    def lark(self) -> lark.Lark:
        """lark's own LALR parser for this grammar: the ground truth the matcher agrees with."""
        return self.engine.grammar.lark_parser

    def parse(self, text: str):
        return self.lark.parse(text)

    def accepts(self, text: str) -> bool:
        """Whether lark parses `text` completely."""
        try:
            self.lark.parse(text)
        except lark.exceptions.LarkError:
            return False
        return True

    def __repr__(self) -> str:
        first = self.lark_text.strip().splitlines()[0] if self.lark_text.strip() else ""
        return f"Grammar({first[:40]!r}..., start={self.start!r})"
