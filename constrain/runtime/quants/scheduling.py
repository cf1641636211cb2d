"""How the matrix-vector kernels split output rows among threads."""

from __future__ import annotations

import numba

# A parallel task should hold enough rows that scheduling costs stay small,
# yet there should be several tasks per thread to balance the load.
MIN_ROWS_PER_TASK = 16
TASKS_PER_THREAD = 4


def rows_per_parallel_task(rows: int) -> int:
    """Rows per prange task, sized for the most threads numba may use.

    Fixed per matrix: asking numba for the current thread count costs microseconds
    per call (and inside a kernel it would disable numba's on-disk cache). With
    fewer active threads there are just more tasks per thread.
    """
    tasks = numba.config.NUMBA_NUM_THREADS * TASKS_PER_THREAD
    return max(MIN_ROWS_PER_TASK, -(-rows // tasks))
