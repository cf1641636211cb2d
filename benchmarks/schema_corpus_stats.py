"""What real-world JSON Schemas use: keyword counts and the shapes that matter to a grammar engine.

    python benchmarks/schema_corpus_stats.py DATA_DIR [--top N]

DATA_DIR is a folder of MaskBench files ({"schema": ..., "tests": [...]}, e.g. a checkout of
jsonschemabench's maskbench/data) or of plain schema files. Only schema positions are walked
(the values of properties, items, anyOf, $defs, ... - never enum, const, default or examples),
so a property called "pattern" is not counted as the keyword. "files" counts the schemas that
use a keyword at least once, "uses" every occurrence. Prints markdown.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

SINGLE = ("additionalProperties", "additionalItems", "contains", "propertyNames", "not", "if", "then", "else",
          "unevaluatedItems", "unevaluatedProperties", "contentSchema", "items")
LISTS = ("allOf", "anyOf", "oneOf", "prefixItems", "items")
MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies")

KEYWORDS = (
    "$schema", "$id", "id", "$ref", "$defs", "definitions", "$anchor", "$dynamicRef", "$dynamicAnchor",
    "$recursiveRef", "$recursiveAnchor", "$vocabulary", "$comment",
    "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
    "maxLength", "minLength", "pattern", "format", "contentEncoding", "contentMediaType", "contentSchema",
    "items", "additionalItems", "prefixItems", "maxItems", "minItems", "uniqueItems", "contains", "maxContains",
    "minContains", "unevaluatedItems", "maxProperties", "minProperties", "required", "properties",
    "patternProperties", "additionalProperties", "dependencies", "dependentRequired", "dependentSchemas",
    "propertyNames", "unevaluatedProperties", "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
    "title", "description", "default", "examples", "readOnly", "writeOnly", "deprecated",
)
KNOWN = frozenset(KEYWORDS)
CONSTRAIN_FORMATS = frozenset({"date", "time", "date-time", "duration", "email", "uuid", "uri", "ipv4", "ipv6",
                               "hostname"})


def subschemas(node: dict):
    """(keyword, subschema) for every schema-valued member of `node`."""
    for key in SINGLE:
        value = node.get(key)
        if isinstance(value, (dict, bool)):
            yield key, value
    for key in LISTS:
        value = node.get(key)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, (dict, bool)):
                    yield key, item
    for key in MAPS:
        value = node.get(key)
        if isinstance(value, dict):
            for item in value.values():
                if isinstance(item, (dict, bool)):
                    yield key, item


def magnitude(n) -> str:
    """Power-of-ten-ish bucket of a length or count."""
    if not isinstance(n, (int, float)) or isinstance(n, bool):
        return "not a number"
    for limit in (1, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 10_000, 100_000):
        if n <= limit:
            return f"<= {limit:,}"
    return "> 100,000"


def pattern_traits(pattern: str) -> list[str]:
    traits = []
    if pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith("\\$"):
        traits.append("anchored both ends")
    elif pattern.startswith("^") or pattern.endswith("$"):
        traits.append("anchored one end")
    else:
        traits.append("unanchored")
    checks = {"lookaround (?= (?! (?<": ("(?=", "(?!", "(?<=", "(?<!"),
              "backreference \\1": tuple(f"\\{d}" for d in range(1, 10)),
              "unicode property \\p": ("\\p{", "\\P{"), "lazy quantifier": ("*?", "+?", "}?"),
              "alternation": ("|",), "\\d \\w \\s classes": ("\\d", "\\w", "\\s")}
    traits += [name for name, needles in checks.items() if any(n in pattern for n in needles)]
    import re

    counts = [int(m.group(2) or m.group(1)) for m in re.finditer(r"\{(\d+)(?:,(\d*))?\}", pattern)
              if (m.group(2) or m.group(1))]
    if counts and max(counts) > 100:
        traits.append("counted repetition > 100")
    elif counts:
        traits.append("counted repetition")
    return traits


def is_object_like(s) -> bool:
    return isinstance(s, dict) and (s.get("type") == "object" or "properties" in s or "required" in s
                                    or "additionalProperties" in s)


def resolve(root, s, hops: int = 8):
    """`s` with local $refs (#/definitions/x, #/$defs/x, ...) followed; None where they cannot be."""
    while isinstance(s, dict) and isinstance(s.get("$ref"), str) and hops:
        ref = s["$ref"]
        if not ref.startswith("#"):
            return None
        s = root
        for part in filter(None, ref[1:].split("/")):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(s, dict) and part in s:
                s = s[part]
            elif isinstance(s, list) and part.isdigit() and int(part) < len(s):
                s = s[int(part)]
            else:
                return None
        hops -= 1
    return s


def count_bucket(n: int) -> str:
    """Buckets matching constrain's property-order rules (any order up to 6 keys; 48 optional keys)."""
    for low, high in ((0, 0), (1, 6), (7, 16), (17, 48), (49, 100), (101, 300)):
        if n <= high:
            return f"{low}-{high}" if low != high else str(low)
    return "> 300"


COUNT_BUCKETS = ["0", "1-6", "7-16", "17-48", "49-100", "101-300", "> 300"]


def shape(s) -> str:
    """The sorted keywords of a small subschema, e.g. `not: {required}`."""
    if not isinstance(s, dict):
        return json.dumps(s)
    return "{" + ", ".join(sorted(s)) + "}"


@dataclass
class CorpusStats:
    files: int = 0
    files_with_tests: int = 0
    unreadable: list = field(default_factory=list)
    keyword_files: Counter = field(default_factory=Counter)
    keyword_uses: Counter = field(default_factory=Counter)
    other_keys: Counter = field(default_factory=Counter)
    dialects: Counter = field(default_factory=Counter)
    nested_schema_keyword: int = 0
    lengths: dict = field(default_factory=lambda: {k: Counter() for k in ("maxLength", "minLength", "maxItems",
                                                                          "minItems")})
    pattern_lengths: Counter = field(default_factory=Counter)
    pattern_traits: Counter = field(default_factory=Counter)
    pattern_with: Counter = field(default_factory=Counter)
    formats: Counter = field(default_factory=Counter)
    formats_files: Counter = field(default_factory=Counter)
    unions: Counter = field(default_factory=Counter)
    unique_items: Counter = field(default_factory=Counter)
    not_shapes: Counter = field(default_factory=Counter)
    if_shapes: Counter = field(default_factory=Counter)
    if_parts: Counter = field(default_factory=Counter)
    dependencies: Counter = field(default_factory=Counter)
    n_properties: Counter = field(default_factory=Counter)
    n_optional: Counter = field(default_factory=Counter)
    largest_optional: list = field(default_factory=list)
    additional: Counter = field(default_factory=Counter)
    refs: Counter = field(default_factory=Counter)
    features: Counter = field(default_factory=Counter)  # files with each feature

    def observe(self, name: str, schema) -> None:
        self.files += 1
        if isinstance(schema, dict):
            self.dialects[str(schema.get("$schema", "(none)"))] += 1
        seen: set[str] = set()
        features: set[str] = set()
        self._root = schema
        stack = [(schema, True)]
        while stack:
            node, is_root = stack.pop()
            if not isinstance(node, dict):
                continue
            self.node(name, node, is_root, seen, features)
            stack.extend((child, False) for _, child in subschemas(node))
        self.keyword_files.update(seen)
        self.features.update(features)

    def node(self, name: str, s: dict, is_root: bool, seen: set, features: set) -> None:
        for key in s:
            if key in KNOWN:
                self.keyword_uses[key] += 1
                seen.add(key)
            else:
                self.other_keys[key] += 1
        if "$schema" in s and not is_root:
            self.nested_schema_keyword += 1
        for key in self.lengths:
            if key in s:
                self.lengths[key][magnitude(s[key])] += 1
        for key in ("maxLength", "maxItems", "minLength", "minItems"):
            value = s.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                for limit in (64, 256, 4096):
                    if value > limit:
                        features.add(f"{key} > {limit}")
        if isinstance(s.get("pattern"), str):
            p = s["pattern"]
            self.pattern_lengths[magnitude(len(p)).replace("<=", "<=", 1)] += 1
            self.pattern_traits.update(pattern_traits(p))
            together = [k for k in ("minLength", "maxLength", "format", "enum") if k in s]
            self.pattern_with[" + ".join(["pattern"] + together) if together else "pattern alone"] += 1
            features.add("pattern")
            if set(together) & {"minLength", "maxLength", "format"}:
                features.add("pattern with minLength/maxLength/format")
        if isinstance(s.get("format"), str):
            self.formats[s["format"]] += 1
            features.add("format" if s["format"] in CONSTRAIN_FORMATS else "format outside date, time, date-time, "
                         "duration, email, uuid, uri, ipv4, ipv6, hostname")
        for key in ("anyOf", "oneOf"):
            alternatives = s.get(key)
            if isinstance(alternatives, list):
                resolved = [resolve(self._root, a) for a in alternatives]
                objects = sum(is_object_like(a) for a in resolved)
                unknown = sum(a is None for a in resolved)
                kind = ("2+ object alternatives" if objects >= 2 else "1 object alternative" if objects == 1
                        else "no object alternative")
                self.unions[f"{key}: {kind}" + (" (+ unresolved $ref)" if unknown else "")] += 1
                features.add(key)
                if objects >= 2:
                    features.add(f"{key} of 2+ objects")
        if s.get("uniqueItems") is True:
            items = resolve(self._root, s.get("items"))
            kind = "no items schema" if not isinstance(items, dict) else (
                "object items" if is_object_like(items) else f"items of type {items.get('type', '(untyped)')}")
            self.unique_items[kind] += 1
            features.add("uniqueItems: true")
        if "not" in s:
            self.not_shapes[shape(s["not"])] += 1
            features.add("not")
        if "if" in s:
            self.if_shapes[shape(s["if"])] += 1
            features.add("if")
        parts = tuple(k for k in ("if", "then", "else") if k in s)
        if parts:
            self.if_parts[" + ".join(parts)] += 1
        if isinstance(s.get("dependencies"), dict):
            for value in s["dependencies"].values():
                kind = "dependencies (array: required)" if isinstance(value, list) else "dependencies (schema)"
                self.dependencies[kind] += 1
                features.add(kind)
        for key in ("dependentRequired", "dependentSchemas"):
            if isinstance(s.get(key), dict):
                self.dependencies[key] += len(s[key])
                features.add(key)
        if isinstance(s.get("properties"), dict):
            props = s["properties"]
            required = set(s.get("required") or []) if isinstance(s.get("required"), list) else set()
            optional = len([p for p in props if p not in required])
            self.n_properties[count_bucket(len(props))] += 1
            self.n_optional[count_bucket(optional)] += 1
            self.largest_optional.append((optional, name))
            if optional > 48:
                features.add("an object with more than 48 optional properties")
            if len(props) > 6:
                features.add("an object with more than 6 properties")
        if "additionalProperties" in s:
            value = s["additionalProperties"]
            self.additional["false" if value is False else "true" if value is True else "a schema"] += 1
        if isinstance(s.get("$ref"), str):
            ref = s["$ref"]
            kind = ("local (#...)" if ref.startswith("#") else "remote (http...)" if ref.startswith("http")
                    else "relative file")
            self.refs[kind] += 1
            if kind != "local (#...)":
                features.add(f"$ref {kind}")
        for key in ("contains", "propertyNames", "unevaluatedProperties", "unevaluatedItems", "multipleOf",
                    "additionalItems", "patternProperties", "allOf"):
            if key in s:
                features.add(key)


def table(title: str, counter: Counter, total: int | None = None, top: int | None = None,
          order: list[str] | None = None) -> str:
    items = [(k, counter[k]) for k in order if k in counter] if order else counter.most_common(top)
    lines = [f"| {title} | count |" + (" share |" if total else ""), "|---|---:|" + ("---:|" if total else "")]
    for key, count in items:
        share = f" {100 * count / total:.1f}% |" if total else ""
        lines.append(f"| {key} | {count:,} |{share}")
    return "\n".join(lines)


MAGNITUDES = ([f"<= {n:,}" for n in (1, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 10_000, 100_000)]
              + ["> 100,000", "not a number"])


def report(stats: CorpusStats, top: int) -> str:
    out = [f"{stats.files:,} schemas ({stats.files_with_tests:,} with test instances)"
           + (f"; {len(stats.unreadable)} unreadable" if stats.unreadable else "") + "\n"]
    rows = ["| keyword | files | share of files | uses |", "|---|---:|---:|---:|"]
    for key, files in stats.keyword_files.most_common():
        rows.append(f"| `{key}` | {files:,} | {100 * files / stats.files:.1f}% | {stats.keyword_uses[key]:,} |")
    out += ["### Keywords (schema positions only)\n", "\n".join(rows), ""]
    out += ["### Other keys at schema positions (not keywords)\n", table("key", stats.other_keys, top=top), ""]
    out += ["### Schemas using each feature somewhere\n", table("feature", stats.features, stats.files), ""]
    out += ["### `$schema` of the root\n", table("$schema", stats.dialects, stats.files, top=top),
            f"\n`$schema` inside a subschema: {stats.nested_schema_keyword:,} times\n"]
    for key, counter in stats.lengths.items():
        out += [f"### `{key}` values\n", table(key, counter, order=MAGNITUDES), ""]
    out += ["### `pattern`\n", table("pattern length (characters)", stats.pattern_lengths, order=MAGNITUDES), "",
            table("pattern trait", stats.pattern_traits), "", table("pattern combined with", stats.pattern_with), ""]
    out += ["### `format` values\n", table("format", stats.formats, top=top), ""]
    out += ["### `anyOf` / `oneOf`\n", table("union", stats.unions), ""]
    out += ["### `uniqueItems: true`\n", table("items", stats.unique_items), ""]
    out += ["### `not` (shape of the negated schema)\n", table("not", stats.not_shapes, top=top), ""]
    out += ["### `if` / `then` / `else`\n", table("keywords present", stats.if_parts), "",
            table("shape of `if`", stats.if_shapes, top=top), ""]
    out += ["### `dependencies` / `dependentRequired` / `dependentSchemas` (entries)\n",
            table("kind", stats.dependencies), ""]
    out += ["### Properties per object (`properties` present)\n",
            table("listed properties", stats.n_properties, order=COUNT_BUCKETS), "",
            table("optional (not required) properties", stats.n_optional, order=COUNT_BUCKETS), ""]
    largest = sorted(stats.largest_optional, reverse=True)[:5]
    out.append("Most optional properties in one object: " + ", ".join(f"{n} ({name})" for n, name in largest) + "\n")
    out += ["### `additionalProperties`\n", table("value", stats.additional), ""]
    out += ["### `$ref`\n", table("target", stats.refs), ""]
    return "\n".join(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--top", type=int, default=25, help="rows of the longer tables")
    args = parser.parse_args(argv)
    stats = CorpusStats()
    for path in sorted(args.data_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stats.unreadable.append(path.name)
            continue
        is_maskbench = isinstance(data, dict) and "schema" in data and "tests" in data
        stats.files_with_tests += bool(is_maskbench and data["tests"])
        stats.observe(path.name, data["schema"] if is_maskbench else data)
    print(report(stats, args.top))


if __name__ == "__main__":
    main()
