"""Every fuzz case must end in bounded time: a case still running after its budget fails."""

from __future__ import annotations

import contextlib
import signal


class CaseTimeout(BaseException):
    """Raised inside a case that ran past its time budget (a BaseException: no `except
    Exception` in the code under test can swallow it)."""


@contextlib.contextmanager
def time_budget(seconds: float):
    def expire(signum, frame):
        raise CaseTimeout(f"case still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
