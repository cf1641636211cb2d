"""Throughput of extract_dataset on a local Ray: 1 actor x 2 threads against 2 actors x 1 thread.

    python benchmarks/bench_ray_extract.py [--texts 40] [--n-seq-max 4] [--max-tokens 64] [--model PATH]

The default model (or --model) extracts a person (name, birth year, city) from each of `--texts` one-line
biographies, greedy. Each layout runs twice: on one batch per actor (what starting the actors
and the first batch cost) and on every text; documents/s counts the texts past the first run
over the time past it, so actor start-up does not blur the steady rate. The caches are warmed
once before any timing. While the jobs run, the actors' memory is sampled from /proc (RSS, PSS,
private): what docs/scaling.md's actors-per-machine arithmetic needs.
"""

from __future__ import annotations

import argparse
import os
import threading
import time

from constrain.testing.biographies import PERSON_SCHEMA as SCHEMA
from constrain.testing.biographies import biographies

ACTOR_NAME = b"MapBatches(RowExtractor)"


class ActorMemory(threading.Thread):
    """The largest RSS / PSS / private bytes seen per actor process (local Ray only)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peaks: dict[int, dict[str, int]] = {}
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(0.5):
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        if ACTOR_NAME not in f.read():
                            continue
                    with open(f"/proc/{pid}/smaps_rollup") as f:
                        fields = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f if "kB" in line}
                except OSError:
                    continue
                private = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
                peak = self.peaks.setdefault(int(pid), {"rss": 0, "pss": 0, "private": 0})
                for key, value in (("rss", fields.get("Rss", 0)), ("pss", fields.get("Pss", 0)), ("private", private)):
                    peak[key] = max(peak[key], value)


def timed_job(ds, actors: int, threads: int, args) -> float:
    from constrain.batch import extract_dataset

    start = time.perf_counter()
    rows = extract_dataset(ds, SCHEMA, args.model, concurrency=actors, num_cpus=threads, batch_size=args.batch_size,
                           n_seq_max=args.n_seq_max, n_ctx=args.n_ctx, max_tokens=args.max_tokens,
                           warm_up=False).take_all()
    took = time.perf_counter() - start
    failed = sum(row["error"] is not None for row in rows)
    if failed:
        example = next(row["error"] for row in rows if row["error"])
        print(f"  ({failed} of {len(rows)} rows ended in an error, e.g. {example})")
    return took


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", type=int, default=40)
    ap.add_argument("--n-seq-max", type=int, default=4, help="texts each actor decodes together")
    ap.add_argument("--batch-size", type=int, default=8, help="rows per actor call")
    ap.add_argument("--n-ctx", type=int, default=512)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--model", default=None, help="GGUF file (default: the default model)")
    args = ap.parse_args()
    import logging

    import ray

    from constrain.batch.warm import warm_caches

    cores = os.cpu_count() or 1
    ray.init(num_cpus=cores, object_store_memory=200 << 20, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    try:
        warm = warm_caches(args.model, SCHEMA, n_seq_max=args.n_seq_max, n_ctx=args.n_ctx,
                           extract_options={"max_tokens": args.max_tokens})
        print(f"machine: {cores} cores; caches warmed in {warm:.1f} s; {args.texts} texts, n_seq_max "
              f"{args.n_seq_max}, batch_size {args.batch_size}, max_tokens {args.max_tokens}")
        texts = biographies(args.texts)
        rates = {}
        for actors, threads in ((1, cores), (cores, 1)):
            memory = ActorMemory()
            memory.start()
            first = actors * args.batch_size
            small = timed_job(ray.data.from_items([{"text": t} for t in texts[:first]]), actors, threads, args)
            full = timed_job(ray.data.from_items([{"text": t} for t in texts]), actors, threads, args)
            memory.done.set()
            memory.join()
            rates[actors] = (args.texts - first) / (full - small)
            peaks = list(memory.peaks.values())
            mib = lambda key, peaks=peaks: max(p[key] for p in peaks) / 2**20 if peaks else float("nan")  # noqa: E731
            print(f"{actors} actor(s) x {threads} thread(s): {args.texts} texts in {full:6.1f} s "
                  f"({args.texts / full:.2f} docs/s with start-up; {first} texts alone {small:.1f} s); "
                  f"steady {rates[actors]:.2f} docs/s; per actor peak RSS {mib('rss'):.0f} MiB, "
                  f"PSS {mib('pss'):.0f} MiB, private {mib('private'):.0f} MiB")
        print(f"{cores} actors x 1 thread / 1 actor x {cores} threads: {rates[cores] / rates[1]:.2f}x")
    finally:
        ray.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
