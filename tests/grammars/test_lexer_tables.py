"""The lexer tables the mask kernel reads (lexer_tables.py) against the lexer automaton they are
built from: every state a walk can reach from a parser context has its row, acceptance and
winnable token types, and lex_ok is the plain "some viable token type can still come out"."""

from __future__ import annotations

import numpy as np
import pytest

from tests.grammars.grammar_zoo import ALL_NAMES, grammar


@pytest.mark.parametrize("name", ALL_NAMES)
def test_tables_agree_with_the_lexer_automaton(name):
    engine = grammar(name).engine
    tables = engine.lexer_tables()
    lexer = engine.lexer
    n_types = len(lexer.names)
    for parser_state in range(len(engine.grammar.contexts)):
        root = engine.context_start((parser_state,))
        tables.cover(root, 0)
        for sid in lexer.reachable(root):
            assert (tables.lex_next[sid] == lexer.next_row(sid)).all(), (name, sid)
            assert (tables.lex_end_bytes[sid] == lexer.ending_first_bytes(sid)).all()
            assert tables.lex_acc[sid] == (lexer.accept_type[sid] >= 0)
            winnable = lexer.winnable(sid)
            assert [bool(tables.winnable[sid][t >> 3] >> (t & 7) & 1) for t in range(n_types)] == \
                   [bool(winnable >> t & 1) for t in range(n_types)]
            assert (tables.loops[sid] == (lexer.next_row(sid) == sid)).all()
    start_viable = engine.viable((engine.grammar.start_state,))
    for viable in (start_viable, (1 << n_types) - 1, *(1 << t for t in range(n_types))):
        ok = tables.lex_ok(viable)
        for sid in range(tables.n_states):
            assert ok[sid] == bool(int.from_bytes(tables.winnable[sid].tobytes(), "little") & viable)
            if tables.lex_acc[sid] or (tables.lex_next[sid] >= 0).any():  # a filled row
                assert ok[sid] == bool(lexer.winnable(sid) & viable)
    assert tables.lex_next.shape == (tables.n_states, 256) and tables.lex_next.dtype == np.int32
    assert tables.shadow_keeps(0, np.ones(256, dtype=np.bool_))
