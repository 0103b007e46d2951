"""Start and stop a project-local PostgreSQL server (Debian's `postgresql` package) with its
own data folder, on loopback and a given port, like :mod:`apps.ops.localredis` for Redis.

PostgreSQL refuses to run as root. When this runs as root (CI, a fresh machine) the data
folder belongs to an unprivileged system user (`postgres`, which Debian's package creates)
and initdb/pg_ctl run as that user through `runuser`; as any other user they run as
that user. Clients connect over TCP with a password (scram-sha-256), never `trust`.

Standard library only (psycopg, imported late, only creates the database), so the test
suite, the run script and the management command share it.
"""
from __future__ import annotations

import glob
import hashlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SERVICE_USER = "postgres"  # the unprivileged owner of the cluster when we are root


class PostgresServerError(RuntimeError):
    pass


@dataclass
class Cluster:
    data_dir: Path
    host: str
    port: int
    user: str
    password: str

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"


def bin_dir() -> Path:
    """The folder of initdb and pg_ctl: $POSTGRES_BIN_DIR, else the newest Debian
    /usr/lib/postgresql/<version>/bin, else wherever pg_ctl is on the PATH (Debian does not
    put it there; other systems do)."""
    configured = os.environ.get("POSTGRES_BIN_DIR")
    if configured:
        return Path(configured)
    candidates = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")
                  if (Path(p) / "initdb").exists() and (Path(p) / "pg_ctl").exists()]
    if candidates:
        return max(candidates, key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.name)] or [0])
    found = shutil.which("pg_ctl")
    if found and (Path(found).resolve().parent / "initdb").exists():
        return Path(found).resolve().parent
    raise PostgresServerError("PostgreSQL is not installed: run bin/setup (apt-get install postgresql)")


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _as_root() -> bool:
    return os.geteuid() == 0


def _service_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
                       check=True)
        return pwd.getpwnam(SERVICE_USER)


def _run(cmd: list[str], *, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    if _as_root():
        cmd = ["runuser", "-u", SERVICE_USER, "--", *cmd]
    # cwd "/": the service user may not be allowed into the caller's folder.
    return subprocess.run(cmd, env={**os.environ, **(env or {})}, check=check, capture_output=True, text=True,
                          cwd="/")


def _reachable_by_service_user(path: Path) -> bool:
    probe = path if path.exists() else path.parent
    return subprocess.run(["runuser", "-u", SERVICE_USER, "--", "test", "-x", str(probe)],
                          capture_output=True).returncode == 0


def resolve_data_dir(data_dir: str | Path) -> Path:
    """The real data folder. As root, when the project folder cannot be entered by the
    service user (a home folder with mode 700), the cluster lives in the temp folder
    instead, under a name derived from `data_dir`, and `data_dir` becomes a link to it."""
    data_dir = Path(data_dir).absolute()
    if not _as_root() or data_dir.is_symlink():
        return data_dir.resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    _service_user()
    if _reachable_by_service_user(data_dir.parent):
        return data_dir
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    real = Path(tempfile.gettempdir()) / f"vendorgraph-pg-{digest}" / data_dir.name
    real.parent.mkdir(parents=True, exist_ok=True)
    if not data_dir.exists():
        data_dir.symlink_to(real, target_is_directory=True)
    return real


def _own(path: Path) -> None:
    if _as_root():
        user = _service_user()
        os.chown(path, user.pw_uid, user.pw_gid)


def _initdb(cluster: Cluster) -> None:
    data_dir = cluster.data_dir
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _own(data_dir)
    # The password file is read by initdb (as the service user) and removed right after.
    with tempfile.NamedTemporaryFile("w", delete=False, prefix="pgpw-") as pw:
        pw.write(cluster.password + "\n")
    try:
        _own(Path(pw.name))
        result = _run([str(bin_dir() / "initdb"), "-D", str(data_dir), "-U", cluster.user, "--pwfile", pw.name,
                       "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8",
                       "--locale=C.UTF-8", "--no-instructions"], check=False)
    finally:
        os.unlink(pw.name)
    if result.returncode != 0:
        raise PostgresServerError(f"initdb failed in {data_dir}: {result.stderr.strip() or result.stdout.strip()}")


def _settings_args(cluster: Cluster, durable: bool, shared_buffers: str = "128MB") -> str:
    # Loopback TCP only, no Unix socket (its path would depend on the folder's length and
    # /var/run/postgresql is not writable by every user). Small buffers: a shared 2-core box.
    args = (f"-c listen_addresses={cluster.host} -c port={cluster.port} -c unix_socket_directories='' "
            f"-c shared_buffers={shared_buffers} -c max_connections=100 -c synchronous_commit=off")
    # A throw-away test cluster need not survive a power cut: no fsync makes the suite's
    # CREATE DATABASE and per-test TRUNCATEs cheap.
    return args if durable else args + " -c fsync=off -c full_page_writes=off"


def start(*, data_dir: str | Path, host: str = "127.0.0.1", port: int = 5433, user: str = "vendorgraph",
          password: str = "vendorgraph", database: str | None = None, timeout: float = 60.0,
          durable: bool = True, shared_buffers: str = "128MB") -> bool:
    """Start the cluster in `data_dir` (initdb on first use) or reuse one already answering on
    host:port; create `database` if it is missing. True if started here, False if reused.
    `durable=False` (tests and benchmarks only) turns fsync off; `shared_buffers` is
    PostgreSQL's own cache (small by default: a shared 2-core box; the benchmark asks more)."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise PostgresServerError(f"the local PostgreSQL listens on loopback only, not on {host}")
    started = False
    if not answers(host, port):
        cluster = Cluster(resolve_data_dir(data_dir), host, port, user, password)
        if not (cluster.data_dir / "PG_VERSION").exists():
            _initdb(cluster)
        if cluster.log_path.exists():
            _own(cluster.log_path)
        else:
            cluster.log_path.touch()
            _own(cluster.log_path)
        result = _run([str(bin_dir() / "pg_ctl"), "-D", str(cluster.data_dir), "-l", str(cluster.log_path),
                       "-o", _settings_args(cluster, durable, shared_buffers), "-w", "-t", str(int(timeout)), "start"], check=False)
        if result.returncode != 0 or not _wait(host, port, timeout):
            tail = cluster.log_path.read_text(errors="replace")[-2000:] if cluster.log_path.exists() else ""
            raise PostgresServerError(f"PostgreSQL did not start on {host}:{port} (data {cluster.data_dir}): "
                                      f"{result.stderr.strip()}\n{tail}")
        started = True
    if database:
        database_ensure(host=host, port=port, user=user, password=password, name=database)
    return started


def _wait(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers(host, port):
            return True
        time.sleep(0.1)
    return False


def database_ensure(*, host: str, port: int, user: str, password: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(host=host, port=port, user=user, password=password, dbname="postgres",
                         autocommit=True, connect_timeout=10) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def running(*, data_dir: str | Path) -> bool:
    data_dir = Path(data_dir)
    if not (data_dir / "postmaster.pid").exists():
        return False
    return _run([str(bin_dir() / "pg_ctl"), "-D", str(data_dir.resolve()), "status"], check=False).returncode == 0


def stop(*, data_dir: str | Path, timeout: float = 30.0) -> bool:
    """Stop the cluster of `data_dir` (fast shutdown); True if one was running."""
    data_dir = Path(data_dir)
    if not running(data_dir=data_dir):
        return False
    result = _run([str(bin_dir() / "pg_ctl"), "-D", str(data_dir.resolve()), "-m", "fast", "-w",
                   "-t", str(int(timeout)), "stop"], check=False)
    if result.returncode != 0:
        raise PostgresServerError(f"pg_ctl stop failed for {data_dir}: {result.stderr.strip()}")
    return True
