"""One measurement in this process: open an engine, run protocol.py, print one JSON line.

    python -m constrain.benchmarking.worker --engine constrain --model PATH --threads 2 --workload JSON
"""

from __future__ import annotations

import time

_started = time.perf_counter()  # before the heavy imports, so load time counts them

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

from constrain.benchmarking.engines import ENGINES, open_engine  # noqa: E402
from constrain.benchmarking.protocol import Workload, measure  # noqa: E402


def memory_mib() -> dict:
    """Current resident memory split into anonymous and file-backed pages (Linux), and
    the peak so far (ru_maxrss)."""
    out = {"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon", "RssFile"):
                    out[key] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return out


def _wait_for_go() -> None:
    """Tell the runner this process is ready, and wait for its go (one line on stdin)."""
    print("ready", flush=True)
    sys.stdin.readline()


def run(engine_name: str, model: str, threads: int | None, work: Workload, barrier: bool = False) -> dict:
    engine = open_engine(engine_name, model, work.n_ctx, threads)
    loaded = time.perf_counter()
    after_load = memory_mib()
    result = measure(engine, work, _started, loaded, _wait_for_go if barrier else None)
    result.update({f"load_{k}": v for k, v in after_load.items() if k != "peak_rss_mib"})
    result.update(memory_mib())
    result["n_ctx"] = work.n_ctx
    return result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", choices=ENGINES, required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2, help="0: the engine's default thread count")
    ap.add_argument("--barrier", action="store_true", help="print 'ready' and wait for a line on stdin "
                                                           "before the timed generation")
    ap.add_argument("--workload", default="{}", help="Workload fields as JSON")
    args = ap.parse_args(argv)
    work = Workload.from_dict(json.loads(args.workload))
    print(json.dumps(run(args.engine, args.model, args.threads or None, work, args.barrier)), flush=True)


if __name__ == "__main__":
    main()
