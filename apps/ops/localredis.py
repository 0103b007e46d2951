"""Start and stop a project-local Redis server (Debian's redis-server) on a given port.

Standard library only, so the test suite and the run script share it.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path


class RedisServerError(RuntimeError):
    pass


def ping(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start(*, data_dir: str | Path, host: str = "127.0.0.1", port: int = 6380, timeout: float = 20.0) -> int:
    """Start redis-server (or reuse one already answering on host:port); return its pid or 0 if reused."""
    if ping(host, port):
        return 0
    binary = shutil.which("redis-server")
    if not binary:
        raise RedisServerError("redis-server is not installed: run bin/setup (apt-get install redis-server)")
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    pidfile = data_dir / "redis.pid"
    subprocess.run(
        [binary, "--bind", host, "--port", str(port), "--dir", str(data_dir), "--daemonize", "yes",
         "--pidfile", str(pidfile), "--logfile", str(data_dir / "redis.log"), "--save", "60 1",
         "--appendonly", "yes", "--protected-mode", "yes"],
        check=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ping(host, port):
            return int(pidfile.read_text().strip()) if pidfile.exists() else 0
        time.sleep(0.1)
    raise RedisServerError(f"redis-server did not answer on {host}:{port}; see {data_dir / 'redis.log'}")


def stop(*, data_dir: str | Path, timeout: float = 10.0) -> bool:
    """Stop the redis-server started with this data dir; True if one was stopped."""
    pidfile = Path(data_dir) / "redis.pid"
    if not pidfile.exists():
        return False
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, signal.SIGTERM)
    except (ValueError, ProcessLookupError):
        pidfile.unlink(missing_ok=True)
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            pidfile.unlink(missing_ok=True)
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)
    return True
