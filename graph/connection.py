"""One lazy connection accessor for Neo4j, through neomodel's thread-local `db`.

Driver errors become `GraphUnavailable`, so callers handle one exception of the project's
own. The driver is created on first use in each thread and process: Celery's prefork
children drop the inherited one (see config/celery.py) because it does not survive a fork.
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
import os
from collections.abc import Iterator

from neo4j import Query
from neo4j import exceptions as neo4j_errors
from neomodel import config as neomodel_config
from neomodel import db
from neomodel.exceptions import ConstraintValidationFailed

log = logging.getLogger(__name__)

# Outages must be noticed quickly: the outbox keeps the change, the sweeper retries.
_CONNECTION_TIMEOUT = 5.0
_ACQUISITION_TIMEOUT = 10.0

_UNAVAILABLE = (
    neo4j_errors.ServiceUnavailable,
    neo4j_errors.SessionExpired,
    neo4j_errors.TransientError,
    neo4j_errors.DriverError,
    OSError,
)


class GraphError(Exception):
    """A query against the graph failed."""


class GraphUnavailable(GraphError):
    """Neo4j cannot be reached (stopped, restarting, network); the caller may retry later."""


class GraphTimeout(GraphUnavailable):
    """A query ran past its time limit and was stopped by Neo4j (a traversal too wide for the
    graph: ask for fewer steps). A kind of GraphUnavailable, so any caller that already
    answers 503 for an outage answers 503 for this too."""


def _timed_out(exc: Exception) -> bool:
    # Neo.ClientError.Transaction.TransactionTimedOut (the server's db.transaction.timeout) and
    # ...TransactionTimedOutClientConfiguration (the driver's per-query timeout).
    return "TransactionTimedOut" in (getattr(exc, "code", None) or "")


def configure(url: str | None = None) -> None:
    """Point neomodel at `url` (default: settings.NEO4J_URL) and drop any existing driver."""
    from django.conf import settings

    neomodel_config.DATABASE_URL = url or settings.NEO4J_URL
    neomodel_config.CONNECTION_TIMEOUT = _CONNECTION_TIMEOUT
    neomodel_config.CONNECTION_ACQUISITION_TIMEOUT = _ACQUISITION_TIMEOUT
    neomodel_config.MAX_TRANSACTION_RETRY_TIME = 5.0
    if db.driver is not None and db._pid == os.getpid():
        close_driver()
    else:
        reset_driver()


def reset_driver() -> None:
    """Forget the driver of this thread without closing it (after a fork, closing would
    touch the parent's sockets)."""
    db.driver = None
    db._active_transaction = None
    db._session = None
    db._pid = None


def close_driver() -> None:
    if db.driver is not None:
        with contextlib.suppress(Exception):
            db.close_connection()
    reset_driver()


def run(query: str, params: dict | None = None, *, timeout: float | None = None) -> list[dict]:
    """Run one Cypher query (parameters only, never interpolated input); rows as dicts.

    `timeout` (seconds) makes Neo4j stop the query when it runs longer (GraphTimeout); it
    applies outside `write_transaction()` only (the driver sets it per transaction)."""
    if timeout is not None and db._active_transaction is None:
        query = Query(query, timeout=timeout)
    try:
        rows, keys = db.cypher_query(query, params or {})
    except neo4j_errors.Neo4jError as exc:
        if _timed_out(exc):
            raise GraphTimeout(f"The graph query took longer than allowed: {exc.message}") from exc
        if isinstance(exc, _UNAVAILABLE):
            reset_driver_after_error()
            raise GraphUnavailable(f"Neo4j is unavailable: {exc}") from exc
        raise GraphError(str(exc)) from exc
    except _UNAVAILABLE as exc:
        reset_driver_after_error()
        raise GraphUnavailable(f"Neo4j is unavailable: {exc}") from exc
    except ConstraintValidationFailed as exc:
        raise GraphError(str(exc)) from exc
    return [dict(zip(keys, row)) for row in rows]


@contextlib.contextmanager
def write_transaction() -> Iterator[None]:
    """All `run()` calls inside share one write transaction, committed at the end."""
    try:
        with db.write_transaction:
            yield
    except _UNAVAILABLE as exc:
        reset_driver_after_error()
        raise GraphUnavailable(f"Neo4j is unavailable: {exc}") from exc
    except (neo4j_errors.Neo4jError, ConstraintValidationFailed) as exc:
        raise GraphError(str(exc)) from exc


_READ_TIMEOUT: contextvars.ContextVar[float | None] = contextvars.ContextVar("graph_read_timeout", default=None)


@contextlib.contextmanager
def read_timeout(seconds: float) -> Iterator[None]:
    """Reads inside run with this bound instead of NEO4J_QUERY_TIMEOUT: background work
    (the aggregates' refresh task) may read the whole graph; a reader's request may not."""
    token = _READ_TIMEOUT.set(seconds)
    try:
        yield
    finally:
        _READ_TIMEOUT.reset(token)


def run_read(query: str, params: dict | None = None) -> list[dict]:
    """A read traversal for a page or the API, bounded by settings.NEO4J_QUERY_TIMEOUT seconds
    (or the bound of an enclosing read_timeout()) so that a runaway query ends with
    GraphTimeout instead of holding a web worker."""
    from django.conf import settings

    bound = _READ_TIMEOUT.get()
    return run(query, params, timeout=float(bound if bound is not None else settings.NEO4J_QUERY_TIMEOUT) or None)


def reset_driver_after_error() -> None:
    # A failed transaction may leave neomodel believing one is still active.
    with contextlib.suppress(Exception):
        if db._active_transaction is not None:
            db._active_transaction.close()
    with contextlib.suppress(Exception):
        if db._session is not None:
            db._session.close()
    db._active_transaction = None
    db._session = None


def ping() -> bool:
    try:
        run("RETURN 1 AS ok")
        return True
    except GraphError:
        return False
