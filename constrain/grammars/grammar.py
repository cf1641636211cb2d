"""Compiled grammars; `grammar.matcher(tokenizer)` starts a constrained generation.

Two engines sit behind one interface. `Grammar` is a lark grammar (LALR(1), lark's contextual
lexer, matched byte for byte). `LexemeGrammar` is a grammar made of lexemes with a parser above
them, built directly from a regular expression, a list of choices or a JSON Schema (no lark text in
between). Both compile once per content (the bounded cache in compiled_cache.py) and share their
memo tables among all matchers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import lark

from constrain.grammars.compiled_cache import ENGINES
from constrain.grammars.engine import DEAD, GrammarEngine
from constrain.grammars.errors import GrammarError
from constrain.grammars.gbnf import gbnf_to_lark
from constrain.grammars.lark_frontend import parse_lark
from constrain.grammars.lark_internals import has_grammar_object
from constrain.grammars.lexemes.engine import LexemeEngine, LexemeParser
from constrain.grammars.matcher import GrammarMatcher
from constrain.grammars.vocabulary import TokenVocabulary, load_trie
from constrain.protocols import VocabularySource


def content_hash(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _compile_bounded(what: str, compile_it):
    """`compile_it()`, with Python's recursion limit turned into a GrammarError: the front ends
    refuse deep nesting where they can name it; this catches what nests inside libraries."""
    try:
        return compile_it()
    except RecursionError:
        raise GrammarError(f"{what[:200]} nests too deeply to compile (groups inside groups)") from None


class CompiledGrammar:
    """What every grammar offers: matchers for a tokenizer, and recognition of whole texts."""

    engine: GrammarEngine | LexemeEngine

    def _mask_builder(self, trie):
        raise NotImplementedError

    def matcher(self, tokenizer: VocabularySource | TokenVocabulary) -> GrammarMatcher:
        """A fresh matcher for a tokenizer (constrain.protocols.VocabularySource), or a TokenVocabulary."""
        vocab = TokenVocabulary.from_tokenizer(tokenizer)
        fingerprint = vocab.fingerprint()
        masks = self.engine.mask_builders.get(fingerprint)
        if masks is None:
            masks = self._mask_builder(load_trie(vocab))
            self.engine.mask_builders[fingerprint] = masks
            done, self.engine.after_first_mask = self.engine.after_first_mask, None
            if done is not None:
                done()
        return GrammarMatcher(self.engine, vocab, masks)

    def accepts_bytes(self, data: bytes) -> bool:
        """Whether `data` is a complete sentence, as the matcher decides byte by byte."""
        state = self.engine.step_bytes(self.engine.start, data)
        return state != DEAD and self.engine.is_accepting(state)


class Grammar(CompiledGrammar):
    """A grammar in lark syntax (LALR(1)), compiled once per content and shared by all matchers."""

    def __init__(self, lark_text: str, start: str = "start", source_path: str | None = None):
        if not isinstance(lark_text, str):
            raise GrammarError(f"grammar text must be a str, got {type(lark_text).__name__}")
        self.lark_text = lark_text
        self.start = start
        self.source_path = source_path
        self.key = content_hash("lark", start, lark_text, source_path or "")
        self.engine = _compile_bounded(
            "the grammar", lambda: ENGINES.get_or_build(
                self.key, lambda: GrammarEngine(parse_lark(lark_text, start, source_path))))

    # -- constructors ----------------------------------------------------------------------
    @classmethod
    def from_lark(cls, text: str, start: str = "start") -> Grammar:
        return cls(text, start)

    @classmethod
    def from_gbnf(cls, text: str, root: str = "root") -> Grammar:
        return cls(gbnf_to_lark(text, root))

    @classmethod
    def from_file(cls, path, start: str = "start") -> Grammar:
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
        return cls(text, start, source_path=str(path.resolve()))

    # -- use -------------------------------------------------------------------------------
    def _mask_builder(self, trie):
        from constrain.grammars.masks import MaskBuilder  # numba's kernels: loaded with the first matcher

        return MaskBuilder(self.engine, trie)

    @property
    def lark(self) -> lark.Lark:
        """lark's own LALR parser for this grammar: the ground truth the matcher agrees with."""
        parsed = self.engine.grammar
        if not has_grammar_object(parsed.lark_parser):
            # loaded from lark's cache, which keeps the tables but not the grammar object that
            # tools such as hypothesis.extra.lark read: build the full parser once, on demand
            options = {"source_path": self.source_path} if self.source_path else {}
            parsed.lark_parser = lark.Lark(self.lark_text, parser="lalr", lexer="contextual", start=self.start,
                                           **options)
        return parsed.lark_parser

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


class LexemeGrammar(CompiledGrammar):
    """A grammar compiled straight to lexemes and a parser (regex, choice, JSON Schema)."""

    def __init__(self, key: str, build_parser: Callable[[], LexemeParser], description: str):
        self.key = key
        self.description = description
        self.engine = _compile_bounded(
            description, lambda: ENGINES.get_or_build(key, lambda: LexemeEngine(build_parser())))

    def _mask_builder(self, trie):
        from constrain.grammars.lexemes.masks import LexemeMaskBuilder  # numba's kernels: loaded with the first matcher

        return LexemeMaskBuilder(self.engine, trie)

    def accepts(self, text: str) -> bool:
        """Whether `text` is a complete sentence of the grammar."""
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return self.accepts_bytes(data)

    def __repr__(self) -> str:
        return f"LexemeGrammar({self.description[:60]!r})"
