"""maskbench's side of its worker processes: start, ask with a hard time limit, kill, restart.

One WorkerPool per --jobs slot holds one warm worker per engine. A worker that runs over the
time limit is killed (SIGKILL: a hung native call ignores anything gentler) and one that dies
is reported; either way the next schema gets a fresh worker, so the run goes on.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKER = Path(__file__).resolve().parent / "maskbench_worker.py"
STARTUP_TIMEOUT_S = 300.0  # imports, tokenizer, vocabulary index and warm-up on a loaded machine


class WorkerStartError(RuntimeError):
    pass


class WorkerGone(Exception):
    """The worker stopped answering: it died, or it was killed at the time limit."""


class WorkerProcess:
    def __init__(self, engine: str, env: dict, mem_limit_gb: float, gc_freeze: bool = True):
        self.engine = engine
        self.log = tempfile.NamedTemporaryFile(prefix=f"maskbench-{engine}-", suffix=".log", delete=False)
        command = [sys.executable, str(WORKER), "--engine", engine, "--mem-limit-gb", str(mem_limit_gb)]
        if not gc_freeze:
            command.append("--no-gc-freeze")
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                        env=env, bufsize=0)
        self._buffer = b""
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.process.stdout, selectors.EVENT_READ)
        self.schemas = 0

    def read_message(self, deadline: float) -> dict:
        """The next JSON line from the worker; WorkerGone at EOF, TimeoutError at the deadline."""
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._selector.select(remaining):
                raise TimeoutError
            chunk = os.read(self.process.stdout.fileno(), 1 << 20)
            if not chunk:
                raise WorkerGone(self.exit_description())
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def send(self, line: str) -> None:
        try:
            self.process.stdin.write(line.encode("utf-8") + b"\n")
        except (BrokenPipeError, OSError):
            raise WorkerGone(self.exit_description()) from None

    def wait_ready(self) -> dict:
        try:
            message = self.read_message(time.monotonic() + STARTUP_TIMEOUT_S)
        except (TimeoutError, WorkerGone) as exc:
            self.kill()
            raise WorkerStartError(
                f"{self.engine} worker did not start: {exc or 'timed out'}\n{self.log_tail()}") from None
        if message.get("event") != "ready":
            self.kill()
            raise WorkerStartError(f"{self.engine} worker sent {message!r} instead of ready")
        return message

    def exit_description(self) -> str:
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return "worker stopped answering"
        if code < 0:
            return f"worker killed by {signal.Signals(-code).name}"
        return f"worker exited with status {code}"

    def log_tail(self, n_chars: int = 1500) -> str:
        try:
            return Path(self.log.name).read_text(encoding="utf-8", errors="replace")[-n_chars:]
        except OSError:
            return ""

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()  # our own child, by its pid
        self.process.wait()
        self.close()

    def close(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._selector.close()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)

    def stop(self) -> None:
        """Ask politely (EOF on stdin), then kill."""
        try:
            self.process.stdin.close()
            self.process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


class WorkerPool:
    """One warm worker per engine, for one --jobs slot."""

    def __init__(self, engines: list[str], env: dict, args):
        self.engines = engines
        self.env = env
        self.mem_limit_gb = args.mem_limit_gb
        self.gc_freeze = getattr(args, "gc_freeze", True)
        self.recycle = args.recycle
        self.workers: dict[str, WorkerProcess] = {}

    def start_all(self) -> dict[str, dict]:
        return {engine: self._start(engine) for engine in self.engines}

    def _start(self, engine: str) -> dict:
        worker = WorkerProcess(engine, self.env, self.mem_limit_gb, self.gc_freeze)
        ready = worker.wait_ready()
        self.workers[engine] = worker
        return ready

    def _worker(self, engine: str) -> WorkerProcess:
        worker = self.workers.get(engine)
        if worker is not None and worker.schemas >= self.recycle:
            worker.stop()
            worker = None
        if worker is None:
            self._start(engine)
            worker = self.workers[engine]
        return worker

    def run(self, engine: str, request: str, timeout_s: float) -> dict:
        """The worker's result for one schema, or a timeout/crash record in its place."""
        worker = self._worker(engine)
        worker.schemas += 1
        deadline = time.monotonic() + timeout_s
        compile_us = None
        try:
            worker.send(request)
            while True:
                message = worker.read_message(deadline)
                if message["event"] == "compiled":
                    compile_us = message["compile_us"]
                elif message["event"] == "result":
                    del message["event"]
                    return message
        except TimeoutError:
            del self.workers[engine]
            worker.kill()
            return {"class": "timeout", "phase": "compile" if compile_us is None else "forcing",
                    "compile_us": compile_us, "error": {"kind": "timeout", "message": f"over {timeout_s:g} s"}}
        except WorkerGone as gone:
            del self.workers[engine]
            tail = worker.log_tail(600)
            worker.kill()
            return {"class": "crash", "phase": "compile" if compile_us is None else "forcing",
                    "compile_us": compile_us, "error": {"kind": "died", "message": str(gone), "log": tail}}

    def close(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        self.workers.clear()

    def kill_all(self) -> None:
        for worker in list(self.workers.values()):
            worker.kill()
        self.workers.clear()
