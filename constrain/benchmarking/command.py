"""`constrain bench`: speed and memory of the runtime on the default model and on
full-size random-weight files, side by side with llama-cpp-python when it is installed.

    constrain bench                      # everything: ~8 min per round on a quiet 2-CPU machine, 7B included
    constrain bench --no-7b --rounds 1   # a quick look
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

from constrain.benchmarking.engines import ENGINES, have_llama_cpp
from constrain.benchmarking.protocol import Workload
from constrain.benchmarking.synthetic import SYNTHETIC_MODELS, default_cache_dir, ensure_model, kv_cache_mib

DEFAULT_MODELS = ["default", *SYNTHETIC_MODELS]
BIG_MODEL = "llama2-7b-q4_0"


def _int_list(text: str) -> tuple[int, ...]:
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
    p.add_argument("--no-7b", action="store_true", help=f"skip {BIG_MODEL} (a 3.8 GB file, the slow part)")
    p.add_argument("--engines", type=_names, default=None,
                   help="comma-separated among constrain, llama_cpp (default: both when llama_cpp imports)")
    p.add_argument("--rounds", type=int, default=3, help="processes per model and engine; medians are printed")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dir", default=None, help=f"where the synthetic files are kept (default: {default_cache_dir()})")
    p.add_argument("--prompt-tokens", type=int, default=200)
    p.add_argument("--gen-tokens", type=int, default=128, help="greedy tokens from a short context")
    p.add_argument("--contexts", type=_int_list, default=(128, 512, 2048),
                   help="context positions where generation speed is measured (comma-separated)")
    p.add_argument("--ctx-gen-tokens", type=int, default=32, help="tokens generated at each context position")
    p.add_argument("--json-tokens", type=int, default=96,
                   help="constrained JSON chat generation on real (non-synthetic) models; 0 skips it")
    p.add_argument("--write-only", action="store_true", help="write the synthetic files and stop")


def workload_for(model: str, args: argparse.Namespace) -> Workload:
    """Synthetic models skip the JSON chat (random weights); slow ones generate fewer tokens."""
    spec = SYNTHETIC_MODELS.get(model)
    scale = spec.token_scale if spec else 1.0
    return Workload(prompt_tokens=args.prompt_tokens,
                    gen_tokens=max(4, round(args.gen_tokens * scale)),
                    contexts=tuple(sorted(set(args.contexts))),
                    ctx_gen_tokens=max(4, round(args.ctx_gen_tokens * scale)),
                    json_tokens=0 if spec else args.json_tokens)


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
    return (f"{_cpu_name()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {', '.join(versions)}; "
            f"{args.threads} threads, medians of {args.rounds} fresh processes per model and engine (engines "
            f"alternating); prompt {args.prompt_tokens} tokens, {args.gen_tokens} generated tokens, "
            f"{args.ctx_gen_tokens} at each context position (a quarter of both on {BIG_MODEL}); "
            f"load average at start {load:.1f}.")


def run(args: argparse.Namespace) -> int:
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    engines = _engines(args)
    models = resolve_models(args, log)
    if args.write_only:
        for _, label, path in models:
            print(f"{label}: {path}")
        return 0
    from constrain.benchmarking.runner import run_rounds

    header = _header(args, engines)
    works = {label: workload_for(name, args) for name, label, _ in models}
    jobs = [(label, path, works[label]) for _, label, path in models]
    started = time.perf_counter()

    def progress(r: int, label: str, engine: str, res: dict) -> None:
        where = f"[{time.perf_counter() - started:7.0f} s] round {r + 1}/{args.rounds} {label} {engine}"
        if "error" in res:
            log(f"{where}: FAILED, left out of the medians\n{res['error']}")
            return
        log(f"{where}: prompt {res['prompt_tps']:.1f}, gen {res['gen_tps']:.2f} tokens/s, "
            f"peak RSS {res['peak_rss_mib']:.0f} MiB ({res['process_s']:.0f} s)")

    results = run_rounds(jobs, engines, args.rounds, args.threads, on_result=progress)
    print(header)
    print_results(jobs, results, engines)
    return 0


def print_results(jobs: list[tuple[str, str, Workload]], results: dict, engines: list[str]) -> None:
    from constrain.benchmarking.report import add_derived, memory_note, model_table, summary_table
    from constrain.benchmarking.runner import medians

    summary = []
    for label, path, work in jobs:
        meds = {e: add_derived(medians(runs), work) for e, runs in results[label].items()}
        print()
        print(model_table(f"{label}: {os.path.basename(path)}, n_ctx {work.n_ctx}", meds, work))
        positions = int(max((m.get("context_positions", 0) for m in meds.values()), default=0)) or work.n_ctx
        kv = {"constrain": (kv_cache_mib(path, positions, 2),
                            f"float16, the {positions} positions reached; later ones are never touched"),
              "llama_cpp": (kv_cache_mib(path, work.n_ctx, 2), f"float16, all {work.n_ctx} positions of n_ctx")}
        print()
        print(memory_note(os.path.getsize(path) / 2**20, kv, meds))
        summary.append((label, meds))
    if "llama_cpp" in engines:
        print("\nconstrain / llama.cpp (tokens/s: above 1 = constrain faster; RSS: above 1 = constrain uses more)\n")
        print(summary_table(summary, {label: work for label, _, work in jobs}))
    else:
        print("\n(llama-cpp-python is not installed or not selected: no side-by-side figures)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="constrain bench", description=__doc__.split("\n\n")[0])
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
