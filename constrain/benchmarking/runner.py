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
from typing import Callable

from constrain.benchmarking.protocol import Workload


class WorkerError(RuntimeError):
    pass


def run_worker(engine: str, model: str, threads: int, work: Workload, env_extra: dict | None = None) -> dict:
    env = dict(os.environ, **(env_extra or {}))
    cmd = [sys.executable, "-m", "constrain.benchmarking.worker", "--engine", engine, "--model", model,
           "--threads", str(threads), "--workload", json.dumps(work.to_dict())]
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode:
        raise WorkerError(f"{engine} worker on {model} failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - t
    return result


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
