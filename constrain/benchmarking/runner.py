"""Start worker processes, engines interleaved round by round, and take medians.

Fresh processes make load time and peak RSS per measurement; interleaving makes drift on
a shared machine hit every engine alike.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from constrain.benchmarking.protocol import Workload


class WorkerError(RuntimeError):
    pass


# A CPU-bound neighbour process, bounded in time so that a crashed runner leaves nothing behind.
BUSY_LOOP = "import time\nend = time.time() + 900\nwhile time.time() < end:\n    pass\n"


def _worker_command(engine: str, model: str, threads: int | None, work: Workload) -> list[str]:
    return [sys.executable, "-m", "constrain.benchmarking.worker", "--engine", engine, "--model", model,
            "--threads", str(threads or 0), "--workload", json.dumps(work.to_dict())]


def _parse(engine: str, model: str, returncode: int, stdout: str, stderr: str) -> dict:
    if returncode:
        raise WorkerError(f"{engine} worker on {model} failed (exit {returncode}):\n{stderr[-3000:]}")
    return json.loads(stdout.strip().splitlines()[-1])


def run_worker(engine: str, model: str, threads: int | None, work: Workload, env_extra: dict | None = None) -> dict:
    """threads None: the engine's default thread count."""
    env = dict(os.environ, **(env_extra or {}))
    cmd = _worker_command(engine, model, threads, work)
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    result = _parse(engine, model, out.returncode, out.stdout, out.stderr)
    result["process_s"] = time.perf_counter() - t
    return result


def run_together(engine: str, model: str, threads: int | None, work: Workload, generators: int,
                 busy: int = 0) -> list[dict]:
    """`generators` workers of a gen_only workload that start generating at the same moment
    (each loads, warms up, then waits for the others), beside `busy` CPU-bound processes.
    Returns each generator's result."""
    neighbours = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(busy)]
    procs = []
    try:
        cmd = _worker_command(engine, model, threads, work) + ["--barrier"]
        procs = [subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(generators)]
        for p in procs:
            if p.stdout.readline().strip() != "ready":
                p.wait()
                raise WorkerError(f"{engine} worker on {model} failed before generating:\n{p.stderr.read()[-3000:]}")
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        results = []
        for p in procs:
            stdout, stderr = p.communicate(timeout=1800)
            results.append(_parse(engine, model, p.returncode, stdout, stderr))
        return results
    finally:
        for p in procs + neighbours:
            if p.poll() is None:
                p.kill()
            p.wait()


def run_rounds(jobs: list[tuple[str, str, Workload]], engines: list[str], rounds: int, threads: int,
               on_result: Callable[[int, str, str, dict], None] | None = None) -> dict[str, dict[str, list[dict]]]:
    """jobs: (label, model path, workload). Returns {label: {engine: [result per round]}};
    every round runs every job once per engine, engines alternating. A failed worker
    (say, killed for memory) is reported to on_result as {"error": ...} and left out, so
    a long run keeps the rest."""
    results: dict[str, dict[str, list[dict]]] = {label: {e: [] for e in engines} for label, _, _ in jobs}
    for r in range(rounds):
        for label, model, work in jobs:
            for engine in engines:
                try:
                    result = run_worker(engine, model, threads, work)
                except WorkerError as e:
                    result = {"error": str(e)}
                else:
                    results[label][engine].append(result)
                if on_result:
                    on_result(r, label, engine, result)
    return results


def medians(runs: list[dict]) -> dict[str, float]:
    """Per key, the median over the runs that have it (numeric values only)."""
    keys = {k for run in runs for k, v in run.items() if isinstance(v, (int, float))}
    return {k: statistics.median(run[k] for run in runs if k in run) for k in sorted(keys)}
