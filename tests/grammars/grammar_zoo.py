"""Grammars of different shapes, shared by the grammar tests."""

from __future__ import annotations

from constrain.grammars import Grammar, json

# left-recursive arithmetic with %ignore'd spaces
ARITHMETIC = r"""
start: expr
?expr: expr "+" term | expr "-" term | term
?term: term "*" factor | term "/" factor | factor
?factor: "-" factor | atom
?atom: NUMBER | NAME | "(" expr ")" | NAME "(" [expr ("," expr)*] ")"
NUMBER: /[0-9]+(\.[0-9]+)?/
NAME: /[a-z_][a-z0-9_]*/
%ignore " "
"""

# right-recursive nesting, no whitespace at all
NESTED_LISTS = r"""
start: list
list: "(" items? ")"
items: item | item "." items
item: list | SYMBOL
SYMBOL: /[a-z]{1,3}/
"""

# SQL subset: case-insensitive keywords that collide with identifiers (lark's "unless"),
# comments and whitespace ignored everywhere
SQL = r"""
start: select
select: SELECT columns FROM NAME where? limit? ";"?
columns: "*" | column ("," column)*
column: NAME | NAME AS NAME
where: WHERE condition
condition: comparison (AND comparison)*
comparison: NAME OP value
value: NUMBER | STRING | NAME
limit: LIMIT NUMBER
SELECT: "select"i
FROM: "from"i
WHERE: "where"i
AND: "and"i
AS: "as"i
LIMIT: "limit"i
OP: "=" | "<" | ">" | "<=" | ">=" | "!="
NAME: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /[0-9]+/
STRING: /'[^'\n]*'/
COMMENT: /--[^\n]*/
%import common.WS
%ignore WS
%ignore COMMENT
"""

# unicode literals and classes: multi-byte characters everywhere
UNICODE = r"""
start: greeting+
greeting: HELLO NAME MARK
HELLO: "¡hola" | "こんにちは" | "привет" | "👋"
NAME: /[\u00c0-\u024f\u0400-\u04ff\u3040-\u30ffA-Za-z]+/
MARK: "!" | "。" | "‼" | "🎉"
%ignore " "
"""

# regex-heavy: dates, times, emails, hex, quoted strings with escapes, templates
LOG_LINES = r"""
start: line+
line: DATE "T" TIME LEVEL message "\n"
message: (EMAIL | HEX | ESCAPED_STRING | WORD)+
LEVEL: /INFO|WARN(ING)?|ERR(OR)?/
DATE: /[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])/
TIME: /([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,3})?)?Z?/
EMAIL: /[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,6}/
HEX.2: /0x[0-9a-f]+/
WORD: /[A-Za-z][A-Za-z0-9]*/
%import common.ESCAPED_STRING
%ignore " "
"""

# templates, aliases, optional items and priorities
KEY_VALUES = r"""
start: _sepby{pair, ";"}
_sepby{x, sep}: x (sep x)*
pair: KEY "=" _value  -> assignment
    | KEY "+=" _value -> append
_value: INT | FLOAT | BOOL | KEY
INT: /-?[0-9]+/
FLOAT.2: /-?[0-9]+\.[0-9]*/
BOOL.3: "true" | "false"
KEY: /[a-z]+/
"""

# llama.cpp's JSON grammar, through the GBNF converter
GBNF_JSON = r'''
root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws
object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws
array  ::= "[" ws ( value ("," ws value)* )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) )* "\"" ws
number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws
ws ::= | " " | "\n" [ \t]{0,20}
'''

LARK_GRAMMARS = {
    "arithmetic": ARITHMETIC,
    "nested_lists": NESTED_LISTS,
    "sql": SQL,
    "unicode": UNICODE,
    "log_lines": LOG_LINES,
    "key_values": KEY_VALUES,
}


def grammar(name: str) -> Grammar:
    if name == "json":
        return json()
    if name == "gbnf_json":
        return Grammar.from_gbnf(GBNF_JSON)
    return Grammar.from_lark(LARK_GRAMMARS[name])


ALL_NAMES = ["json", "gbnf_json", *LARK_GRAMMARS]

SPM_CORPUS = [
    '{"name": "Ada Lovelace", "age": 36, "skills": ["math", "poetry"]}',
    '[1, 2.5, -3e10, true, false, null, {"a": {"b": []}}]',
    "select name, age as years from people where age >= 18 and city = 'Paris' limit 10;",
    "SELECT * FROM t -- comment",
    "(x + 3) * f(y, -2.5) / 7 - z",
    "((a.b).(c.(d)))",
    "¡hola José! こんにちは さくら。 привет Иван‼ 👋 ana🎉",
    '2024-05-17T12:30:05.123Z INFO user bob@example.org logged in 0xdeadbeef "quoted \\"text\\""\n',
    "a=1;b+=2.5;c=true;d=e",
    "The quick brown fox jumps over the lazy dog. 0123456789",
]
