"""`constrain bench`: speed and memory of the runtime on the files people download, side by
side with llama-cpp-python when it is installed.

    constrain bench                      # everything (the 7B file included): about an hour on 2 CPUs
    constrain bench --no-7b --rounds 1   # a quick look
    constrain bench --models default --no-contention

Per model, engine and round, in fresh processes with the engines alternating: load time
(the tile cache present: what every process after the first sees), a 200-token prompt in
one batch and 128 greedy tokens at n_ctx 512 (and its peak RSS), then, at n_ctx 4096,
generation at context 1024 (and that process's peak RSS). The first load of a model, which
builds the tile cache, is measured once before the rounds. Then, for the default model and
TinyLlama Q4_K_M, with each engine's default thread count: one process generating alone,
two processes generating at once, and one beside two busy CPU-bound processes.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time

from constrain.benchmarking.engines import ENGINES, have_llama_cpp
from constrain.benchmarking.protocol import Workload
from constrain.benchmarking.synthetic import SYNTHETIC_MODELS, default_cache_dir, ensure_model, kv_cache_mib

DEFAULT_MODELS = ["default", *SYNTHETIC_MODELS]
BIG_MODEL = "llama2-7b-q5_k_m"
CONTENTION_MODELS = ("default", "tinyllama-q4_k_m")
SMALL_CTX, LARGE_CTX = 512, 4096


def main_ctx(prompt_tokens: int) -> int:
    """n_ctx of the prompt-and-generation process: 512, or room for a longer prompt."""
    return max(SMALL_CTX, -(-prompt_tokens // 256) * 256)


def _int_list(text: str) -> tuple[int, ...]:
    if text.strip().lower() == "none":
        return ()
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _names(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models", type=_names, default=DEFAULT_MODELS,
                   help=f"comma-separated: 'default' (SmolLM2), {', '.join(SYNTHETIC_MODELS)} or GGUF paths "
                        f"(default: all)")
    p.add_argument("--no-7b", action="store_true", help=f"skip {BIG_MODEL} (a 4.8 GB file, the slow part)")
    p.add_argument("--engines", type=_names, default=None,
                   help="comma-separated among constrain, llama_cpp (default: both when llama_cpp imports)")
    p.add_argument("--rounds", type=int, default=3, help="processes per model and engine; medians are printed")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dir", default=None, help=f"where the synthetic files are kept (default: {default_cache_dir()})")
    p.add_argument("--prompt-tokens", type=int, default=200)
    p.add_argument("--gen-tokens", type=int, default=128, help="greedy tokens from a short context")
    p.add_argument("--contexts", type=_int_list, default=(1024,),
                   help=f"context positions where generation speed is measured at n_ctx {LARGE_CTX} "
                        f"(comma-separated; none: skip that process)")
    p.add_argument("--ctx-gen-tokens", type=int, default=32, help="tokens generated at each context position")
    p.add_argument("--json-tokens", type=int, default=96,
                   help="constrained JSON chat generation on real (non-synthetic) models; 0 skips it")
    p.add_argument("--contention-tokens", type=int, default=64,
                   help="tokens each process generates in the contention runs (half on TinyLlama)")
    p.add_argument("--no-contention", action="store_true", help="skip the runs with several processes")
    p.add_argument("--write-only", action="store_true", help="write the synthetic files and stop")


def workload_for(model: str, args: argparse.Namespace) -> Workload:
    """The n_ctx 512 process (more for longer prompts): prompt and generation (and the JSON
    chat on real models)."""
    spec = SYNTHETIC_MODELS.get(model)
    scale = spec.token_scale if spec else 1.0
    return Workload(prompt_tokens=args.prompt_tokens, gen_tokens=max(4, round(args.gen_tokens * scale)),
                    contexts=(), json_tokens=0 if spec else args.json_tokens,
                    n_ctx_fixed=main_ctx(args.prompt_tokens))


def context_workload_for(model: str, args: argparse.Namespace) -> Workload | None:
    """The n_ctx 4096 process: generation at the given context positions (None on the 7B
    file, where filling the context would take most of the run)."""
    if model == BIG_MODEL or not args.contexts:
        return None
    return Workload(prompt_tokens=8, gen_tokens=4, contexts=tuple(sorted(set(args.contexts))),
                    ctx_gen_tokens=args.ctx_gen_tokens, n_ctx_fixed=LARGE_CTX)


def contention_workload_for(model: str, args: argparse.Namespace) -> Workload:
    tokens = args.contention_tokens if model == "default" else max(4, args.contention_tokens // 2)
    return Workload(prompt_tokens=8, gen_tokens=tokens, contexts=(), n_ctx_fixed=SMALL_CTX, gen_only=True)


def resolve_models(args: argparse.Namespace, log) -> list[tuple[str, str, str]]:
    """(name, label, path) per selected model, synthetic files written when missing."""
    names = [m for m in args.models if not (args.no_7b and m == BIG_MODEL)]
    out = []
    for name in names:
        if name == "default":
            from constrain.runtime.default_model import default_model_path

            out.append((name, "default (SmolLM2-135M Q4_1)", default_model_path()))
        elif name in SYNTHETIC_MODELS:
            out.append((name, name, ensure_model(name, args.dir or default_cache_dir(), log=log)))
        elif os.path.exists(name):
            out.append((name, os.path.basename(name), name))
        else:
            raise SystemExit(f"constrain bench: unknown model {name!r} (not a synthetic name nor a file)")
    return out


def _engines(args: argparse.Namespace) -> list[str]:
    engines = args.engines or (["constrain", "llama_cpp"] if have_llama_cpp() else ["constrain"])
    for e in engines:
        if e not in ENGINES:
            raise SystemExit(f"constrain bench: unknown engine {e!r} (expected {', '.join(ENGINES)})")
    if "llama_cpp" in engines and not have_llama_cpp():
        raise SystemExit("constrain bench: llama_cpp is not importable (pip install llama-cpp-python)")
    return engines


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def _header(args: argparse.Namespace, engines: list[str]) -> str:
    versions = []
    if "llama_cpp" in engines:
        import llama_cpp

        versions.append(f"llama-cpp-python {llama_cpp.__version__}")
    import numba

    versions.append(f"numba {numba.__version__}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    at_contexts = (f", {args.ctx_gen_tokens} at context {', '.join(map(str, args.contexts))} with n_ctx {LARGE_CTX}"
                   if args.contexts else "")
    return (f"{_cpu_name()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {', '.join(versions)}; "
            f"{args.threads} threads, medians of {args.rounds} fresh processes per model and engine (engines "
            f"alternating); prompt {args.prompt_tokens} tokens, {args.gen_tokens} generated tokens at n_ctx "
            f"{main_ctx(args.prompt_tokens)}{at_contexts} (a quarter of the generated tokens on {BIG_MODEL}); "
            f"load average at start {load:.1f}.")


def run(args: argparse.Namespace) -> int:
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    engines = _engines(args)
    models = resolve_models(args, log)
    if args.write_only:
        for _, label, path in models:
            print(f"{label}: {path}")
        return 0
    from constrain.benchmarking.runner import WorkerError, run_together, run_worker

    header = _header(args, engines)
    started = time.perf_counter()

    def note(text: str) -> None:
        log(f"[{time.perf_counter() - started:7.0f} s] {text}")

    results: dict[str, dict[str, list[dict]]] = {label: {e: [] for e in engines} for _, label, _ in models}
    first_loads: dict[str, dict[str, float]] = {label: {} for _, label, _ in models}
    tiny = Workload(prompt_tokens=8, gen_tokens=4, contexts=(), n_ctx_fixed=SMALL_CTX)
    for _name, label, path in models:
        for engine in engines:
            # the first process: numba compiles, the tile cache is built (in a fresh directory,
            # so it is a true first load), the file enters the page cache; then the default
            # cache directory gets its tiles for the measured processes
            try:
                with tempfile.TemporaryDirectory() as fresh:
                    first = run_worker(engine, path, args.threads, tiny, {"CONSTRAIN_CACHE_DIR": fresh})
                run_worker(engine, path, args.threads, tiny)
            except WorkerError as e:
                note(f"{label} {engine}: warm-up FAILED\n{e}")
                continue
            first_loads[label][engine] = first["load_s"]
    for r in range(args.rounds):
        for name, label, path in models:
            main, ctx = workload_for(name, args), context_workload_for(name, args)
            for engine in engines:
                try:
                    res = run_worker(engine, path, args.threads, main)
                    if ctx is not None:
                        at = run_worker(engine, path, args.threads, ctx)
                        res.update({k: v for k, v in at.items() if k.startswith("gen_tps@")})
                        res["peak_rss_4096_mib"] = at["peak_rss_mib"]
                except WorkerError as e:
                    note(f"round {r + 1} {label} {engine}: FAILED, left out of the medians\n{e}")
                    continue
                results[label][engine].append(res)
                note(f"round {r + 1}/{args.rounds} {label} {engine}: prompt {res['prompt_tps']:.1f}, "
                     f"gen {res['gen_tps']:.2f} tokens/s, peak RSS {res['peak_rss_mib']:.0f} MiB")

    contention: dict[str, dict[str, dict[str, list[float]]]] = {}
    if not args.no_contention:
        for name, label, path in models:
            if name not in CONTENTION_MODELS:
                continue
            work = contention_workload_for(name, args)
            per_engine = contention.setdefault(label, {e: {"alone": [], "two": [], "busy": []} for e in engines})
            for r in range(args.rounds):
                for engine in engines:
                    try:
                        alone = run_together(engine, path, None, work, 1)[0]["gen_tps"]
                        two = statistics.mean(x["gen_tps"] for x in run_together(engine, path, None, work, 2))
                        busy = run_together(engine, path, None, work, 1, busy=2)[0]["gen_tps"]
                    except WorkerError as e:
                        note(f"contention round {r + 1} {label} {engine}: FAILED\n{e}")
                        continue
                    for key, value in (("alone", alone), ("two", two), ("busy", busy)):
                        per_engine[engine][key].append(value)
                    note(f"contention round {r + 1} {label} {engine}: alone {alone:.1f}, two at once {two:.1f} "
                         f"each, beside two busy processes {busy:.1f} tokens/s")

    print(header)
    print_results(models, args, results, first_loads, engines)
    if contention:
        from constrain.benchmarking.report import contention_table

        print()
        print(contention_table(contention))
    return 0


def print_results(models, args, results: dict, first_loads: dict, engines: list[str]) -> None:
    from constrain.benchmarking.report import add_derived, memory_note, model_table, summary_table
    from constrain.benchmarking.runner import medians

    summary = []
    for name, label, path in models:
        main, ctx = workload_for(name, args), context_workload_for(name, args)
        shown = Workload(**{**main.to_dict(), "contexts": ctx.contexts if ctx else (),
                            "ctx_gen_tokens": args.ctx_gen_tokens})
        meds = {}
        for e, runs in results[label].items():
            meds[e] = add_derived(medians(runs), shown)
            if e in first_loads[label]:
                meds[e]["first_load_s"] = first_loads[label][e]
        print()
        print(model_table(f"{label}: {os.path.basename(path)}", meds, shown))
        kv = {"constrain": (kv_cache_mib(path, main.prompt_tokens, 2),
                            f"float16, the {main.prompt_tokens} positions reached; later ones are never touched"),
              "llama_cpp": (kv_cache_mib(path, main.n_ctx, 2), f"float16, all {main.n_ctx} positions of n_ctx")}
        print()
        print(memory_note(os.path.getsize(path) / 2**20, kv, meds))
        summary.append((label, meds))
    if "llama_cpp" in engines:
        print("\nconstrain / llama.cpp (tokens/s: above 1 = constrain faster; RSS and load time: above 1 = "
              "constrain uses more)\n")
        print(summary_table(summary, args.contexts, main_ctx(args.prompt_tokens)))
    else:
        print("\n(llama-cpp-python is not installed or not selected: no side-by-side figures)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="constrain bench", description=__doc__.split("\n\n")[0])
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
