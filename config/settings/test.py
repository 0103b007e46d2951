"""Settings for the test suite: the real Neo4j, Redis and worker, on ports of their own
so tests never touch the development servers."""
import os

os.environ.setdefault("NEO4J_BOLT_PORT", "7697")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6391/0")
os.environ.setdefault("POSTGRES_PORT", "5442")

from .base import *  # noqa: E402,F401,F403
from .base import DATABASES, POSTGRES_PORT, VAR_DIR  # noqa: E402

DEBUG = False
NEO4J_DATA_DIR = os.environ.get("NEO4J_DATA_DIR", str(VAR_DIR / "test" / "neo4j"))
NEO4J_PAGECACHE = "256m"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
OUTBOX_LEASE_SECONDS = int(os.environ.get("OUTBOX_LEASE_SECONDS", "5"))
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "apps.sync.tasks.outbox_sweep", "schedule": 1.0},
    "import-jobs-resume": {"task": "apps.ingest.tasks.import_jobs_resume", "schedule": 1.0},
}
# The aggregates' refresh runs a second after a change (and retries a second after a failure).
AGGREGATES_DEBOUNCE_SECONDS = 1
AGGREGATES_RETRY_SECONDS = 1
IMPORT_JOB_LEASE_SECONDS = int(os.environ.get("IMPORT_JOB_LEASE_SECONDS", "60"))

# The Celery worker process must see the test database, so it lives in a file; the
# worker started by the tests sets VENDORGRAPH_USE_TEST_DB to open that file directly.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    _test_db = os.environ.get("VENDORGRAPH_TEST_DB", str(VAR_DIR / "test" / "test.sqlite3"))
    DATABASES["default"]["TEST"] = {"NAME": _test_db}
    if os.environ.get("VENDORGRAPH_USE_TEST_DB") == "1":
        DATABASES["default"]["NAME"] = _test_db
else:
    # pytest-django creates `test_<name>` on the server; the worker connects to that one.
    _test_db = f"test_{DATABASES['default']['NAME']}"
    DATABASES["default"]["TEST"] = {"NAME": _test_db}
    if os.environ.get("VENDORGRAPH_USE_TEST_DB") == "1":
        DATABASES["default"]["NAME"] = _test_db
POSTGRES_DATA_DIR = os.environ.get("POSTGRES_DATA_DIR", str(VAR_DIR / "test" / f"postgres-{POSTGRES_PORT}"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files straight from the finders (no collectstatic in tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
VENDORGRAPH_IMPORT_DIR = os.environ.get("VENDORGRAPH_IMPORT_DIR", str(VAR_DIR / "test" / "imports"))
