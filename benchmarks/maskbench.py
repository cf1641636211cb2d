"""MaskBench's method on JSONSchemaBench's real-world schemas: constrain beside llguidance.

    python benchmarks/maskbench.py DATA_DIR [--sample N --seed S] [--engines constrain,llguidance]
        [--timeout SEC] [--jobs J] [--out results.jsonl] [--compile-only] [--details]
    python benchmarks/maskbench.py --summarize results.jsonl [--details]

DATA_DIR is a checkout of the maskbench/data folder of github.com/guidance-ai/jsonschemabench
(~11.3k files, one schema each: {"schema": ..., "tests": [{"data": ..., "valid": bool}, ...]});
it is read in place, never copied. `--sample N --seed S` draws N files with
random.Random(S).sample over the sorted file names (all files without --sample).

For every schema and engine: compile, then force every test instance token by token. An
instance is json.dumps(data, separators=(",", ":"), ensure_ascii=False), tokenized once by
SmolLM2-135M-Instruct's tokenizer (the default model's GGUF); both engines get the same ids.
A valid instance must be allowed at every token and accepted at the end (an end-of-generation
id allowed by the final mask); an invalid one must be rejected (a token disallowed, or the end
not allowed). Each schema is classified per engine:
  correct     every instance judged right       no tests  compiled; the file has no instances
  refused     compile error (a typed refusal; its keyword and message are recorded)
  over        a valid instance rejected          under     an invalid instance accepted (worse)
  timeout     over --timeout (compile + forcing) crash     the worker died, or the engine raised
                                                           something other than a refusal
  compiled    compile-only runs (--compile-only)
An over/under verdict names the instance and token (see --details).

Timing protocol, identical for both engines. Each engine runs in its own worker process
(benchmarks/maskbench_worker.py; same interpreter, same start-up), one thread each
(NUMBA_NUM_THREADS=RAYON_NUM_THREADS=1, as MaskBench runs engines single-threaded). Before any
timing a worker imports its engine, builds the tokenizer and its vocabulary index (constrain's
trie, llguidance's LLTokenizer), and compiles and forces a small warm-up schema. Timed with
time.perf_counter_ns:
  compile  "schema to first mask": from the parsed schema dict until the first mask exists.
           constrain: json_schema(schema, strict=False) + grammar.matcher(tokenizer) +
           matcher.mask_bits(); llguidance: json.dumps({"grammars": [{"json_schema": schema}]})
           + LLMatcher(tokenizer, grammar) + is_error() + fill_next_token_bitmask (into a
           preallocated buffer). strict=False is the spec's additionalProperties default,
           which MaskBench's instances follow and llguidance applies.
  mask     every mask computed while forcing: before each token and once after the last
           (the end-of-generation check): matcher.mask_bits() / fill_next_token_bitmask.
  advance  every accepted token: matcher.advance(t) / matcher.consume_token(t).
Not timed: reading mask bits, reset(), is_accepting(), tokenization, one gc.collect() before
each schema (the collector stays on while timing). Engines alternate which goes first from one
schema to the next. Workers get a fresh CONSTRAIN_CACHE_DIR per run (so no compiled grammar of
an earlier run is reused) and are restarted every --recycle schemas (bounded memory). A file
whose schema repeats an earlier one in the run keeps its verdict, but its compile time is left
out of the compile figures (an in-process cache could answer it).

Printed: counts per class per engine; compile p50/p95/max (ms); mask mean/p50/p99/max (us), and
mean/p99 over each schema's first instance alone (nothing memoized yet for that grammar);
constrain/llguidance ratios, on the schemas both engines compiled and overall. Compile
figures "overall" count compile timeouts at the time limit, as MaskBench does. Every result is
one JSON line in --out (rerun the summary with --summarize). llguidance is optional: without it
installed, constrain runs alone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import queue
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from maskbench_engines import ENGINE_NAMES, engine_available, load_smollm2_tokenizer  # noqa: E402
from maskbench_report import load_results, print_summary  # noqa: E402
from maskbench_workers import WorkerPool, WorkerStartError  # noqa: E402


def schema_files(data_dir: Path, sample: int | None, seed: int) -> list[Path]:
    files = sorted(data_dir.glob("*.json"))
    if not files:
        raise SystemExit(f"no *.json files in {data_dir}: pass a checkout of jsonschemabench's maskbench/data")
    if sample is not None and sample < len(files):
        files = random.Random(seed).sample(files, sample)
    return files


def serialize(instance) -> str:
    return json.dumps(instance, separators=(",", ":"), ensure_ascii=False)


def schema_key(schema) -> str:
    return hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()


class Instances:
    """A schema file's request for the workers, with its texts kept to explain verdicts."""

    def __init__(self, path: Path, tokenizer, compile_only: bool):
        data = json.loads(path.read_text(encoding="utf-8"))
        self.schema = data["schema"]
        self.tests, self.ids, self.skipped = [], [], 0
        for test in data.get("tests") or []:
            text = serialize(test["data"])
            ids = tokenizer.encode(text, add_bos=False)
            if tokenizer.decode(ids) != text.encode("utf-8"):
                self.skipped += 1  # text the vocabulary cannot spell: no model could write it
                continue
            self.tests.append({"ids": ids, "valid": bool(test["valid"])})
            self.ids.append(ids)
        self.request = json.dumps({"schema": self.schema, "tests": self.tests, "compile_only": compile_only})
        self.counts = {"n_tests": len(self.tests), "n_valid": sum(t["valid"] for t in self.tests),
                       "n_invalid": sum(not t["valid"] for t in self.tests), "skipped_tests": self.skipped}

    def explain(self, result: dict, tokenizer) -> None:
        """Put the text around each wrong verdict into the result (for --details)."""
        for over in result.get("over", []):
            ids = self.ids[over["test"]]
            at = len(ids) if over["at"] == "end" else over["at"]
            over["before"] = tokenizer.decode(ids[:at])[-60:].decode("utf-8", "replace")
            over["token"] = "<end>" if over["at"] == "end" else tokenizer.decode([ids[at]]).decode("utf-8", "replace")
        result["under_texts"] = [tokenizer.decode(self.ids[i]).decode("utf-8", "replace")[:300]
                                 for i in result.get("under", [])]


class Run:
    """Schemas handed to --jobs threads, each owning one worker per engine; results appended
    to the JSON-lines file as they come."""

    def __init__(self, args, engines: list[str], tokenizer, out, pool_env: dict):
        self.args, self.engines, self.tokenizer, self.out = args, engines, tokenizer, out
        self.pool_env = pool_env
        self.lock = threading.Lock()
        self.seen: dict[str, str] = {}
        self.done = 0
        self.todo: queue.Queue = queue.Queue()

    def write(self, record: dict) -> None:
        with self.lock:
            self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.out.flush()

    def first_file_with(self, key: str, name: str) -> str | None:
        with self.lock:
            first = self.seen.setdefault(key, name)
        return None if first == name else first

    def schema(self, index: int, path: Path, pool: WorkerPool) -> None:
        try:
            instances = Instances(path, self.tokenizer, self.args.compile_only)
        except (OSError, ValueError, KeyError) as exc:
            print(f"skipping {path.name}: unreadable ({exc})", file=sys.stderr)
            return
        repeat_of = self.first_file_with(schema_key(instances.schema), path.name)
        order = self.engines if index % 2 == 0 else self.engines[::-1]
        line = []
        for engine in order:
            result = pool.run(engine, instances.request, self.args.timeout)
            instances.explain(result, self.tokenizer)
            self.write({"type": "result", "file": path.name, "engine": engine, **instances.counts,
                        "repeat_of": repeat_of, **result})
            timing = f" {result['compile_us'] / 1e3:.1f} ms" if result.get("compile_us") is not None else ""
            line.append(f"{engine} {result['class']}{timing}")
        with self.lock:
            self.done += 1
            print(f"[{self.done}/{self.total}] {path.name}: " + " | ".join(line), file=sys.stderr, flush=True)

    def worker_thread(self, pool: WorkerPool) -> None:
        try:
            while True:
                try:
                    index, path = self.todo.get_nowait()
                except queue.Empty:
                    return
                self.schema(index, path, pool)
        finally:
            pool.close()

    def run(self, files: list[Path], first_pool: WorkerPool) -> None:
        self.total = len(files)
        for item in enumerate(files):
            self.todo.put(item)
        pools = [first_pool] + [WorkerPool(self.engines, self.pool_env, self.args) for _ in range(self.args.jobs - 1)]
        threads = [threading.Thread(target=self.worker_thread, args=(p,), daemon=True) for p in pools]
        for t in threads:
            t.start()
        try:
            for t in threads:
                t.join()
        except KeyboardInterrupt:
            while not self.todo.empty():
                self.todo.get_nowait()
            for pool in pools:
                pool.kill_all()
            raise


def check_same_vocabulary(ready: dict[str, dict]) -> None:
    """Both engines must treat the same ids as end of generation (and allow no other control
    token at the end); otherwise the acceptance check would differ between them."""
    eog = {name: tuple(r["eog_ids"]) for name, r in ready.items()}
    end = {name: tuple(r["control_allowed_at_end"]) for name, r in ready.items()}
    if len(set(eog.values())) > 1 or len(set(end.values())) > 1:
        raise SystemExit(f"engines disagree on end-of-generation ids: {eog}; control ids allowed at the end: {end}")
    print(f"end-of-generation ids (both engines): {list(next(iter(eog.values())))}", file=sys.stderr)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", nargs="?", type=Path, help="checkout of jsonschemabench's maskbench/data")
    parser.add_argument("--sample", type=int, help="number of schema files drawn at random (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0)")
    parser.add_argument("--engines", default=",".join(ENGINE_NAMES),
                        help="comma-separated (default: constrain,llguidance; llguidance is skipped "
                             "when not installed)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per schema and engine (default 60)")
    parser.add_argument("--jobs", type=int, default=1, help="schemas run side by side (default 1)")
    parser.add_argument("--out", type=Path, default=Path("maskbench.jsonl"), help="JSON-lines results")
    parser.add_argument("--compile-only", action="store_true", help="compile and first mask only")
    parser.add_argument("--recycle", type=int, default=100, help="restart a worker after this many schemas")
    parser.add_argument("--mem-limit-gb", type=float, default=8.0, help="address space per worker (0: none)")
    parser.add_argument("--no-gc-freeze", dest="gc_freeze", action="store_false",
                        help="keep the workers' start-up heap in the garbage collector's walks (default: frozen)")
    parser.add_argument("--cache-dir", type=Path, help="CONSTRAIN_CACHE_DIR for the workers (default: fresh per run)")
    parser.add_argument("--details", action="store_true", help="also print why schemas were refused or failed")
    parser.add_argument("--summarize", type=Path, metavar="RESULTS", help="only print the summary of a results file")
    args = parser.parse_args(argv)
    if args.summarize is None and args.data_dir is None:
        parser.error("DATA_DIR is required (or --summarize RESULTS)")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    return args


def chosen_engines(spec: str) -> list[str]:
    engines = []
    for name in (n.strip() for n in spec.split(",") if n.strip()):
        if name not in ENGINE_NAMES:
            raise SystemExit(f"unknown engine {name!r}; known: {', '.join(ENGINE_NAMES)}")
        if engine_available(name):
            engines.append(name)
        else:
            print(f"{name} is not installed (pip install {name}): running without it", file=sys.stderr)
    if not engines:
        raise SystemExit("no engine to run")
    return engines


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.summarize:
        print_summary(load_results(args.summarize), details=args.details)
        return 0
    engines = chosen_engines(args.engines)
    files = schema_files(args.data_dir, args.sample, args.seed)
    cache_dir = args.cache_dir or Path(tempfile.mkdtemp(prefix="maskbench-cache-"))
    env = dict(os.environ, CONSTRAIN_CACHE_DIR=str(cache_dir), NUMBA_NUM_THREADS="1", RAYON_NUM_THREADS="1",
               OMP_NUM_THREADS="1")
    tokenizer = load_smollm2_tokenizer()
    started = time.time()
    try:
        try:
            first_pool = WorkerPool(engines, env, args)
            ready = first_pool.start_all()
        except WorkerStartError as exc:
            raise SystemExit(str(exc)) from None
        check_same_vocabulary(ready)
        with args.out.open("w", encoding="utf-8") as out:
            meta = {"type": "meta", "data_dir": str(args.data_dir), "files": len(files), "sample": args.sample,
                    "seed": args.seed, "timeout_s": args.timeout, "jobs": args.jobs, "gc_freeze": args.gc_freeze,
                    "compile_only": args.compile_only, "engines": {n: r["version"] for n, r in ready.items()},
                    "eog_ids": ready[engines[0]]["eog_ids"], "started": time.strftime("%Y-%m-%d %H:%M:%S")}
            out.write(json.dumps(meta) + "\n")
            Run(args, engines, tokenizer, out, env).run(files, first_pool)
    finally:
        if args.cache_dir is None:
            shutil.rmtree(cache_dir, ignore_errors=True)
    print(f"\n{len(files)} schemas in {time.time() - started:.0f} s; results in {args.out}\n", file=sys.stderr)
    print_summary(load_results(args.out), details=args.details)
    return 0


if __name__ == "__main__":
    sys.exit(main())
