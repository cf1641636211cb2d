"""How many threads the kernels use: the cores other processes leave free.

numba splits a parallel loop evenly among its threads and the loop ends only when every
thread is done, so one thread waiting for a core that another process holds stalls the
whole loop for a scheduler time slice; a generated token runs about a hundred such loops
(two processes at 2 threads each on 2 cores measured 34x slower each). Unless the caller
fixes the thread count, the model therefore uses the cores that other processes left
idle since the last look: /proc/stat's busy time minus this process's own CPU time,
re-read at most every CHECK_INTERVAL seconds, before an evaluation.

The worker threads also must not spin long after a loop (libgomp spins 300,000 rounds by
default, taking a core from a neighbour between tokens): the spin is bounded before the
threading layer starts, unless the user set it.
"""

from __future__ import annotations

import os
import time

# Spin briefly between the back-to-back loops of one token, then sleep (libgomp reads these
# when numba first starts its OpenMP threading layer).
os.environ.setdefault("GOMP_SPINCOUNT", "10000")
os.environ.setdefault("KMP_BLOCKTIME", "0")

CHECK_INTERVAL = 0.25  # seconds between looks at the machine's load
SPARE = 0.3  # a core counts as free when at least 1 - SPARE of it was idle


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _busy_seconds() -> float | None:
    """Busy CPU time of the whole machine since boot (all cores), or None without /proc/stat."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    t = os.times()
    return t.user + t.system


class ThreadGovernor:
    """The thread count for the next evaluation: `fixed` if given, else the free cores."""

    def __init__(self, max_threads: int, fixed: int | None = None):
        self.max_threads = max(1, max_threads)
        self.fixed = fixed
        self.current = min(fixed, self.max_threads) if fixed else self.max_threads
        self._last = self._sample()

    @staticmethod
    def _sample():
        busy = _busy_seconds()
        return None if busy is None else (time.monotonic(), busy, _own_seconds())

    def threads(self) -> int:
        if self.fixed or self._last is None:
            return self.current
        now = time.monotonic()
        if now - self._last[0] < CHECK_INTERVAL:
            return self.current
        sample = self._sample()
        wall = sample[0] - self._last[0]
        others = max(0.0, (sample[1] - self._last[1]) - (sample[2] - self._last[2])) / wall
        self._last = sample
        free = available_cpus() - others
        self.current = max(1, min(self.max_threads, int(free + SPARE)))
        return self.current
