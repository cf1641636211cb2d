"""The parts of JSON text as byte terms: encoded string characters, strings, numbers, punctuation.

One encoded character of a code point set is its raw UTF-8 form (not for quote, backslash and
controls), its short escape (\\n, \\", \\/ ...) and \\uXXXX in either hex case (a surrogate pair
above U+FFFF) for controls and non-ASCII characters: everything `json.dumps` writes with
`ensure_ascii` either way. Printable ASCII spelled as \\u0041 and lone surrogates are not accepted
(no encoder writes them). Every string term is complete under that spelling discipline (it
accepts every such spelling of each string it allows), which is what makes complements exact:
"a string not matching the pattern" is `any_string AND NOT string`.

Numbers have two disciplines: unconstrained numbers accept all of JSON's number syntax; numbers
under bounds are spelled without an exponent (their regexes come from numbers.py). A complement is
taken within the narrower discipline of its operand, so it never admits a value it should not.
"""

from __future__ import annotations

from constrain.grammars.charsets import ANY_CHAR, CharSet
from constrain.grammars.json_schema.numbers import ANY_NUMBER
from constrain.grammars.json_schema.regex_translate import Alt, Chars, PatternNode, Repeat, Seq
from constrain.grammars.lexemes.from_regex import regex_term
from constrain.grammars.lexemes.terms import INFINITE, TermStore

# Exponent-free numbers: the spelling of every bounded number (see numbers.py).
NO_EXPONENT_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?"
JSON_WHITESPACE = (0x20, 0x09, 0x0A, 0x0D)
MAX_PREFIX_NESTING = 200  # branch points of a prefix tree of string literals (string_literals)

SHORT_ESCAPES = {0x22: '"', 0x5C: "\\", 0x2F: "/", 0x08: "b", 0x0C: "f", 0x0A: "n", 0x0D: "r", 0x09: "t"}
# Code points a string may hold unescaped: all but controls, quote and backslash.
RAW_ALLOWED = ANY_CHAR.minus(CharSet([(0, 0x1F)])).minus(CharSet.of('"\\'))
# Code points json.dumps may spell as \\uXXXX: controls always, non-ASCII with ensure_ascii=True.
ESCAPABLE = ANY_CHAR.minus(CharSet([(0x20, 0x7E)]))


class JsonTerms:
    """Term builders for one grammar's store, memoized."""

    @classmethod
    def of(cls, store, whitespace: int | None = None) -> JsonTerms:
        """The builders of a shared store (their memos serve every grammar of the store)."""
        helpers = getattr(store, "helpers", None)
        if helpers is None:
            return cls(store, whitespace)
        key = ("json", whitespace or 0)
        terms = helpers.get(key)
        if terms is None:
            terms = helpers[key] = cls(store, whitespace)
        return terms

    def __init__(self, store: TermStore, whitespace: int | None = None):
        self.s = store
        self.whitespace = whitespace or 0
        self._chars: dict[CharSet, int] = {}
        self._regexes: dict[str, int] = {}
        self._literals: dict[str, int] = {}
        self._code_points: dict[str, int] = {}  # one character of text -> char(CharSet.of(it))
        s = store
        self.quote = s.byte(0x22)
        self.any_char = self.char(ANY_CHAR)
        store.length_unit = self.any_char  # what minLength / maxLength count (terms.clamp)
        self.any_body = s.star(self.any_char)
        self.any_string = self.quoted(self.any_body)
        self.any_number = self.number(ANY_NUMBER)
        self.plain_number = self.number(NO_EXPONENT_NUMBER)
        self.true, self.false, self.null = (s.literal(w) for w in (b"true", b"false", b"null"))
        self.any_literal = s.alt(self.true, self.false, self.null)
        ws = s.rep(s.byteset(sum(1 << b for b in JSON_WHITESPACE)), 0, self.whitespace) if self.whitespace else s.eps
        self.ws = ws
        # Opening brackets take whitespace after, closing ones before, separators on both sides.
        self.open_object = s.cat(s.byte(0x7B), ws)
        self.close_object = s.cat(ws, s.byte(0x7D))
        self.open_array = s.cat(s.byte(0x5B), ws)
        self.close_array = s.cat(ws, s.byte(0x5D))
        self.comma = s.seq(ws, s.byte(0x2C), ws)
        self.colon = s.seq(ws, s.byte(0x3A), ws)

    # -- strings ---------------------------------------------------------------------------
    def char(self, charset: CharSet) -> int:
        """One encoded character of a JSON string whose decoded value is in `charset`."""
        term = self._chars.get(charset)
        if term is None:
            s = self.s
            parts = [s.utf8(charset.intersect(RAW_ALLOWED).ranges)]
            short = [ord(SHORT_ESCAPES[cp]) for cp in SHORT_ESCAPES if cp in charset]
            if short:
                parts.append(s.cat(s.byte(0x5C), s.byteset(sum(1 << b for b in short))))
            escaped = charset.intersect(ESCAPABLE)
            bmp = [(lo, min(hi, 0xFFFF)) for lo, hi in escaped.ranges if lo <= 0xFFFF]
            if bmp:
                parts.append(s.cat(self._backslash_u(), s.hex_digits(bmp, 4)))
            for lo, hi in escaped.ranges:
                if hi >= 0x10000:
                    parts.extend(self._surrogate_pairs(max(lo, 0x10000), hi))
            term = self._chars[charset] = s.union(parts)
        return term

    def _backslash_u(self) -> int:
        return self.s.literal(b"\\u")

    def _surrogate_pairs(self, lo: int, hi: int) -> list[int]:
        s = self.s

        def split(cp):
            v = cp - 0x10000
            return 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF)

        def pair(h_lo, h_hi, l_lo, l_hi):
            return s.seq(self._backslash_u(), s.hex_digits([(h_lo, h_hi)], 4),
                         self._backslash_u(), s.hex_digits([(l_lo, l_hi)], 4))

        (hi_lo, lo_lo), (hi_hi, lo_hi) = split(lo), split(hi)
        if hi_lo == hi_hi:
            return [pair(hi_lo, hi_lo, lo_lo, lo_hi)]
        out = [pair(hi_lo, hi_lo, lo_lo, 0xDFFF)]
        if hi_hi - hi_lo > 1:
            out.append(pair(hi_lo + 1, hi_hi - 1, 0xDC00, 0xDFFF))
        out.append(pair(hi_hi, hi_hi, 0xDC00, lo_hi))
        return out

    def quoted(self, body: int) -> int:
        return self.s.seq(self.quote, body, self.quote)

    def text_char(self, c: str) -> int:
        """Every spelling of the one character `c`."""
        term = self._code_points.get(c)
        if term is None:
            term = self._code_points[c] = self.char(CharSet.of(c))
        return term

    def string_body(self, text: str) -> int:
        """Every spelling of the characters of `text` (without quotes)."""
        return self.s.seq(*(self.text_char(c) for c in text))

    def string_literal(self, text: str) -> int:
        term = self._literals.get(text)
        if term is None:
            term = self._literals[text] = self.quoted(self.string_body(text))
        return term

    def string_literals(self, texts) -> int:
        """The union of `string_literal(t)` for `texts`, their common prefixes shared: a prefix
        tree, so that a derivative steps only the strings that go on with that byte's character.
        As a flat union, every lexer step of an enum of n names took n derivatives."""
        texts = sorted(set(texts))
        if len(texts) <= 1:
            return self.string_literal(texts[0]) if texts else self.s.empty
        return self.quoted(self._prefix_tree(texts, 0, len(texts), 0, 0))

    def _prefix_tree(self, texts: list[str], lo: int, hi: int, depth: int, nesting: int) -> int:
        """The bodies `text[depth:]` of texts[lo:hi] (sorted, distinct, sharing their first
        `depth` characters). Past MAX_PREFIX_NESTING branch points the rest is a flat union (same
        language, and the recursion stays shallow whatever the strings)."""
        s = self.s
        if hi - lo == 1 or nesting >= MAX_PREFIX_NESTING:
            return s.union([self.string_body(texts[k][depth:]) for k in range(lo, hi)])
        first, last = texts[lo], texts[hi - 1]
        common = depth  # sorted: what the first and last share, all of them share
        while common < len(first) and first[common] == last[common]:
            common += 1
        branches, i = [], lo
        if len(first) == common:  # one text ends here (sorted first: it is a prefix of the others)
            branches.append(s.eps)
            i += 1
        while i < hi:
            c, j = texts[i][common], i + 1
            while j < hi and texts[j][common] == c:
                j += 1
            branches.append(s.cat(self.text_char(c), self._prefix_tree(texts, i, j, common + 1, nesting + 1)))
            i = j
        return s.cat(self.string_body(first[depth:common]), s.union(branches))

    def length(self, lo: int, hi: int | None) -> int:
        """Bodies of lo..hi characters (hi None: no upper bound)."""
        return self.s.rep(self.any_char, lo, INFINITE if hi is None else hi)

    def pattern_body(self, node: PatternNode) -> int:
        """A body term from the pattern IR of regex_translate (sets of code points, sequences,
        alternations, counted repetitions)."""
        s = self.s
        match node:
            case Chars(chars):
                return self.char(chars)
            case Seq(items):
                return s.seq(*(self.pattern_body(c) for c in items))
            case Alt(options):
                return s.union([self.pattern_body(c) for c in options])
            case Repeat(child, lo, hi):
                return s.rep(self.pattern_body(child), lo, INFINITE if hi is None else hi)
        raise ValueError(f"unexpected pattern node {node}")

    # -- numbers ---------------------------------------------------------------------------
    def number(self, regex: str) -> int:
        """A number term from a regex of numbers.py (ASCII only)."""
        term = self._regexes.get(regex)
        if term is None:
            term = self._regexes[regex] = regex_term(self.s, regex, what="number range")
        return term
