"""maskbench's worker process: one engine, warm, answering one schema at a time.

    python benchmarks/maskbench_worker.py --engine constrain|llguidance [--mem-limit-gb G]

The parent (benchmarks/maskbench.py) starts it, waits for {"event": "ready"}, then writes one
JSON request per line on stdin: {"schema": ..., "tests": [{"ids": [...], "valid": bool}, ...],
"compile_only": bool}. The worker answers {"event": "compiled", "compile_us": ...} once the
first mask exists, then {"event": "result", ...}. The parent enforces the time limit by killing
the worker, so a hang or a crash costs one schema, never the run.

What is timed, identically for both engines (time.perf_counter_ns):
- compile ("schema to first mask"): from the parsed schema dict to the first mask computed:
  constrain json_schema(schema, strict=False) + grammar.matcher(tokenizer) + matcher.mask_bits();
  llguidance json.dumps({"grammars": [{"json_schema": schema}]}) + LLMatcher(...) + is_error()
  + fill_next_token_bitmask into a preallocated buffer.
- mask: each mask computation while forcing an instance (before every token, and once after
  the last token for the end-of-generation check): mask_bits() / fill_next_token_bitmask.
- advance: each accepted token: matcher.advance(t) / consume_token(t).
Not timed: reading a bit of the mask, reset(), is_accepting(), the garbage collection that
runs once before each schema (the collector stays on while timing).

After the warm-up the worker freezes its heap (gc.freeze), as a long-running server does once it
has started (unless --no-gc-freeze): the ~120k objects that importing numba and the engines leave
behind then no longer sit in every full collection, which otherwise takes 50-140 ms on this
machine whenever allocation triggers one, inside whatever mask is running.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from maskbench_engines import (  # noqa: E402
    EngineInconsistency,
    MaskEngine,
    Refusal,
    allows,
    load_smollm2_tokenizer,
    make_engine,
)

# Forced during warm-up, untimed: loads the vocabulary index, kernels and lazy imports.
WARM_UP_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "number"}},
                   "ok": {"type": "boolean"}},
    "required": ["name"],
}
WARM_UP_INSTANCE = '{"name":"Ada","tags":[1.5,-2],"ok":true}'


class EngineError(Exception):
    """The matcher entered an error state while forcing."""


@dataclass
class Rejection:
    test: int
    valid: bool
    at: int | str  # index of the first token the mask disallowed, or "end"


@dataclass
class Forcing:
    mask_us: list[float] = field(default_factory=list)
    advance_us: list[float] = field(default_factory=list)
    over: list[Rejection] = field(default_factory=list)   # valid instances rejected
    under: list[int] = field(default_factory=list)        # invalid instances accepted
    tokens: int = 0
    first_test_masks: int = 0  # masks of the first instance: nothing memoized yet for this grammar


def _us(start_ns: int, end_ns: int) -> float:
    return (end_ns - start_ns) / 1e3


def timed_mask(engine: MaskEngine, forcing: Forcing) -> None:
    start = time.perf_counter_ns()
    engine.compute_mask()
    forcing.mask_us.append(_us(start, time.perf_counter_ns()))
    error = engine.error()
    if error:
        raise EngineError(error)


def force_one(engine: MaskEngine, ids: list[int], forcing: Forcing) -> int | str | None:
    """Force `ids` token by token; None if every token was allowed and the end accepted, else
    where the instance was rejected (token index or "end")."""
    engine.reset()
    for index, token in enumerate(ids):
        timed_mask(engine, forcing)
        if not allows(engine.bits, token):
            return index
        start = time.perf_counter_ns()
        engine.advance(token)
        forcing.advance_us.append(_us(start, time.perf_counter_ns()))
        forcing.tokens += 1
    timed_mask(engine, forcing)
    end_allowed = any(allows(engine.bits, e) for e in engine.eog_ids)
    if end_allowed != engine.is_accepting():
        raise EngineInconsistency(f"end-of-generation {'allowed' if end_allowed else 'masked'} "
                                  f"but is_accepting() is {engine.is_accepting()}")
    return None if end_allowed else "end"


def force_all(engine: MaskEngine, tests: list[dict]) -> Forcing:
    forcing = Forcing()
    for i, test in enumerate(tests):
        rejected_at = force_one(engine, test["ids"], forcing)
        if i == 0:
            forcing.first_test_masks = len(forcing.mask_us)
        if test["valid"] and rejected_at is not None:
            forcing.over.append(Rejection(i, True, rejected_at))
        elif not test["valid"] and rejected_at is None:
            forcing.under.append(i)
    return forcing


def crash(kind: str, exc: BaseException) -> dict:
    tail = traceback.format_exception(type(exc), exc, exc.__traceback__)[-3:]
    return {"kind": kind, "type": type(exc).__name__, "message": str(exc)[:2000], "traceback": "".join(tail)[-2000:]}


def crash_kind(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, RecursionError):
        return "recursion"
    if isinstance(exc, EngineInconsistency):
        return "inconsistent"
    if isinstance(exc, EngineError):
        return "error state"
    return "exception"


def run_request(engine: MaskEngine, request: dict, send) -> dict:
    """Compile, report the compile time, force the instances; the result record's fields."""
    gc.collect()
    try:
        start = time.perf_counter_ns()
        engine.compile(request["schema"])
        engine.compute_mask()
        compile_us = _us(start, time.perf_counter_ns())
        error = engine.error()
        if error:
            raise EngineError(error)
    except Refusal as refusal:
        return {"class": "refused", "refuse_us": _us(start, time.perf_counter_ns()),
                "error": {"kind": "refused", **asdict(refusal)}}
    except Exception as exc:  # noqa: BLE001 - anything else an engine throws is a crash to record
        return {"class": "crash", "phase": "compile", "refuse_us": _us(start, time.perf_counter_ns()),
                "error": crash(crash_kind(exc), exc)}
    send({"event": "compiled", "compile_us": compile_us})
    record = {"compile_us": compile_us, "warnings": engine.warnings()[:20]}
    if request.get("compile_only"):
        return {**record, "class": "compiled"}
    try:
        forcing = force_all(engine, request["tests"])
    except Exception as exc:  # noqa: BLE001
        return {**record, "class": "crash", "phase": "forcing", "error": crash(crash_kind(exc), exc)}
    if forcing.under:
        verdict = "under"
    elif forcing.over:
        verdict = "over"
    else:
        verdict = "correct" if request["tests"] else "no tests"
    return {**record, "class": verdict, "mask_us": forcing.mask_us, "advance_us": forcing.advance_us,
            "tokens": forcing.tokens, "first_test_masks": forcing.first_test_masks,
            "over": [asdict(r) for r in forcing.over], "under": forcing.under}


def warm_up(engine: MaskEngine, tokenizer) -> list[int]:
    """Compile and force one small schema (untimed); the control tokens (end-of-generation ones
    among them) that its mask allows once the instance is complete."""
    engine.compile(WARM_UP_SCHEMA)
    forcing = Forcing()
    ids = tokenizer.encode(WARM_UP_INSTANCE, add_bos=False)
    if force_one(engine, ids, forcing) is not None:
        raise SystemExit(f"{engine.name}: the warm-up instance was rejected")
    return [t for t in sorted(tokenizer.control_ids) if allows(engine.bits, t)]


def limit_memory(gigabytes: float) -> None:
    import resource

    limit = int(gigabytes * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", required=True)
    parser.add_argument("--mem-limit-gb", type=float, default=0, help="address-space limit (0: none)")
    parser.add_argument("--no-gc-freeze", dest="gc_freeze", action="store_false",
                        help="keep the start-up heap in the garbage collector's full collections")
    args = parser.parse_args()
    # the protocol owns the original stdout; anything an engine prints goes to stderr
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)

    def send(message: dict) -> None:
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    tokenizer = load_smollm2_tokenizer()
    engine = make_engine(args.engine, tokenizer)
    eog_allowed = warm_up(engine, tokenizer)
    if args.gc_freeze:
        gc.collect()
        gc.freeze()
    if args.mem_limit_gb:
        limit_memory(args.mem_limit_gb)
    send({"event": "ready", "engine": engine.name, "version": engine.version(), "pid": os.getpid(),
          "eog_ids": list(engine.eog_ids), "control_allowed_at_end": eog_allowed})
    for line in sys.stdin:
        if not line.strip():
            continue
        result = run_request(engine, json.loads(line), send)
        send({"event": "result", **result})


if __name__ == "__main__":
    main()
