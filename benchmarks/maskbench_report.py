"""maskbench's summary: verdict counts, compile and mask figures, ratios, grouped failure reasons.

Reads the JSON lines benchmarks/maskbench.py writes (a "meta" line, then one "result" line per
schema and engine), so a summary can be printed again from a saved run:
    python benchmarks/maskbench.py --summarize results.jsonl [--details]
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

CLASSES = ("correct", "no tests", "compiled", "refused", "over", "under", "timeout", "crash")
FORCED = {"correct", "no tests", "over", "under"}  # forcing ran to its end
REFERENCE = "llguidance"  # ratios are engine / reference


def load_results(path: Path) -> tuple[dict, list[dict]]:
    meta, results = {}, []
    with Path(path).open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record.get("type") == "meta":
                meta = record
            else:
                results.append(record)
    return meta, results


def by_engine(results: list[dict]) -> dict[str, dict[str, dict]]:
    table: dict[str, dict[str, dict]] = defaultdict(dict)
    for r in results:
        table[r["engine"]][r["file"]] = r
    return dict(table)


def percentile(values, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def compile_ms(records: list[dict], timeout_s: float | None, count_timeouts: bool) -> list[float]:
    """Compile times of the schemas that compiled (repeats of an earlier schema left out); with
    count_timeouts, compile timeouts count at the limit (MaskBench's TTFM)."""
    times = [r["compile_us"] / 1e3 for r in records if r.get("compile_us") is not None and not r.get("repeat_of")]
    if count_timeouts and timeout_s:
        times += [timeout_s * 1e3 for r in records
                  if r["class"] == "timeout" and r.get("phase") == "compile" and not r.get("repeat_of")]
    return times


def mask_us(records: list[dict]) -> list[float]:
    return [t for r in records if r["class"] in FORCED for t in r.get("mask_us", [])]


def first_instance_mask_us(records: list[dict]) -> list[float]:
    """Masks while forcing each schema's first instance, right after compiling: what a user with
    a new schema sees (later instances may reuse what the engine memoized)."""
    return [t for r in records if r["class"] in FORCED for t in r.get("mask_us", [])[:r.get("first_test_masks", 0)]]


def figures(records: list[dict], timeout_s: float | None, count_timeouts: bool) -> dict[str, float]:
    c = compile_ms(records, timeout_s, count_timeouts)
    m = mask_us(records)
    f = first_instance_mask_us(records)
    a = [t for r in records if r["class"] in FORCED for t in r.get("advance_us", [])]
    return {
        "schemas timed": len(c),
        "compile p50 (ms)": percentile(c, 50), "compile p95 (ms)": percentile(c, 95),
        "compile max (ms)": max(c) if c else float("nan"),
        "masks": len(m),
        "mask mean (us)": float(np.mean(m)) if m else float("nan"), "mask p50 (us)": percentile(m, 50),
        "mask p99 (us)": percentile(m, 99), "mask max (us)": max(m) if m else float("nan"),
        "first-instance mask mean (us)": float(np.mean(f)) if f else float("nan"),
        "first-instance mask p99 (us)": percentile(f, 99),
        "advance mean (us)": float(np.mean(a)) if a else float("nan"), "advance p99 (us)": percentile(a, 99),
    }


def fmt(value) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if value != value:  # nan
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def ratio_text(value: float, reference: float) -> str:
    if not reference or reference != reference or value != value:
        return "-"
    r = value / reference
    return f"{r:,.0f}x" if r >= 100 else f"{r:.1f}x" if r >= 1 else f"{r:.2f}x"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def class_table(engines: list[str], table: dict[str, dict[str, dict]]) -> str:
    rows = []
    for cls in CLASSES:
        counts = [sum(r["class"] == cls for r in table[e].values()) for e in engines]
        if any(counts):
            rows.append([cls] + [str(c) for c in counts])
    rows.append(["**schemas**"] + [str(len(table[e])) for e in engines])
    return markdown_table(["verdict"] + engines, rows)


def figures_table(engines: list[str], per_engine: dict[str, dict[str, float]]) -> str:
    ratio = REFERENCE in engines and len(engines) > 1
    others = [e for e in engines if e != REFERENCE]
    header = ["figure"] + engines + ([f"{e}/{REFERENCE}" for e in others] if ratio else [])
    rows = []
    for key in next(iter(per_engine.values())):
        row = [key] + [fmt(per_engine[e][key]) for e in engines]
        if ratio:
            for e in others:
                ref = per_engine[REFERENCE][key]
                row.append(ratio_text(per_engine[e][key], ref) if not key.startswith(("schemas", "masks")) else "")
        rows.append(row)
    return markdown_table(header, rows)


def both_compiled(engines: list[str], table: dict[str, dict[str, dict]]) -> list[str]:
    files = set.intersection(*(set(table[e]) for e in engines))
    return sorted(f for f in files if all(table[e][f].get("compile_us") is not None for e in engines))


def both_forced(engines: list[str], table: dict[str, dict[str, dict]], files: list[str]) -> list[str]:
    return [f for f in files if all(table[e][f]["class"] in FORCED for e in engines)]


# ---------------------------------------------------------------- failure reasons
_QUOTED = re.compile(r"'[^']{49,}'|\"[^\"]{49,}\"")
_NUMBER = re.compile(r"(?<![\w.(-])-?\d+(\.\d+)?(?![\w.-])")  # not inside names and dates (2020-12)
_PATH = re.compile(r"(?<![\w/])#(/[^\s:'\"]*)?")


def normalized(message: str) -> str:
    """A message with its particulars (paths, numbers, long quoted texts) blanked, so that
    the same reason groups together."""
    text = _PATH.sub("#/…", message.splitlines()[0] if message else "")
    text = _QUOTED.sub("'…'", text)
    text = _NUMBER.sub("N", text)
    return text[:180]


# llguidance names no keyword; its messages say which, in a few shapes
_MESSAGE_KEYWORDS = (
    (re.compile(r"Unimplemented keys: \[(.*?)\]"), lambda m: m.group(1).replace('"', "")),
    (re.compile(r"Unknown format"), lambda m: "format"),
    (re.compile(r"^(\w+) constraints are not supported"), lambda m: m.group(1)),
    (re.compile(r"^(min/maxProperties|min/maxItems|\$ref|pattern|regex)", re.I), lambda m: m.group(1)),
)


def keyword_of(error: dict) -> str:
    if error.get("keyword"):
        return error["keyword"]
    message = error.get("message", "")
    for pattern, name in _MESSAGE_KEYWORDS:
        match = pattern.search(message)
        if match:
            return name(match)
    return "(no keyword)"


def reason(r: dict) -> tuple[str, str]:
    """(group, pattern): the verdict and keyword, then the message with its particulars blanked."""
    cls, error = r["class"], r.get("error") or {}
    if cls == "refused":
        message = error.get("message", "")
        if error.get("path") and message.startswith("#"):
            message = message.split(": ", 1)[-1]
        return f"refused: {keyword_of(error)}", f"{error.get('error_type')}: {normalized(message)}"
    if cls == "crash":
        return (f"crash during {r.get('phase')} ({error.get('kind')})",
                f"{error.get('type', '')}: {normalized(error.get('message', ''))}")
    if cls == "timeout":
        return "timeout", f"during {r.get('phase')}"
    if cls == "over":
        first = r["over"][0]
        return "over-constrained", "end of generation refused" if first["at"] == "end" else "a token refused"
    if cls == "under":
        return "under-constrained", "invalid instance accepted"
    return cls, ""


def example(r: dict) -> str:
    error = r.get("error") or {}
    if r["class"] == "over":
        first = r["over"][0]
        return f"{r['file']} (test {first['test']}: …{first.get('before', '')!r} then {first.get('token')!r})"
    if r["class"] == "under":
        return f"{r['file']} ({(r.get('under_texts') or [''])[0][:120]!r})"
    message = error.get("message", "")
    return f"{r['file']} ({message.splitlines()[0][:160] if message else ''})"


def reasons(records: list[dict], examples: int = 3) -> str:
    """Failures grouped by verdict and keyword, then by message pattern, most frequent first."""
    groups: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        if r["class"] not in ("correct", "no tests", "compiled"):
            group, pattern = reason(r)
            groups[group][pattern].append(r)
    lines = []
    for group, patterns in sorted(groups.items(), key=lambda kv: (-sum(map(len, kv[1].values())), kv[0])):
        lines.append(f"- **{group}**: {sum(map(len, patterns.values()))}")
        for pattern, members in sorted(patterns.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            lines.append(f"    - {len(members)} x {pattern}")
            lines += [f"        - {example(m)}" for m in members[:examples]]
    return "\n".join(lines) if lines else "- none"


# ---------------------------------------------------------------- the summary
def print_summary(loaded: tuple[dict, list[dict]], details: bool = False) -> None:
    meta, results = loaded
    table = by_engine(results)
    engines = [e for e in ("constrain", "llguidance") if e in table] + sorted(set(table) - {"constrain", "llguidance"})
    if not engines:
        print("no results")
        return
    timeout_s = meta.get("timeout_s")
    versions = meta.get("engines", {})
    print(f"## MaskBench: {len(next(iter(table.values())))} schemas"
          + (f" (sample {meta['sample']}, seed {meta['seed']})" if meta.get("sample") else "")
          + (", compile only" if meta.get("compile_only") else "")
          + f", timeout {timeout_s:g} s" + "; " + ", ".join(f"{e} {versions.get(e, '?')}" for e in engines))
    print()
    print(class_table(engines, table))
    repeats = sum(1 for r in table[engines[0]].values() if r.get("repeat_of"))
    if repeats:
        print(f"\n{repeats} files repeat an earlier file's schema: verdicts counted, compile times left out.")
    common = both_compiled(engines, table)
    forced = both_forced(engines, table, common)
    if len(engines) > 1:
        subset = {e: [table[e][f] for f in common] for e in engines}
        per_engine = {e: figures(subset[e], timeout_s, count_timeouts=False) for e in engines}
        mask_subset = {e: [table[e][f] for f in forced] for e in engines}
        for e in engines:
            masked = figures(mask_subset[e], timeout_s, count_timeouts=False)
            per_engine[e].update({k: v for k, v in masked.items() if k.startswith(("mask", "first", "advance"))})
        print(f"\n### Schemas both engines compiled ({len(common)}; masks over the {len(forced)} both forced "
              "to the end)\n")
        print(figures_table(engines, per_engine))
    overall = {e: figures(list(table[e].values()), timeout_s, count_timeouts=True) for e in engines}
    print("\n### Overall (each engine on every schema it compiled; compile timeouts count at the limit)\n")
    print(figures_table(engines, overall))
    if details:
        for e in engines:
            print(f"\n### Why {e} did not get a schema right\n")
            print(reasons(sorted(table[e].values(), key=lambda r: r["file"])))
