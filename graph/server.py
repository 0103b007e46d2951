"""Start, stop and inspect the project's own Neo4j 5 server (Bolt), without Docker.

The server is Neo4j Community 5.26 run as an embedded DBMS with its Bolt connector on,
by the small Java launcher in ``graph/launcher`` (built with Maven from Maven Central).
Any Neo4j driver talks to it as to a normal server; auth is off (any user/password is
accepted) and Bolt is unencrypted, so bind it to loopback only.

Standard library only, and no Django import: this module is used by the
``graph_server`` management command, by tests, and as a CLI::

    python -m graph.server start  [--data-dir D] [--host H] [--port P]
                                  [--pagecache 512m] [--heap 1g] [--timeout 180]
    python -m graph.server stop   [--data-dir D]
    python -m graph.server status [--data-dir D]
    python -m graph.server build  [--force]

Python API (every failure raises :class:`Neo4jServerError` with a readable message):

* :func:`ensure_built` -- build the launcher unless its jars are up to date.
* :func:`start` -- start (or reuse) the server of a data dir; returns once Bolt answers.
* :func:`stop` -- SIGTERM, wait, SIGKILL as a last resort; remove the pid file.
* :func:`status` -- what is running for a data dir, and whether Bolt answers.
* :func:`bolt_ready` -- does ``host:port`` complete a real Bolt handshake?
* :func:`find_free_port` -- a currently free TCP port (for tests).

Files in the data dir (one server process per data dir; Neo4j itself locks the store):

* ``neo4j.pid`` -- JSON ``{"pid", "host", "port", ...}`` of the running launcher.
* ``launcher.log`` -- the launcher's stdout/stderr (``READY``/``FAILED`` lines, stack
  traces); the previous run's log is kept as ``launcher.log.1``.
* ``logs/debug.log`` -- Neo4j's own log.  ``data/`` -- the store.
* ``.server.lock`` -- serialises concurrent start/stop calls on the same data dir.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "DEFAULT_HEAP",
    "DEFAULT_HOST",
    "DEFAULT_PAGECACHE",
    "DEFAULT_PORT",
    "DEFAULT_START_TIMEOUT",
    "Neo4jServerError",
    "ServerInfo",
    "bolt_ready",
    "ensure_built",
    "find_free_port",
    "start",
    "status",
    "stop",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
LAUNCHER_DIR = Path(__file__).resolve().parent / "launcher"
POM = LAUNCHER_DIR / "pom.xml"
SOURCES_DIR = LAUNCHER_DIR / "src"
TARGET_DIR = LAUNCHER_DIR / "target"
LAUNCHER_JAR = TARGET_DIR / "vendorgraph-neo4j-launcher.jar"  # <finalName> in pom.xml
DEPENDENCY_DIR = TARGET_DIR / "dependency"  # copy-dependencies output in pom.xml
MAIN_CLASS = "vendorgraph.Neo4jLauncher"

MIN_JAVA = 17
# A JDK, not just a JRE: Maven compiles the launcher with javac. The JDK includes the JRE.
INSTALL_HINT = "apt-get install openjdk-17-jdk-headless maven"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7687
DEFAULT_PAGECACHE = "512m"
DEFAULT_HEAP = "1g"
DEFAULT_START_TIMEOUT = 180.0
DEFAULT_STOP_TIMEOUT = 60.0
DEFAULT_BUILD_TIMEOUT = 1200.0  # a cold ~/.m2 downloads ~130 MB of jars

PID_FILE = "neo4j.pid"
LOG_FILE = "launcher.log"
LOCK_FILE = ".server.lock"

# Flags the Neo4j 5 server itself passes to Java 17 (its netty/page-cache code reflects
# into these JDK internals), plus: fail fast on OOM so a dead server is noticed instead of
# a wedged one, and no JMX for log4j (not needed, slows start-up).
JVM_FLAGS = (
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dlog4j2.disable.jmx=true",
    "-Dfile.encoding=UTF-8",
)

_JVM_SIZE = re.compile(r"^[1-9][0-9]*[kKmMgG]?$")
_NEO4J_SIZE = re.compile(r"^[1-9][0-9]*(\.[0-9]+)?\s*([kKmMgGtT]i?[bB]?|[bB])?$")
_DURATION = re.compile(r"^[1-9][0-9]*(ms|s|m|h)$")


class Neo4jServerError(RuntimeError):
    """Any failure to build, start, stop or inspect the Neo4j server; the message says why
    and, where it can, what to do about it."""


@dataclasses.dataclass(frozen=True)
class ServerInfo:
    """What is (or is not) running for one data dir.

    ``pid`` is None and ``running`` False when no server runs for the data dir (then
    ``host``/``port`` are the ones asked about). ``ready`` means Bolt answered a handshake
    when the info was made. ``reused`` is True when :func:`start` found the server already
    running; ``startup_seconds`` is set only when :func:`start` launched it.
    """

    data_dir: Path
    host: str
    port: int
    pid: int | None
    running: bool
    ready: bool
    reused: bool = False
    startup_seconds: float | None = None

    @property
    def bolt_url(self) -> str:
        """``bolt://host:port`` (IPv6 hosts bracketed)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"bolt://{host}:{self.port}"

    @property
    def log_file(self) -> Path:
        """The launcher's stdout/stderr log."""
        return self.data_dir / LOG_FILE

    @property
    def neo4j_log(self) -> Path:
        """Neo4j's own debug log."""
        return self.data_dir / "logs" / "debug.log"


# --------------------------------------------------------------------------------------
# Bolt probe


def bolt_ready(host: str, port: int, timeout: float = 2.0) -> bool:
    """Return True if ``host:port`` accepts TCP *and* completes a Bolt handshake.

    Sends the Bolt magic ``0x6060B017`` and four version proposals (5.0-5.8, 4.2-4.4,
    4.1, 3.0) and accepts any non-zero 4-byte answer; a zero answer, a closed or refused
    connection or a timeout all mean "not (yet) a usable Bolt server". Never raises for
    network errors.
    """
    proposals = (
        bytes([0, 8, 8, 5]),  # 5.8 down to 5.0 (byte 1 is the range of minor versions)
        bytes([0, 2, 4, 4]),  # 4.4 down to 4.2
        bytes([0, 0, 1, 4]),
        bytes([0, 0, 0, 3]),
    )
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"\x60\x60\xb0\x17" + b"".join(proposals))
            answer = b""
            while len(answer) < 4:
                chunk = sock.recv(4 - len(answer))
                if not chunk:
                    return False
                answer += chunk
    except OSError:
        return False
    return struct.unpack(">I", answer)[0] != 0


def find_free_port(host: str = DEFAULT_HOST) -> int:
    """Return a TCP port on ``host`` that was free a moment ago (racy by nature)."""
    family = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)[0][0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _port_is_free(host: str, port: int) -> bool:
    """True if a server socket could bind ``host:port`` right now.

    SO_REUSEADDR mirrors what the JVM does for server sockets on Linux, so sockets of a
    just-stopped server lingering in TIME_WAIT do not count as "taken"; a listener does.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Neo4jServerError(f"Cannot resolve Bolt host {host!r}: {exc}") from exc
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise Neo4jServerError(f"Cannot bind Bolt address {host}:{port}: {exc}") from exc
    return True


# --------------------------------------------------------------------------------------
# Java, Maven and the launcher build


def _find_java() -> str:
    """Path of the ``java`` to run: $JAVA_HOME/bin/java if set (as Maven does), else PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.access(Path(java_home, "bin", "java"), os.X_OK):
        return str(Path(java_home, "bin", "java"))
    java = shutil.which("java")
    if not java:
        raise Neo4jServerError(
            f"Java {MIN_JAVA}+ is needed to run Neo4j 5.26 but `java` is not on PATH "
            f"(and JAVA_HOME is not set). Install it with: {INSTALL_HINT}"
        )
    return java


def _java_major(java: str) -> int:
    """Major version of ``java`` ("1.8.0_392" -> 8, "17.0.15" -> 17)."""
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise Neo4jServerError(f"Cannot run {java} -version: {exc}. Install Java with: {INSTALL_HINT}") from exc
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        raise Neo4jServerError(f"Cannot tell the version of {java} from: {out.stderr.strip()!r}")
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def _check_java() -> str:
    """Return the java executable, or raise if it is missing or older than Java 17."""
    java = _find_java()
    major = _java_major(java)
    if major < MIN_JAVA:
        raise Neo4jServerError(
            f"Neo4j 5.26 needs Java {MIN_JAVA}+, but {java} is Java {major}. Install it with: "
            f"{INSTALL_HINT} (and point JAVA_HOME or PATH at it)"
        )
    return java


def _launcher_is_built() -> bool:
    """True if the launcher jar and its runtime closure exist and the jar is newer than
    pom.xml and every file under src/.

    The pom copies the dependencies *before* it writes the jar, so an existing jar implies
    a complete ``target/dependency``.
    """
    if not LAUNCHER_JAR.is_file() or not any(DEPENDENCY_DIR.glob("*.jar")):
        return False
    inputs = [POM, *(p for p in SOURCES_DIR.rglob("*") if p.is_file())]
    newest_input = max(p.stat().st_mtime for p in inputs)
    return LAUNCHER_JAR.stat().st_mtime > newest_input


@contextmanager
def _build_lock() -> Iterator[None]:
    # Outside target/ on purpose: `mvn clean` deletes target/, which would let a second
    # builder take a "different" lock file while the first still holds the old one.
    key = hashlib.sha256(str(LAUNCHER_DIR).encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"vendorgraph-neo4j-launcher-{key}.lock"
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_built(*, force: bool = False, timeout: float = DEFAULT_BUILD_TIMEOUT) -> str:
    """Build the launcher with Maven unless it is up to date; return the Java classpath.

    Maven is skipped (and need not be installed) when the built jar is newer than
    ``pom.xml`` and the Java sources and ``target/dependency`` holds the jars. Otherwise runs
    ``mvn -q -B -f graph/launcher/pom.xml clean package`` (``clean`` so that a dependency
    bump never leaves stale jars on the classpath). Concurrent callers are serialised.

    Raises :class:`Neo4jServerError` if Java < 17, ``mvn`` or ``javac`` is missing, or the
    build fails (with the tail of Maven's output).
    """
    classpath = f"{LAUNCHER_JAR}{os.pathsep}{DEPENDENCY_DIR / '*'}"
    if not force and _launcher_is_built():
        return classpath
    with _build_lock():
        if not force and _launcher_is_built():  # another process built it while we waited
            return classpath
        java = _check_java()
        mvn = shutil.which("mvn")
        if not mvn:
            raise Neo4jServerError(
                f"Maven (`mvn`) is needed to build the Neo4j launcher but is not on PATH. "
                f"Install it with: {INSTALL_HINT}"
            )
        javac = Path(os.path.realpath(java)).with_name("javac")
        if not javac.exists() and not shutil.which("javac"):
            raise Neo4jServerError(
                f"A JDK (javac) is needed to build the Neo4j launcher; {java} is only a JRE. "
                f"Install it with: {INSTALL_HINT}"
            )
        cmd = [mvn, "-q", "-B", "-f", str(POM), "clean", "package"]
        try:
            result = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired as exc:
            raise Neo4jServerError(
                f"Maven build of the Neo4j launcher took over {timeout:.0f}s: {' '.join(cmd)}"
            ) from exc
        if result.returncode != 0 or not _launcher_is_built():
            output = (result.stdout + result.stderr).strip().splitlines()
            tail = "\n".join(output[-40:])
            raise Neo4jServerError(
                f"Maven build of the Neo4j launcher failed (exit {result.returncode}): "
                f"{' '.join(cmd)}\n{tail}"
            )
    return classpath


# --------------------------------------------------------------------------------------
# Processes, pid file, lock


def _proc_state(pid: int) -> str | None:
    """Process state letter from /proc (e.g. "S", "Z"), None if gone or no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]  # the command name may contain spaces/parens


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` is a live (non-zombie) process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    if _proc_state(pid) == "Z":
        try:  # reap it if it happens to be our child
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return False
    return True


def _cmdline(pid: int) -> list[str] | None:
    """argv of ``pid`` from /proc, None if unreadable (gone, or no procfs)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [a.decode(errors="replace") for a in raw.rstrip(b"\0").split(b"\0")]


def _option(argv: Sequence[str], name: str) -> str | None:
    try:
        return argv[list(argv).index(name) + 1]
    except (ValueError, IndexError):
        return None


def _is_launcher_for(pid: int, data_dir: Path) -> bool:
    """True if ``pid`` is a live Neo4j launcher serving ``data_dir``.

    Guards against pid reuse after a crash or reboot. Where /proc is unavailable
    (non-Linux) liveness alone is trusted.
    """
    if not _pid_alive(pid):
        return False
    if not Path("/proc/self").exists():
        return True  # no procfs to check the command line against
    argv = _cmdline(pid)
    if not argv or MAIN_CLASS not in argv:
        return False
    launcher_dir = _option(argv, "--data-dir")
    return launcher_dir is not None and Path(launcher_dir) == data_dir


def _launchers_for(data_dir: Path) -> list[int]:
    """Pids of launchers serving ``data_dir`` found by scanning /proc (empty without /proc)."""
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        pid = int(entry.name)
        if pid != os.getpid() and _is_launcher_for(pid, data_dir):
            pids.append(pid)
    return pids


def _read_pid_file(data_dir: Path) -> dict | None:
    try:
        record = json.loads((data_dir / PID_FILE).read_text())
        int(record["pid"]), int(record["port"]), str(record["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record


def _write_pid_file(data_dir: Path, record: dict) -> None:
    tmp = data_dir / f".{PID_FILE}.tmp"
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, data_dir / PID_FILE)  # atomic: readers never see a half-written file


def _remove_pid_file(data_dir: Path) -> None:
    try:
        (data_dir / PID_FILE).unlink()
    except FileNotFoundError:
        pass


def _running(data_dir: Path) -> tuple[int, str, int] | None:
    """(pid, host, port) of the launcher serving ``data_dir``, or None.

    The pid file is a hint and the process's command line the truth: a stale pid file
    (process gone, or the pid reused by something else) is removed, and a launcher whose
    pid file was lost (deleted by hand, a crash between spawn and write) is still found
    and its pid file rewritten, so that start refuses to open the store twice and stop
    can still stop it.
    """
    record = _read_pid_file(data_dir)
    if record is not None:
        pid = int(record["pid"])
        if _is_launcher_for(pid, data_dir):
            return pid, str(record["host"]), int(record["port"])
        _remove_pid_file(data_dir)
    for pid in _launchers_for(data_dir):
        argv = _cmdline(pid) or []
        host, port = _option(argv, "--host"), _option(argv, "--port")
        if host is None or port is None or not port.isdigit():
            continue
        _write_pid_file(data_dir, {"pid": pid, "host": host, "port": int(port), "data_dir": str(data_dir),
                                   "recovered_from": "/proc"})
        return pid, host, int(port)
    return None


@contextmanager
def _data_dir_lock(data_dir: Path, timeout: float) -> Iterator[None]:
    """Serialise start/stop on one data dir across processes (flock, released on exit)."""
    deadline = time.monotonic() + timeout
    with open(data_dir / LOCK_FILE, "a+b") as fh:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise Neo4jServerError(
                        f"Another process is starting or stopping the Neo4j server of {data_dir} "
                        f"(lock {data_dir / LOCK_FILE} held for over {timeout:.0f}s)"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _log_tail(data_dir: Path, lines: int = 40) -> str:
    try:
        text = (data_dir / LOG_FILE).read_text(errors="replace")
    except OSError:
        return "(no launcher log)"
    tail = "\n".join(text.rstrip().splitlines()[-lines:])
    return f"--- last lines of {data_dir / LOG_FILE} (Neo4j's own log: {data_dir / 'logs' / 'debug.log'}) ---\n{tail}"


# Runs between us and the JVM and exits at once, so the JVM is re-parented (no zombie in,
# or ResourceWarning from, the calling process) and, being started by Python rather than
# `sh ... &`, does not inherit an ignored SIGINT.
_DETACH = (
    "import os, subprocess, sys\n"
    "log = open(sys.argv[1], 'ab')\n"
    "p = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)\n"
    "print(p.pid, flush=True)\n"
    "os._exit(0)\n"
)


def _spawn_detached(cmd: Sequence[str], log_file: Path, cwd: Path) -> int:
    """Start ``cmd`` in a new session with stdout/stderr appended to ``log_file``; return its pid."""
    result = subprocess.run(
        [sys.executable, "-c", _DETACH, str(log_file), *cmd],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        start_new_session=True,  # own session: a Ctrl-C in the caller's terminal won't reach it
        timeout=60,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip().isdigit():
        raise Neo4jServerError(f"Could not launch {cmd[0]}: {result.stderr.strip() or result.stdout.strip()}")
    return int(result.stdout.strip())


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM (clean Neo4j shutdown via the JVM shutdown hook), then SIGKILL if needed."""
    _signal(pid, signal.SIGTERM)
    if not _wait_gone(pid, timeout):
        # Last resort: the store will need recovery on next start, but Neo4j handles that.
        _signal(pid, signal.SIGKILL)
        if not _wait_gone(pid, 10.0):
            raise Neo4jServerError(f"Neo4j launcher pid {pid} survived SIGKILL")


# --------------------------------------------------------------------------------------
# Public API


def _normalise_data_dir(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir).expanduser().resolve()


def status(
    *, data_dir: str | os.PathLike[str], host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
) -> ServerInfo:
    """Report the server of ``data_dir``; never starts or stops anything.

    If a launcher runs for the data dir, its own host/port (from the pid file) are
    reported, else the ``host``/``port`` given. ``ready`` is a live Bolt handshake
    (for a stopped server: whether *something* answers Bolt on ``host:port``).
    """
    path = _normalise_data_dir(data_dir)
    found = _running(path) if path.is_dir() else None
    if found is None:
        return ServerInfo(path, host, port, None, running=False, ready=bolt_ready(host, port, 1.0))
    pid, run_host, run_port = found
    return ServerInfo(path, run_host, run_port, pid, running=True, ready=bolt_ready(run_host, run_port))


def start(
    *,
    data_dir: str | os.PathLike[str],
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    pagecache: str = DEFAULT_PAGECACHE,
    heap: str = DEFAULT_HEAP,
    timeout: float = DEFAULT_START_TIMEOUT,
    tx_total_max: str | None = None,
    tx_max: str | None = None,
    tx_timeout: str | None = None,
    jvm_args: Sequence[str] = (),
) -> ServerInfo:
    """Start the Neo4j server of ``data_dir`` detached, or reuse the one already running.

    Returns only once Bolt on ``host:port`` completes a handshake *and* (for a fresh
    start) the launcher reported the ``neo4j`` database available. The server outlives
    the caller; stop it with :func:`stop`.

    * Reuse: if a launcher already serves ``data_dir`` on the same host/port, returns its
      info with ``reused=True`` (no new process). On a different host/port: raises, since
      one store can only be opened by one process.
    * Refuses (raises) if ``host:port`` is taken by anything else.
    * Builds the launcher first if needed (:func:`ensure_built`); ``timeout`` does not
      include that one-off Maven build, only the wait for the server.
    * If the process dies, or Bolt is not ready within ``timeout`` seconds (the process
      is then stopped), raises with the tail of ``launcher.log``.

    ``pagecache``/``tx_total_max``/``tx_max`` use Neo4j's size syntax (``512m``, ``1g``);
    ``heap`` uses the JVM's (``1g``) and is both -Xms and -Xmx. ``tx_total_max`` caps the
    memory of all transactions (``dbms.memory.transaction.total.max``), ``tx_max`` that
    of one (``db.memory.transaction.max``); None keeps Neo4j's defaults. ``tx_timeout``
    (``120s``, ``2m``) is ``db.transaction.timeout``: Neo4j stops any longer transaction.
    """
    path = _normalise_data_dir(data_dir)
    if not _JVM_SIZE.match(heap):
        raise Neo4jServerError(f"Bad heap size {heap!r}: use JVM syntax such as 512m or 2g")
    for name, value in (("pagecache", pagecache), ("tx_total_max", tx_total_max), ("tx_max", tx_max)):
        if value is not None and not _NEO4J_SIZE.match(value):
            raise Neo4jServerError(f"Bad {name} size {value!r}: use a size such as 512m or 1g")
    if tx_timeout is not None and not _DURATION.match(tx_timeout):
        raise Neo4jServerError(f"Bad tx_timeout {tx_timeout!r}: use a duration such as 120s or 2m")
    if not 0 < int(port) < 65536:
        raise Neo4jServerError(f"Bad Bolt port {port!r}")
    port = int(port)
    path.mkdir(parents=True, exist_ok=True)

    with _data_dir_lock(path, timeout):
        found = _running(path)
        if found is not None:
            return _reuse(path, found, host, port, timeout)

        if not _port_is_free(host, port):
            what = "a Bolt server" if bolt_ready(host, port, 1.0) else "another process"
            raise Neo4jServerError(
                f"Cannot start Neo4j for {path}: {host}:{port} is already taken by {what} "
                f"that is not this data dir's server. Stop it or choose another port."
            )

        classpath = ensure_built()
        java = _check_java()
        cmd = [
            java,
            f"-Xms{heap}",
            f"-Xmx{heap}",
            *JVM_FLAGS,
            *jvm_args,
            "-cp",
            classpath,
            MAIN_CLASS,
            "--data-dir", str(path),
            "--host", host,
            "--port", str(port),
            "--pagecache", pagecache,
            # The launcher's own give-up time; we normally stop it ourselves first.
            "--wait-seconds", str(int(timeout) + 60),
        ]
        if tx_total_max is not None:
            cmd += ["--tx-total-max", tx_total_max]
        if tx_max is not None:
            cmd += ["--tx-max", tx_max]
        if tx_timeout is not None:
            cmd += ["--tx-timeout", tx_timeout]

        log_file = path / LOG_FILE
        if log_file.exists():
            os.replace(log_file, path / f"{LOG_FILE}.1")  # keep the previous run's log
        log_file.write_bytes(b"")

        started = time.monotonic()
        pid = _spawn_detached(cmd, log_file, path)
        _write_pid_file(
            path,
            {"pid": pid, "host": host, "port": port, "data_dir": str(path),
             "started_at": time.time(), "heap": heap, "pagecache": pagecache},
        )
        _wait_fresh(path, pid, host, port, timeout, started)
        elapsed = time.monotonic() - started
        return ServerInfo(path, host, port, pid, running=True, ready=True, startup_seconds=elapsed)


def _reuse(path: Path, found: tuple[int, str, int], host: str, port: int, timeout: float) -> ServerInfo:
    pid, run_host, run_port = found
    if (run_host, run_port) != (host, port):
        raise Neo4jServerError(
            f"The Neo4j server of {path} already runs on {run_host}:{run_port} (pid {pid}), "
            f"not {host}:{port}; one store can only be served by one process. Stop it first."
        )
    deadline = time.monotonic() + timeout
    while not bolt_ready(host, port):
        if not _is_launcher_for(pid, path):
            _remove_pid_file(path)
            raise Neo4jServerError(f"The Neo4j server of {path} (pid {pid}) died.\n{_log_tail(path)}")
        if time.monotonic() > deadline:
            raise Neo4jServerError(
                f"The Neo4j server of {path} (pid {pid}) runs but Bolt on {host}:{port} did not "
                f"answer within {timeout:.0f}s; stop it and start again.\n{_log_tail(path)}"
            )
        time.sleep(0.2)
    return ServerInfo(path, host, port, pid, running=True, ready=True, reused=True)


def _wait_fresh(path: Path, pid: int, host: str, port: int, timeout: float, started: float) -> None:
    """Wait for a just-launched server: READY in its log and a Bolt handshake."""
    log_file = path / LOG_FILE
    deadline = started + timeout
    while True:
        log = log_file.read_text(errors="replace")
        if "READY bolt://" in log and bolt_ready(host, port):
            return
        if not _pid_alive(pid):
            _remove_pid_file(path)
            raise Neo4jServerError(f"Neo4j for {path} exited during start-up.\n{_log_tail(path)}")
        if "\nFAILED " in f"\n{log}":
            # The launcher exits by itself after FAILED (its shutdown hook may take a moment).
            _terminate(pid, 30.0)
            _remove_pid_file(path)
            raise Neo4jServerError(f"Neo4j for {path} failed to start.\n{_log_tail(path)}")
        if time.monotonic() > deadline:
            _terminate(pid, 30.0)
            _remove_pid_file(path)
            raise Neo4jServerError(
                f"Neo4j for {path} was not ready on {host}:{port} within {timeout:.0f}s; "
                f"stopped it.\n{_log_tail(path)}"
            )
        time.sleep(0.2)


def stop(*, data_dir: str | os.PathLike[str], timeout: float = DEFAULT_STOP_TIMEOUT) -> bool:
    """Stop the server of ``data_dir``; return False if none was running.

    Sends SIGTERM (Neo4j shuts down cleanly through the JVM shutdown hook), waits up to
    ``timeout`` seconds, then SIGKILLs as a last resort. Removes the pid file. Finds the
    process through /proc if the pid file was lost. Once it returns, the port is free.
    """
    path = _normalise_data_dir(data_dir)
    if not path.is_dir():
        return False
    with _data_dir_lock(path, timeout + DEFAULT_START_TIMEOUT):
        found = _running(path)
        if found is not None:
            _terminate(found[0], timeout)
        _remove_pid_file(path)
        return found is not None


# --------------------------------------------------------------------------------------
# CLI


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m graph.server start|stop|status|build``; exit 0 on success, 1 on error,
    3 for ``status`` when not running. Defaults come from the NEO4J_* environment
    variables the Django settings read, else ``var/neo4j``, 127.0.0.1:7687, 512m, 1g, 180 s."""
    parser = argparse.ArgumentParser(prog="python -m graph.server", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["start", "stop", "status", "build"])
    parser.add_argument("--data-dir", default=_env("NEO4J_DATA_DIR", str(REPO_ROOT / "var" / "neo4j")))
    parser.add_argument("--host", default=_env("NEO4J_BOLT_HOST", DEFAULT_HOST))
    parser.add_argument("--port", type=int, default=int(_env("NEO4J_BOLT_PORT", str(DEFAULT_PORT))))
    parser.add_argument("--pagecache", default=_env("NEO4J_PAGECACHE", DEFAULT_PAGECACHE))
    parser.add_argument("--heap", default=_env("NEO4J_HEAP", DEFAULT_HEAP))
    parser.add_argument("--timeout", type=float, default=float(_env("NEO4J_START_TIMEOUT", str(DEFAULT_START_TIMEOUT))),
                        help="seconds to wait for start (or for stop before SIGKILL)")
    parser.add_argument("--force", action="store_true", help="build: rebuild even if up to date")
    args = parser.parse_args(argv)

    try:
        if args.action == "build":
            print(ensure_built(force=args.force))
        elif args.action == "start":
            info = start(data_dir=args.data_dir, host=args.host, port=args.port,
                         pagecache=args.pagecache, heap=args.heap, timeout=args.timeout)
            how = "already running" if info.reused else f"started in {info.startup_seconds:.1f}s"
            print(f"{info.bolt_url} pid={info.pid} {how} (data dir {info.data_dir})")
        elif args.action == "stop":
            stopped = stop(data_dir=args.data_dir, timeout=min(args.timeout, DEFAULT_STOP_TIMEOUT))
            print("stopped" if stopped else "not running")
        else:
            info = status(data_dir=args.data_dir, host=args.host, port=args.port)
            if info.running:
                print(f"running {info.bolt_url} pid={info.pid} ready={info.ready} (data dir {info.data_dir})")
            else:
                print(f"not running (data dir {info.data_dir})")
                return 3
    except Neo4jServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
