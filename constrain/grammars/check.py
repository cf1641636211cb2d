"""check_grammar: what `constrain grammar check FILE` prints - errors, conflicts, sample sentences."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from constrain.grammars.engine import DEAD, GrammarEngine
from constrain.grammars.errors import GrammarError


@dataclass
class GrammarReport:
    source: str
    ok: bool
    errors: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    n_terminals: int = 0
    n_parser_states: int = 0
    samples: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"grammar: {self.source}", f"status: {'ok' if self.ok else 'error'}"]
        lines += [f"error: {e}" for e in self.errors]
        if self.ok:
            lines.append(f"terminals: {self.n_terminals}, LALR(1) states: {self.n_parser_states}")
        if self.conflicts:
            lines.append("shift/reduce conflicts (lark resolves them as shift):")
            lines += [f"  {c}" for c in self.conflicts]
        if self.samples:
            lines.append("sample sentences:")
            lines += [f"  {s!r}" for s in self.samples]
        return "\n".join(lines)


def check_grammar(path_or_text, start: str = "start", n_samples: int = 5, seed: int = 0) -> GrammarReport:
    """Compile a grammar (a path to .lark/.gbnf or the text itself) and report on it."""
    from constrain.grammars.grammar import Grammar

    source, is_file = _describe(path_or_text)
    try:
        grammar = Grammar.from_file(path_or_text, start) if is_file else Grammar(str(path_or_text), start)
    except GrammarError as exc:
        return GrammarReport(source=source, ok=False, errors=[str(exc)])
    engine = grammar.engine
    report = GrammarReport(
        source=source,
        ok=True,
        conflicts=list(engine.grammar.conflicts),
        n_terminals=len(engine.grammar.terminals),
        n_parser_states=len(engine.grammar.actions),
    )
    rng = random.Random(seed)
    for _ in range(n_samples * 4):
        if len(report.samples) >= n_samples:
            break
        text = sample_sentence(engine, rng)
        if text is not None and grammar.accepts(text) and text not in report.samples:
            report.samples.append(text)
    return report


def _describe(path_or_text) -> tuple[str, bool]:
    if isinstance(path_or_text, Path):
        return str(path_or_text), True
    text = str(path_or_text)
    if "\n" not in text and len(text) < 4096 and Path(text).suffix.lower() in (".lark", ".gbnf"):
        return text, True
    return "<text>", False




def sample_sentence(engine: GrammarEngine, rng: random.Random, max_bytes: int = 120) -> str | None:
    """A random walk over bytes the grammar allows, stopping at an accepting point."""
    hid, out = engine.start, bytearray()
    while len(out) < max_bytes:
        if engine.is_accepting(hid) and rng.random() < 0.3 + len(out) / max_bytes:
            break
        options = [b for b in range(256) if engine.step(hid, b) != DEAD]
        if not options:
            break
        ascii_options = [b for b in options if 32 <= b < 127 or b in (9, 10, 13)]
        pool = ascii_options if ascii_options and rng.random() < 0.95 else options
        byte = rng.choice(pool)
        out.append(byte)
        hid = engine.step(hid, byte)
    if not engine.is_accepting(hid):
        return None
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        return None
