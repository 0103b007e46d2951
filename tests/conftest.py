"""Fixtures that bring up the real parts for the tests: Neo4j (embedded, Bolt), Redis and a
Celery worker process, each on test ports and data directories of their own."""
from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings

from apps.ops import localpg, localredis, localworker

ROOT = Path(__file__).resolve().parent.parent
(Path(settings.VAR_DIR) / "test").mkdir(parents=True, exist_ok=True)


def wait_for(predicate, *, timeout: float = 30.0, interval: float = 0.2, message: str = "condition"):
    """Poll `predicate` until it returns a truthy value; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {message} (last value: {last!r})")


def on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


@pytest.fixture(scope="session")
def postgres_server():
    """The project's own PostgreSQL on its test port, when the suite runs on PostgreSQL
    (VENDORGRAPH_DB=postgres) and DATABASE_URL does not name another server."""
    db = settings.DATABASES["default"]
    local = on_postgres() and (db["HOST"], int(db["PORT"] or 5432)) == (settings.POSTGRES_HOST, settings.POSTGRES_PORT)
    started = local and localpg.start(data_dir=settings.POSTGRES_DATA_DIR, host=settings.POSTGRES_HOST,
                                      port=settings.POSTGRES_PORT, user=settings.POSTGRES_USER,
                                      password=settings.POSTGRES_PASSWORD, durable=False)
    yield
    if started and os.environ.get("VENDORGRAPH_KEEP_SERVERS") != "1":
        localpg.stop(data_dir=settings.POSTGRES_DATA_DIR)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, postgres_server):
    """pytest-django creates the test database after this: the server must be up by then."""


@pytest.fixture(autouse=True)
def fresh_rate_allowance():
    """Each test starts with a full allowance on the API and the rate-limited pages (every
    test client is 127.0.0.1, so counters would otherwise carry over between tests)."""
    from apps.web.limits import limits_reset

    try:
        limits_reset()
    except Exception:  # noqa: BLE001 - no Redis running: the limiter fails open anyway
        pass
    yield


@pytest.fixture(scope="session")
def neo4j_server():
    """A real Neo4j 5 server for the whole session (reused if already running)."""
    from graph import server
    from graph.connection import configure
    from graph.sync import install_schema

    info = server.start(
        data_dir=settings.NEO4J_DATA_DIR, host=settings.NEO4J_BOLT_HOST, port=settings.NEO4J_BOLT_PORT,
        pagecache=settings.NEO4J_PAGECACHE, heap=settings.NEO4J_HEAP, timeout=settings.NEO4J_START_TIMEOUT,
        tx_timeout=settings.NEO4J_TX_TIMEOUT,
    )
    configure()
    install_schema()
    yield info
    # Left running on purpose when VENDORGRAPH_KEEP_SERVERS=1 (faster local reruns).
    if os.environ.get("VENDORGRAPH_KEEP_SERVERS") != "1":
        server.stop(data_dir=settings.NEO4J_DATA_DIR)


@pytest.fixture
def graph(neo4j_server):
    """An empty graph for one test."""
    from graph.connection import configure
    from graph.sync import clear_graph

    configure()
    clear_graph()
    yield neo4j_server


@pytest.fixture(scope="session")
def redis_server():
    url = urlparse(settings.REDIS_URL)
    data_dir = Path(settings.VAR_DIR) / "test" / f"redis-{url.port}"
    localredis.start(data_dir=data_dir, host=url.hostname, port=url.port)
    yield url
    if os.environ.get("VENDORGRAPH_KEEP_SERVERS") != "1":
        localredis.stop(data_dir=data_dir)


class Worker(localworker.WorkerProcess):
    """A real `celery worker` process (prefork, with the beat sweeper) on the test database."""

    def __init__(self, log_path: Path, *, beat: bool = True, env: dict | None = None):
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings.test", VENDORGRAPH_USE_TEST_DB="1",
                   **(env or {}))
        super().__init__(log_path, name=f"test-{os.getpid()}@%h", env=env, beat=beat)

    def start(self):
        try:
            return super().start(timeout=60)
        except localworker.WorkerError as exc:
            pytest.fail(str(exc))


@pytest.fixture
def start_worker(neo4j_server, redis_server, tmp_path, request):
    """Start real workers for one test (`start_worker(env={...})`); their logs are kept
    under test-artifacts/."""
    import redis as redis_lib

    redis_lib.Redis.from_url(settings.REDIS_URL).flushdb()
    workers: list[Worker] = []

    def start(env: dict | None = None) -> Worker:
        w = Worker(tmp_path / f"worker-{len(workers)}.log", env=env)
        workers.append(w)
        return w.start()

    yield start
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    for i, w in enumerate(workers):
        w.stop()
        (artifacts / f"{request.node.name}-worker-{i}.log").write_bytes(w.log_path.read_bytes())


@pytest.fixture
def worker(start_worker):
    return start_worker()
