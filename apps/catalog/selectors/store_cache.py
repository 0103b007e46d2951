"""Heavy page queries cached until the store of record changes.

A busy vendor's page groups and counts tens of thousands of records (about half a second at
a million entities); the answer only changes when the store does. Every write of an entity
or a record -- so every change of what is public, and every write that moves an alias,
a fact or a citation, which touch their entity -- adds an outbox row in its own transaction
(apps.sync). The newest row (its id and time: a rolled-back write leaves neither), read from
the primary key's end in one indexed look-up, plus a generation each such commit moves on
(see store_version), is the store's version: a key carrying it never returns an answer from
before a change. Without the cache (Redis down) the query simply runs.
"""
from __future__ import annotations

import logging

from django.core.cache import cache

log = logging.getLogger(__name__)
TIMEOUT = 3600  # bounds how long an unused answer stays; a change makes it unreachable at once


GENERATION_KEY = "store:generation"


def store_version() -> str:
    """The newest outbox row, and the generation `store_changed` moves on after each commit.

    The row alone is not enough on PostgreSQL: ids are handed out when rows are inserted, not
    when they commit, so a transaction holding id 100 may commit after one holding 101 — the
    newest id stays 101 and an answer cached in between would miss the change. Every commit
    that writes the outbox also moves the generation on (after the commit), which closes that
    window. With Redis down nothing is cached, and the newest row still keys what was."""
    from apps.sync.models import OutboxEvent

    newest = OutboxEvent.objects.order_by("-id").values_list("id", "created_at").first()
    row = f"{newest[0]}@{newest[1].timestamp()}" if newest else "0"
    try:
        generation = cache.get(GENERATION_KEY, 0)
    except Exception:  # noqa: BLE001 - Redis down: _cached computes without the cache anyway
        generation = "-"
    return f"{row}:{generation}"


def store_changed() -> None:
    """After a commit that wrote the outbox (apps.sync.services runs it on commit): answers
    cached before it can no longer be read. Failure (Redis down) only loses the bump."""
    try:
        try:
            cache.incr(GENERATION_KEY)
        except ValueError:  # no generation yet (or evicted): start one
            cache.add(GENERATION_KEY, 1, timeout=None)
    except Exception as exc:  # noqa: BLE001 - redis-py raises several connection errors
        log.debug("store cache generation not moved: %s", exc)


def cached_until_store_changes(key: str, compute):
    """compute(), or its answer cached under `key` and the store's current version."""
    return _cached(f"store:{store_version()}:{key}", compute)


def cached_until_graph_changes(key: str, compute):
    """compute() (a graph query), or its answer cached under `key` and the graph's
    generation (graph.queries.graph_generation: every write to the graph moves it on, as
    the vendors overview uses it). A graph with no generation yet is not cached."""
    from graph import queries

    generation = queries.graph_generation()
    return _cached(f"graph:{generation}:{key}", compute) if generation else compute()


def _cached(full: str, compute):
    try:
        hit = cache.get(full)
    except Exception as exc:  # noqa: BLE001 - redis-py raises several connection errors
        log.warning("store cache unavailable: %s", exc)
        return compute()
    if hit is not None:
        return hit
    value = compute()
    try:
        cache.set(full, value, timeout=TIMEOUT)
    except Exception as exc:  # noqa: BLE001
        log.warning("store cache: could not store %s: %s", full, exc)
    return value
