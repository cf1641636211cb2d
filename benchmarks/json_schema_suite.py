"""JSON-Schema-Test-Suite (draft4, draft6, draft7, draft2019-09, draft2020-12) against the schema -> grammar compiler.

For every group (one schema, several instances) the schema is compiled with strict=False (the
spec's additionalProperties default); then either compilation refused with a JsonSchemaError,
or every instance must be accepted exactly when the suite says it is valid. Instances are
serialized compactly (json.dumps(separators=(",", ":"), ensure_ascii=False)), the grammar's
default style. Each draft's schemas declare it with `$schema` (the compiler picks the dialect from
it); `--draft` picks the folder and serves the suite's remotes under that draft's rules.

The acceptor is pluggable: "bytes" steps the engine byte by byte over the instance (what a
matcher does, without a tokenizer); "matcher" feeds SmolLM2 tokens of the instance to the
token-level matcher, checking each token against the mask.

    python benchmarks/json_schema_suite.py [--draft draft2020-12] [--acceptor bytes|matcher] [--files a.json,b.json]
                                           [--optional] [--optional-formats] [--details]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import referencing
import referencing.jsonschema

REPO = Path(__file__).resolve().parent.parent
SUITE = REPO / "tests" / "data" / "jsonschema_suite"
REMOTES = SUITE / "remotes"
REMOTE_BASE = "http://localhost:1234/"
FORMAT_FILES = ("date", "time", "date-time", "duration", "email", "uuid", "uri", "ipv4", "ipv6", "hostname")
# suite folder -> (the `referencing` rules its remotes are read with, the jsonschema validator class,
# the `$schema` that declares the draft)
DRAFTS = {
    "draft4": (referencing.jsonschema.DRAFT4, jsonschema.Draft4Validator, "http://json-schema.org/draft-04/schema#"),
    "draft6": (referencing.jsonschema.DRAFT6, jsonschema.Draft6Validator, "http://json-schema.org/draft-06/schema#"),
    "draft7": (referencing.jsonschema.DRAFT7, jsonschema.Draft7Validator, "http://json-schema.org/draft-07/schema#"),
    "draft2019-09": (referencing.jsonschema.DRAFT201909, jsonschema.Draft201909Validator,
                     "https://json-schema.org/draft/2019-09/schema"),
    "draft2020-12": (referencing.jsonschema.DRAFT202012, jsonschema.Draft202012Validator,
                     "https://json-schema.org/draft/2020-12/schema"),
}
DEFAULT_DRAFT = "draft2020-12"


def tests_dir(draft: str = DEFAULT_DRAFT) -> Path:
    return SUITE / "tests" / draft


def remote_registry(draft: str = DEFAULT_DRAFT) -> referencing.Registry:
    """The suite's remotes/ documents under the URIs its schemas use (no network), read with the
    draft's rules as jsonschema's own suite runner does: another draft's folder only where a
    document declares its `$schema`; draft4 leaves out tree.json (boolean subschemas)."""
    specification = DRAFTS[draft][0]
    resources = []
    for path in sorted(REMOTES.rglob("*.json")):
        relative = path.relative_to(REMOTES).as_posix()
        contents = json.loads(path.read_text(encoding="utf-8"))
        if draft == "draft4" and path.stem == "tree":
            continue
        if "$schema" not in contents and relative.startswith("draft") and not relative.startswith(draft + "/"):
            continue
        resource = referencing.Resource.from_contents(contents, default_specification=specification)
        resources.append((REMOTE_BASE + relative, resource))
    return referencing.Registry().with_resources(resources).crawl()


def declared(schema, draft: str = DEFAULT_DRAFT):
    """The suite's schema with the draft's `$schema` at its root when it has none (the draft4-7
    files leave it out: a suite runner picks the draft; the compiler reads it from `$schema`)."""
    if isinstance(schema, dict) and "$schema" not in schema:
        return {"$schema": DRAFTS[draft][2], **schema}
    return schema


def validator_class(draft: str = DEFAULT_DRAFT):
    """The jsonschema class that validates the draft's instances (the tests' second oracle)."""
    return DRAFTS[draft][1]


def serialize(instance) -> str:
    return json.dumps(instance, separators=(",", ":"), ensure_ascii=False)


# ------------------------------------------------------------------ acceptors
def bytes_acceptor(grammar):
    return grammar.accepts


_TOKENIZER = []


def matcher_acceptor(grammar):
    """Feed the instance's SmolLM2 tokens one by one through the matcher, checking the mask."""
    if not _TOKENIZER:
        from constrain.runtime.default_model import default_model_path
        from constrain.runtime.gguf_file import GGUFFile
        from constrain.runtime.tokenizer.tokenizer import load_tokenizer

        _TOKENIZER.append(load_tokenizer(GGUFFile(default_model_path()).metadata))
    tokenizer = _TOKENIZER[0]
    matcher = grammar.matcher(tokenizer)

    def accepts(instance_text: str) -> bool:
        matcher.reset()
        for token in tokenizer.encode(instance_text, add_bos=False):
            if not matcher.is_allowed(token):
                return False
            matcher.advance(token)
        return matcher.is_accepting()

    return accepts


ACCEPTORS = {"bytes": bytes_acceptor, "matcher": matcher_acceptor}


# ------------------------------------------------------------------ running
@dataclass
class GroupResult:
    file: str
    description: str
    status: str  # "correct" | "refused" | "over" | "under" | "over+under"
    detail: str = ""
    over: list = field(default_factory=list)   # valid instances rejected
    under: list = field(default_factory=list)  # invalid instances accepted


def run_group(file: str, group: dict, acceptor, registry, *, strict: bool = False,
              draft: str = DEFAULT_DRAFT) -> GroupResult:
    from constrain.grammars.json_schema import JsonSchemaError, json_schema

    try:
        grammar = json_schema(declared(group["schema"], draft), strict=strict, registry=registry)
    except JsonSchemaError as exc:
        return GroupResult(file, group["description"], "refused", str(exc))
    accepts = acceptor(grammar)
    result = GroupResult(file, group["description"], "correct")
    for test in group["tests"]:
        got = accepts(serialize(test["data"]))
        if got and not test["valid"]:
            result.under.append(test["description"])
        elif test["valid"] and not got:
            result.over.append(test["description"])
    if result.over and result.under:
        result.status = "over+under"
    elif result.over:
        result.status = "over"
    elif result.under:
        result.status = "under"
    return result


def run_file(path: Path, acceptor, registry, draft: str = DEFAULT_DRAFT) -> list[GroupResult]:
    groups = json.loads(path.read_text(encoding="utf-8"))
    name = path.relative_to(tests_dir(draft)).as_posix()
    return [run_group(name, group, acceptor, registry, draft=draft) for group in groups]


def suite_files(optional_formats: bool = False, draft: str = DEFAULT_DRAFT, optional: bool = False) -> list[Path]:
    """The draft's required files; `optional`: its optional/*.json instead (dialect matters such
    as ids, unknown keywords, draft-04 integers; copied for the older drafts only)."""
    tests = tests_dir(draft)
    if optional_formats:
        return [tests / "optional" / "format" / f"{name}.json" for name in FORMAT_FILES]
    if optional:
        return sorted((tests / "optional").glob("*.json"))
    return sorted(tests.glob("*.json"))


def summarize(results: list[GroupResult]) -> dict:
    by_file: dict[str, list[GroupResult]] = {}
    for r in results:
        by_file.setdefault(r.file, []).append(r)
    rows = []
    for file, group_results in by_file.items():
        counts = {s: sum(r.status == s for r in group_results) for s in ("correct", "refused", "over", "under")}
        counts["under"] += sum(r.status == "over+under" for r in group_results)
        counts["over"] += sum(r.status == "over+under" for r in group_results)
        if counts["under"]:
            verdict = "WRONG (under-constrained)"
        elif counts["over"]:
            verdict = "wrong (over-constrained)"
        elif counts["refused"]:
            verdict = "refused" if counts["correct"] == 0 else "partly refused"
        else:
            verdict = "fully correct"
        rows.append((file, len(group_results), counts, verdict))
    return {
        "rows": rows,
        "groups": len(results),
        "correct": sum(r.status == "correct" for r in results),
        "refused": sum(r.status == "refused" for r in results),
        "over": sum(r.status in ("over", "over+under") for r in results),
        "under": sum(r.status in ("under", "over+under") for r in results),
        "files": len(rows),
        "files_correct": sum(v == "fully correct" for *_, v in rows),
    }


def table(summary: dict) -> str:
    lines = ["| file | groups | correct | refused | over | under | verdict |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for file, n, c, verdict in summary["rows"]:
        lines.append(f"| {file} | {n} | {c['correct']} | {c['refused']} | {c['over']} | {c['under']} | {verdict} |")
    lines.append(f"| **total** | {summary['groups']} | {summary['correct']} | {summary['refused']} | "
                 f"{summary['over']} | {summary['under']} | {summary['files_correct']} of {summary['files']} "
                 "files fully correct |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draft", choices=sorted(DRAFTS), default=DEFAULT_DRAFT)
    parser.add_argument("--acceptor", choices=sorted(ACCEPTORS), default="bytes")
    parser.add_argument("--files", help="comma-separated file names (default: all)")
    parser.add_argument("--optional-formats", action="store_true", help="run optional/format/ files instead")
    parser.add_argument("--optional", action="store_true", help="run optional/*.json instead (older drafts)")
    parser.add_argument("--details", action="store_true", help="print each wrong or refused group")
    args = parser.parse_args(argv)
    registry = remote_registry(args.draft)
    files = suite_files(args.optional_formats, args.draft, args.optional)
    if args.files:
        wanted = set(args.files.split(","))
        files = [f for f in files if f.name in wanted]
    started = time.perf_counter()
    results = []
    for path in files:
        results += run_file(path, ACCEPTORS[args.acceptor], registry, args.draft)
    elapsed = time.perf_counter() - started
    summary = summarize(results)
    print(table(summary))
    print(f"\n{summary['groups']} groups: {summary['correct']} correct, {summary['refused']} refused, "
          f"{summary['over']} over-constrained, {summary['under']} under-constrained; "
          f"{summary['files_correct']}/{summary['files']} files fully correct; {elapsed:.1f}s "
          f"({args.draft}, {args.acceptor})")
    if args.details:
        for r in results:
            if r.status != "correct":
                print(f"\n[{r.status}] {r.file}: {r.description}\n  {r.detail}")
                for d in r.over:
                    print(f"  over: {d}")
                for d in r.under:
                    print(f"  under: {d}")
    return 1 if summary["under"] else 0


if __name__ == "__main__":
    sys.exit(main())
