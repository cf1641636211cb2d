"""lark grammar text -> what the engine needs: ordered terminals, %ignore, LALR(1) tables.

Everything here mirrors what lark's LALR parser with the contextual lexer does, so the matcher
accepts exactly the texts `Lark(text, parser="lalr").parse` accepts.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from typing import NamedTuple

import lark

from constrain.grammars.errors import GrammarError
from constrain.grammars.lark_guard import check_grammar_text
from constrain.grammars.lark_internals import (
    has_postlexer,
    ignored_terminals,
    is_shift,
    is_string_pattern,
    lalr_parse_table,
)

# lark's common.ESCAPED_STRING uses a lookbehind. This regular expression is equivalent for
# `re.match`: a quote, then characters where every backslash escapes the next non-newline
# character, up to the first unescaped quote.
_ESCAPED_STRING = r'".*?(?<!\\)(\\\\)*?"'
_ESCAPED_STRING_REGULAR = r'"(?:[^"\\\n]|\\[^\n])*"'

NOT_LALR_ADVICE = (
    "constrain compiles grammars with lark's LALR(1) parser (the Earley parser is not supported, "
    "see docs/grammars.md). Rewrite the grammar so that one token of lookahead decides every "
    "reduction: merge rules that derive the same text, factor common prefixes "
    "(a: x y | x z -> a: x (y | z)), or move ambiguity into a single terminal."
)


@dataclass(frozen=True)
class TerminalInfo:
    name: str
    regexp: str  # Python regex for the terminal, as lark matches it
    value: str  # the literal text for string terminals, lark's pattern value otherwise
    priority: int
    is_string: bool
    flags: frozenset
    sort_key: tuple  # lark's lexer order: first in this order wins
    line: int | None  # line of its definition in the grammar text, if any


class Shift(NamedTuple):
    """Take the terminal and go to parser state `state`."""

    state: int
    shifts = True  # a class constant, not a field: readers ask it instead of testing the type


class Reduce(NamedTuple):
    """Pop `size` states (the rule's right-hand side) and go on with nonterminal `lhs`."""

    lhs: str
    size: int
    shifts = False


Action = Shift | Reduce  # a goto on a nonterminal is a Shift too, as in lark's tables


@dataclass
class ParsedGrammar:
    """Terminals in lark's lexer order, LALR(1) tables with states as dense ints."""

    text: str
    start: str
    terminals: list[TerminalInfo]
    ignore: frozenset[str]
    actions: list[dict[str, Action]]  # per state: symbol -> what lark's LALR parser does
    start_state: int
    end_state: int
    contexts: list[frozenset]  # per state: terminal names lark's contextual lexer tries
    lark_parser: lark.Lark
    conflicts: list[str] = field(default_factory=list)


def parse_lark(text: str, start: str = "start", source_path: str | None = None) -> ParsedGrammar:
    """`source_path`: the grammar's file, which relative %imports resolve against (text without
    a file cannot import relatively)."""
    check_grammar_text(text, source_path)
    conflict_log = _ConflictLog()
    lark_logger = logging.getLogger("lark")
    # lark reports shift/reduce conflicts at debug level: listen to them without letting
    # lark's own handler print them (or its other debug chatter)
    saved = (lark_logger.level, list(lark_logger.handlers), lark_logger.propagate)
    lark_logger.handlers = [conflict_log]
    lark_logger.propagate = False
    lark_logger.setLevel(logging.DEBUG)
    cache_file = _lark_cache_file(text, start, source_path)
    options = dict(parser="lalr", lexer="contextual", start=start)
    if source_path is not None:
        options["source_path"] = source_path
    try:
        try:
            parser = lark.Lark(text, cache=cache_file, **options)
        except Exception:  # noqa: BLE001 - a damaged cache file, or a grammar error the retry reports
            _remove(cache_file)
            parser = lark.Lark(text, **options)
    except lark.exceptions.GrammarError as exc:
        raise GrammarError(_explain_lark_error(str(exc))) from None
    except lark.exceptions.LarkError as exc:
        raise GrammarError(f"grammar error: {exc}") from None
    except OSError as exc:  # an %import lark could not find
        raise GrammarError(f"grammar error: cannot import {exc.filename or exc}: {exc.strerror or exc}") from None
    except RecursionError:
        raise GrammarError("the grammar nests too deeply for lark to compile") from None
    finally:
        lark_logger.setLevel(saved[0])
        lark_logger.handlers = saved[1]
        lark_logger.propagate = saved[2]
    parsed = _extract(parser, text, start)
    parsed.conflicts = conflict_log.messages
    if parsed.conflicts:
        _remove(cache_file)  # conflicts are only reported while lark analyses: keep that happening
    _check_nonempty_language(parser, start)
    return parsed


def _lark_cache_file(text: str, start: str, source_path: str | None = None) -> str | bool:
    """Where lark keeps its analysis of this grammar (LALR tables, terminals) for later processes,
    keyed by content and lark's version; False (no cache) when the folder cannot be written."""
    from constrain.grammars.vocabulary import cache_dir

    folder = cache_dir() / "lark"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    digest = hashlib.sha256(f"{lark.__version__}\0{start}\0{source_path}\0{text}".encode()).hexdigest()[:40]
    return str(folder / f"{digest}.lark-cache")


def _remove(path) -> None:
    if path:
        try:
            os.unlink(path)
        except OSError:
            pass


class _ConflictLog(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record):
        msg = record.getMessage()
        if "conflict" in msg.lower() or (self.messages and msg.startswith(" * ")):
            self.messages.append(msg.strip())


def _explain_lark_error(message: str) -> str:
    if "collision" in message.lower() or "conflict" in message.lower():
        return f"grammar is not LALR(1): {message.strip()}\n{NOT_LALR_ADVICE}"
    return f"grammar error: {message.strip()}"


def _extract(parser: lark.Lark, text: str, start: str) -> ParsedGrammar:
    table = lalr_parse_table(parser)
    if has_postlexer(parser):
        raise GrammarError("grammars with a post-lexer (e.g. an Indenter) are not supported")
    terminals = [_terminal_info(t, text) for t in parser.terminals]
    names = {t.name for t in terminals}
    actions, contexts = [], []
    for state in range(len(table.states)):
        row = {}
        for symbol, (action, arg) in table.states[state].items():
            # plain str keys: lark's Token names compare through a Python-level __eq__
            if is_shift(action):
                row[str(symbol)] = Shift(arg)
            else:
                row[str(symbol)] = Reduce(str(arg.origin.name), len(arg.expansion))
        actions.append(row)
        contexts.append(frozenset(s for s in row if s in names))
    return ParsedGrammar(
        text=text,
        start=start,
        terminals=terminals,
        ignore=frozenset(ignored_terminals(parser)),
        actions=actions,
        start_state=table.start_states[start],
        end_state=table.end_states[start],
        contexts=contexts,
        lark_parser=parser,
    )


def _terminal_info(term, text: str) -> TerminalInfo:
    pattern = term.pattern
    regexp = pattern.to_regexp()
    if regexp == _ESCAPED_STRING:
        regexp = _ESCAPED_STRING_REGULAR
    try:
        # lark's lexer joins the terminals into one alternation: a pattern that only compiles
        # on its own (inline global flags such as (?i) in the middle) breaks every parse
        re.compile(f"(?:{regexp})|x")
    except re.error as exc:
        line = definition_line(text, term.name)
        raise GrammarError(
            f"terminal {term.name}" + (f" (grammar line {line})" if line else "")
            + f": its pattern does not work inside lark's lexer ({exc}); write flags after the "
            "pattern, as in /[a-z]+/i") from None
    return TerminalInfo(
        name=term.name,
        regexp=regexp,
        value=pattern.value,
        priority=term.priority,
        is_string=is_string_pattern(pattern),
        flags=frozenset(pattern.flags),
        sort_key=(-term.priority, -pattern.max_width, -len(pattern.value), term.name),
        line=definition_line(text, term.name),
    )


def definition_line(text: str, name: str) -> int | None:
    match = re.search(r"^[ \t]*%s(\.-?\d+)?[ \t]*:" % re.escape(name), text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _check_nonempty_language(parser: lark.Lark, start: str) -> None:
    """Refuse a start rule that derives no finite string (e.g. `start: start "a"`)."""
    productive: set[str] = set()
    rules = [(r.origin.name, [s.name for s in r.expansion if not s.is_term]) for r in parser.rules]
    changed = True
    while changed:
        changed = False
        for lhs, nonterminals in rules:
            if lhs not in productive and all(n in productive for n in nonterminals):
                productive.add(lhs)
                changed = True
    if start not in productive:
        raise GrammarError(
            f"the grammar's language is empty: rule {start!r} derives no finite text "
            "(every alternative recurses without a way out)"
        )
