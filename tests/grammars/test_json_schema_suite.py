"""The JSON-Schema-Test-Suite (draft4, draft6, draft7, draft2019-09 and draft2020-12, copied into
tests/data/jsonschema_suite) through the schema compiler: a schema is refused cleanly or decides
every instance correctly.

The fast run steps the engine byte by byte over each instance; the slow run feeds SmolLM2 tokens
through the matcher, checking every token against the mask, and must decide every instance alike.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load_harness():
    spec = importlib.util.spec_from_file_location("json_schema_suite", REPO / "benchmarks" / "json_schema_suite.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


suite = _load_harness()


@pytest.fixture(scope="module")
def registry():
    return suite.remote_registry()


@pytest.fixture(scope="module")
def results(registry):
    out = []
    for path in suite.suite_files():
        out += suite.run_file(path, suite.bytes_acceptor, registry)
    return out


def test_suite_files_are_all_present():
    files = suite.suite_files()
    assert len(files) == 46 and sum(len(json.loads(f.read_text())) for f in files) == 368


def test_no_group_is_under_constrained(results):
    under = [(r.file, r.description, r.under) for r in results if r.under]
    assert not under


def test_coverage_floor(results):
    summary = suite.summarize(results)
    # Measured 320 correct groups and 34 fully correct files (format.json: `regex` and `idn-email` are
    # enforced, `idn-hostname` refused, where the suite reads formats as annotations); the floors
    # catch regressions.
    assert summary["correct"] >= 320, suite.table(summary)
    assert summary["files_correct"] >= 34, suite.table(summary)


def test_over_constrained_groups_are_the_documented_ones(results):
    over = sorted((r.file, r.description) for r in results if r.over)
    # format.json: formats are enforced by default (annotation-only in 2020-12)
    assert all(file == "format.json" for file, _ in over), over


def test_refusals_name_a_keyword_path(results):
    for r in results:
        if r.status == "refused":
            assert r.detail.startswith("#"), (r.file, r.description, r.detail)


def test_optional_format_files_never_accept_invalid_values(registry):
    results = []
    for path in suite.suite_files(optional_formats=True):
        results += suite.run_file(path, suite.bytes_acceptor, registry)
    assert not [r for r in results if r.under]
    assert sum(r.status == "correct" for r in results) >= 7


def test_without_schema_the_2020_12_files_are_decided_alike(results, registry):
    """No `$schema` reads 2020-12 plus legacy spellings that 2020-12 gives no meaning: every group
    is decided as with its `$schema`, except vocabulary.json's, whose meaning is its `$schema`."""
    undeclared = []
    for path in suite.suite_files():
        name = path.name
        for group in json.loads(path.read_text(encoding="utf-8")):
            schema = group["schema"]
            if isinstance(schema, dict):
                schema = {k: v for k, v in schema.items() if k != "$schema"}
            undeclared.append(suite.run_group(name, {**group, "schema": schema}, suite.bytes_acceptor, registry))
    assert not [r for r in undeclared if r.under]
    changed = [(a.file, a.description, a.status, b.status) for a, b in zip(results, undeclared)
               if a.status != b.status]
    assert [c[0] for c in changed] == ["vocabulary.json"], changed


# ------------------------------------------------------------------ the older drafts
# draft -> (files, groups, correct groups, fully correct files), as measured; each schema declares
# its draft with `$schema` (suite.declared), so the compiler picks the dialect as for a user's schema.
DRAFT_FLOORS = {
    "draft4": (30, 159, 152, 25),
    "draft6": (36, 231, 217, 28),
    "draft7": (37, 254, 239, 28),  # format.json: idn-hostname is refused
    "draft2019-09": (46, 361, 325, 33),
}
OLDER_DRAFTS = sorted(DRAFT_FLOORS)


@pytest.fixture(scope="module")
def draft_runs():
    """draft -> (registry, required files' results, optional files' results), each built once."""
    out = {}
    for draft in OLDER_DRAFTS:
        registry = suite.remote_registry(draft)
        required = [r for p in suite.suite_files(draft=draft) for r in suite.run_file(p, suite.bytes_acceptor,
                                                                                        registry, draft)]
        optional = [r for p in suite.suite_files(draft=draft, optional=True)
                    for r in suite.run_file(p, suite.bytes_acceptor, registry, draft)]
        out[draft] = (registry, required, optional)
    return out


@pytest.mark.parametrize("draft", OLDER_DRAFTS)
def test_older_draft_is_never_under_constrained(draft, draft_runs):
    _, required, optional = draft_runs[draft]
    assert not [(r.file, r.description, r.under) for r in required + optional if r.under]


@pytest.mark.parametrize("draft", OLDER_DRAFTS)
def test_older_draft_coverage_floor(draft, draft_runs):
    files, groups, correct, files_correct = DRAFT_FLOORS[draft]
    summary = suite.summarize(draft_runs[draft][1])
    assert (summary["files"], summary["groups"]) == (files, groups)
    assert summary["correct"] >= correct, suite.table(summary)
    assert summary["files_correct"] >= files_correct, suite.table(summary)
    assert summary["over"] == 0, suite.table(summary)  # their format.json files test non-strings only


@pytest.mark.parametrize("draft", OLDER_DRAFTS)
def test_older_draft_refusals_name_a_keyword_path(draft, draft_runs):
    for r in draft_runs[draft][1]:
        if r.status == "refused":
            assert r.detail.startswith("#"), (r.file, r.description, r.detail)


@pytest.mark.parametrize("draft", OLDER_DRAFTS)
def test_older_draft_optional_files_are_decided_exactly(draft, draft_runs):
    """ids, unknown keywords, cross-draft references and draft-04's integers (1.0 is not one)."""
    optional = draft_runs[draft][2]
    assert optional and all(r.status == "correct" for r in optional), \
        [(r.file, r.description, r.status, r.detail) for r in optional if r.status != "correct"]


# The suite's labels are the oracle; the draft's own jsonschema class must agree with them, so that
# "valid" means what that validator says. Its one exception: jsonschema does not implement vocabularies.
VALIDATOR_EXCEPTIONS = {("vocabulary.json", "schema that uses custom metaschema with with no validation vocabulary")}


@pytest.mark.parametrize("draft", [*OLDER_DRAFTS, "draft2020-12"])
def test_the_drafts_jsonschema_class_agrees_with_the_labels(draft):
    registry, validator = suite.remote_registry(draft), suite.validator_class(draft)
    checked = 0
    for optional in (False, True):
        for path in suite.suite_files(draft=draft, optional=optional):
            for group in json.loads(path.read_text(encoding="utf-8")):
                if (path.name, group["description"]) in VALIDATOR_EXCEPTIONS:
                    continue
                check = validator(suite.declared(group["schema"], draft), registry=registry)
                for test in group["tests"]:
                    assert check.is_valid(test["data"]) == test["valid"], (path.name, group["description"], test)
                    checked += 1
    assert checked > 500


@pytest.mark.slow
def test_token_level_matcher_agrees_with_byte_level_recognition(results, registry):
    """SmolLM2 tokens through the matcher decide every instance as byte-level recognition does."""
    matcher_results = []
    for path in suite.suite_files():
        matcher_results += suite.run_file(path, suite.matcher_acceptor, registry)
    assert [(r.file, r.description, r.status) for r in matcher_results] == \
        [(r.file, r.description, r.status) for r in results]
    assert not [r for r in matcher_results if r.under]


@pytest.mark.slow
@pytest.mark.parametrize("draft", OLDER_DRAFTS)
def test_token_level_matcher_agrees_on_older_drafts(draft, draft_runs):
    registry, required, _ = draft_runs[draft]
    matcher_results = [r for p in suite.suite_files(draft=draft)
                       for r in suite.run_file(p, suite.matcher_acceptor, registry, draft)]
    assert [(r.file, r.description, r.status) for r in matcher_results] == \
        [(r.file, r.description, r.status) for r in required]
