"""Runtime speed and memory on a GGUF model, side by side with llama.cpp when installed.

    python benchmarks/bench_runtime.py [--model PATH] [--threads 2] [--rounds 3]

Each measurement runs in a fresh process (load time and peak RSS are per process), and
the engines alternate round by round so drift on a shared machine hits both alike.
Prints medians and ratios (constrain / llama.cpp; above 1 means constrain is faster,
for RSS below 1 means constrain uses less).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

PROMPT_TOKENS = 200
GEN_TOKENS = 128


def _peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _prompt_ids(n_vocab: int) -> list[int]:
    import numpy as np

    # ordinary ids drawn away from the control tokens at the start of most vocabularies
    return [int(i) for i in np.random.default_rng(0).integers(300, n_vocab, PROMPT_TOKENS)]


def _measure(started: float, loaded: float, ids: list[int], eval_ids, reset, greedy_next) -> dict:
    """The same timing protocol for both engines, given their eval/reset/argmax."""
    eval_ids(ids[:8])  # first eval: includes any kernel compile or warm-up
    first = time.perf_counter()
    reset()
    t = time.perf_counter()
    eval_ids(ids)
    prompt_s = time.perf_counter() - t
    reset()
    eval_ids(ids[:8])
    t = time.perf_counter()
    for _ in range(GEN_TOKENS):
        eval_ids([greedy_next()])
    gen_s = time.perf_counter() - t
    return {
        "load_s": loaded - started,
        "first_eval_s": first - started,
        "prompt_tps": PROMPT_TOKENS / prompt_s,
        "gen_tps": GEN_TOKENS / gen_s,
        "peak_rss_mib": _peak_rss_mib(),
    }


def worker_constrain(model: str, threads: int) -> dict:
    started = time.perf_counter()
    import numpy as np
    from constrain import Llama

    llm = Llama(model, n_ctx=512, n_threads=threads)
    loaded = time.perf_counter()
    return _measure(started, loaded, _prompt_ids(llm.n_vocab()), llm.eval, llm.reset,
                    lambda: int(np.argmax(llm.logits)))


def worker_llama_cpp(model: str, threads: int) -> dict:
    started = time.perf_counter()
    import numpy as np
    from llama_cpp import Llama

    llm = Llama(model, n_ctx=512, n_threads=threads, n_threads_batch=threads, n_batch=512, verbose=False)
    loaded = time.perf_counter()
    return _measure(started, loaded, _prompt_ids(llm.n_vocab()), llm.eval, llm.reset,
                    lambda: int(np.argmax(llm.scores[llm.n_tokens - 1])))


def run_worker(engine: str, model: str, threads: int, env_extra: dict | None = None) -> dict:
    env = dict(os.environ, **(env_extra or {}))
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--worker", engine, "--model", model, "--threads", str(threads)],
        capture_output=True, text=True, env=env, check=False,
    )
    if out.returncode:
        raise RuntimeError(f"{engine} worker failed:\n{out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - t
    return result


def have_llama_cpp() -> bool:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--worker", choices=["constrain", "llama_cpp"])
    args = ap.parse_args()
    if args.model is None:
        from constrain.runtime.default_model import default_model_path

        args.model = default_model_path()
    if args.worker:
        work = worker_constrain if args.worker == "constrain" else worker_llama_cpp
        print(json.dumps(work(args.model, args.threads)))
        return

    print(f"model: {args.model}\nthreads: {args.threads}, rounds: {args.rounds}, "
          f"prompt {PROMPT_TOKENS} tokens in one batch, {GEN_TOKENS} greedy tokens")
    with tempfile.TemporaryDirectory() as cold_cache:
        cold = run_worker("constrain", args.model, args.threads, {"NUMBA_CACHE_DIR": cold_cache})
    print(f"constrain first run (empty numba cache): first eval after {cold['first_eval_s']:.1f} s")

    engines = ["constrain"] + (["llama_cpp"] if have_llama_cpp() else [])
    results: dict[str, list[dict]] = {e: [] for e in engines}
    for _ in range(args.rounds):
        for engine in engines:
            results[engine].append(run_worker(engine, args.model, args.threads))

    metrics = [("prompt_tps", "prompt tokens/s", True), ("gen_tps", "generation tokens/s", True),
               ("load_s", "load time s", False), ("first_eval_s", "start to first eval s", False),
               ("peak_rss_mib", "peak RSS MiB", False)]
    medians = {e: {k: statistics.median(r[k] for r in rs) for k, _, _ in metrics} for e, rs in results.items()}
    header = f"{'metric':<24}" + "".join(f"{e:>14}" for e in engines) + ("  ratio" if len(engines) > 1 else "")
    print(header)
    for key, label, _ in metrics:
        row = f"{label:<24}" + "".join(f"{medians[e][key]:>14.2f}" for e in engines)
        if len(engines) > 1 and medians["llama_cpp"][key]:
            row += f"  {medians['constrain'][key] / medians['llama_cpp'][key]:.2f}x"
        print(row)
    if not have_llama_cpp():
        print("(llama-cpp-python is not installed: no side-by-side figures)")


if __name__ == "__main__":
    main()
