"""Start, kill and stop a real `celery worker` process (prefork, optionally with the beat):
what the test suite's worker fixtures and `manage.py fault_drill` run. Standard library only."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


class WorkerError(RuntimeError):
    pass


class WorkerProcess:
    """One worker in a process group of its own, logging to `log_path`."""

    def __init__(self, log_path: Path, *, name: str, env: dict | None = None, beat: bool = True,
                 concurrency: int = 1):
        self.log_path, self.name, self.env = Path(log_path), name, env
        self.beat, self.concurrency = beat, concurrency
        self.proc: subprocess.Popen | None = None
        self.log = None

    def start(self, *, timeout: float = 60.0) -> WorkerProcess:
        cmd = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork",
               "--concurrency", str(self.concurrency), "--loglevel", "INFO", "--without-mingle", "--without-gossip",
               "-n", self.name]
        if self.beat:
            cmd += ["-B", "--schedule", str(self.log_path.parent / "celerybeat-schedule")]
        self.log = open(self.log_path, "ab")
        mark = self.log_path.stat().st_size
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while b"ready." not in self.log_path.read_bytes()[mark:]:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise WorkerError(f"the celery worker did not start within {timeout:.0f}s; see {self.log_path}")
            time.sleep(0.2)
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole worker process group (the worker, its pool and its beat), as a crash would."""
        if self.alive:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 20.0) -> None:
        if self.alive:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.log is not None:
            self.log.close()
