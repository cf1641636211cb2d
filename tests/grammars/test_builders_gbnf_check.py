"""json(), regex(), choice(), GBNF conversion and check_grammar()."""

from __future__ import annotations

import json as pyjson

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constrain.grammars import Grammar, check_grammar, choice, json, regex
from constrain.grammars.engine import DEAD

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


def accepts(g: Grammar, text: str) -> bool:
    hid = g.engine.step_bytes(g.engine.start, text.encode("utf-8"))
    return hid != DEAD and g.engine.is_accepting(hid)


@SETTINGS
@given(json_values, st.booleans(), st.sampled_from([None, 0, 2]))
def test_json_accepts_all_json(value, ascii_only, indent):
    text = pyjson.dumps(value, ensure_ascii=ascii_only, indent=indent)
    assert accepts(json(max_whitespace=None), text)
    assert json(max_whitespace=None).accepts(text)


def test_json_details():
    g = json()
    for good in ['"\\u00e9\\n\\"\\\\\\/"', "-0.5e+10", "1E-3", '{"a":[{"b":[[]]}]}', '"日本😀"', " 0 "]:
        assert accepts(g, good), good
    for bad in ["01", "1.", ".5", '"\\x41"', '"\\u12"', "[1,]", '{"a"}', "tru", '"a\nb"', "NaN", "+1"]:
        assert not accepts(g, bad), bad
    assert not accepts(json(max_whitespace=4), "[     1]")
    assert accepts(json(max_whitespace=4), "[    1]")


def test_regex_and_choice():
    g = regex(r"\d{3}-[a-z]+")
    assert accepts(g, "123-abc") and not accepts(g, "12-abc") and not accepts(g, "123-")
    c = choice(["red", "green", "greenish"])
    assert accepts(c, "green") and accepts(c, "greenish") and not accepts(c, "gree")
    assert accepts(choice(["a/b", "c\nd"]), "c\nd")


LLAMA_CPP_JSON = r'''
root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
            string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? "]" ws

string ::=
  "\"" (
    [^"\\\x7F\x00-\x1F] |
    "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\"" ws

number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws

# Optional space: by convention, applied in this grammar after literal chars when allowed
ws ::= | " " | "\n" [ \t]{0,20}
'''


def test_gbnf_json_grammar():
    g = Grammar.from_gbnf(LLAMA_CPP_JSON)
    assert accepts(g, '{"a": [1, 2.5, "x\\n", true], "b": {}}')
    assert accepts(g, '{ "a" : "\\u00e9" }')
    assert not accepts(g, "[1]")  # root is an object
    assert not accepts(g, '{"a": 1,}')


def test_gbnf_features(tmp_path):
    text = '''# comment
root ::= greeting (", " name){1,3} "!"?
greeting ::= "hi" | "hello"   # alternatives
name ::= [A-Z] [a-z]* | "\\u00e9l\\x41"
'''
    g = Grammar.from_gbnf(text)
    assert accepts(g, "hi, Ann, Bo!") and accepts(g, "hello, \u00e9lA")
    assert not accepts(g, "hi") and not accepts(g, "hi, Ann, Bo, Cy, Di")
    path = tmp_path / "g.gbnf"
    path.write_text(text)
    assert accepts(Grammar.from_file(path), "hi, Ann")


def test_gbnf_errors():
    import pytest

    from constrain.grammars import GrammarError

    with pytest.raises(GrammarError, match="line 2"):
        Grammar.from_gbnf('root ::= "a"\nx ::= "b" )')
    with pytest.raises(GrammarError, match="not defined"):
        Grammar.from_gbnf("root ::= missing")
    with pytest.raises(GrammarError, match="root"):
        Grammar.from_gbnf('start ::= "a"')


def test_check_grammar_reports(tmp_path):
    path = tmp_path / "arith.lark"
    path.write_text('start: expr\n?expr: expr "+" NUM | NUM\nNUM: /[0-9]+/\n')
    report = check_grammar(str(path))
    assert report.ok and report.samples and all("+" in s or s.isdigit() for s in report.samples)
    assert "sample sentences" in str(report)
    bad = check_grammar('start: X\nX: /a(?=b)/\n')
    assert not bad.ok and "lookaround" in bad.errors[0] and "error" in str(bad)
    dangling = check_grammar('start: "if" start "else" start | "if" start | "x"\n')
    assert dangling.ok and dangling.conflicts
