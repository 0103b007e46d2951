"""Outbox drain benchmark: fill the outbox with N import-like rows, time outbox_drain to empty.

Not part of the test suite; run through `manage.py graph_bench --drain N`. The rows look like
what an import emits (version 1 upserts, a third entities and two thirds records between
them, the records pointing at entities of the same or an earlier chunk, payloads made by the
models' own projection functions), so the drain does what it does after a bulk import.
"""
from __future__ import annotations

import os
import random
import threading
import time
import uuid
from dataclasses import dataclass

from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from apps.catalog.models.entities import entity_graph_payload
from apps.catalog.models.records import record_graph_payload
from apps.sync.bulk import rows_insert
from apps.sync.models import OutboxEvent
from apps.sync.services import DrainResult, outbox_drain

_ENTITY_KINDS = ["company", "company", "company", "person", "person", "public_body"]
_RECORD_KINDS = ["ownership", "role", "contract", "ban", "contract", "role"]
_CHUNK = 1_000  # objects per import chunk (entities first, then the records between them)


def _record_values(kind: str, i: int, rng: random.Random) -> dict:
    start = f"20{rng.randrange(10, 25)}-0{rng.randrange(1, 10)}-1{rng.randrange(0, 10)}"
    return {"uuid": uuid.uuid5(uuid.NAMESPACE_URL, f"drain-bench/r/{i}"), "kind": kind,
            "title": f"Synthetic {kind} {i} of the drain benchmark", "start": start, "end": None,
            "amount": None if kind != "contract" else rng.randrange(1_000, 10_000_000),
            "currency": "EUR" if kind == "contract" else "", "amount_kind": "", "status": "",
            "procedure": "", "share_pct": 25.0 if kind == "ownership" else None,
            "attributes": {"direct": True} if kind == "ownership" else {}, "workflow": "published"}


def outbox_fill(n: int, *, seed: int = 13) -> int:
    """Insert about `n` pending outbox upserts (a third entities, two thirds records)."""
    rng = random.Random(seed)
    source = (uuid.uuid5(uuid.NAMESPACE_URL, "drain-bench/source"), "Drain benchmark")
    entities: list[str] = []
    now = timezone.now()
    columns = ["aggregate", "uid", "op", "version", "payload", "created_at", "attempts", "last_error", "deliveries"]
    written = e = r = 0
    while written < n:
        rows = []
        for _ in range(_CHUNK // 3):
            uid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"drain-bench/e/{e}"))
            kind = _ENTITY_KINDS[e % len(_ENTITY_KINDS)]
            payload = entity_graph_payload(uid=uid, kind=kind, name=f"Synthetic {kind} {e}", aliases=[f"Alias {e}"],
                                           country="PL", iso_code=None, state_owned=None, workflow="published")
            rows.append(("entity", uid, "upsert", 1, payload, now, 0, "", 0))
            entities.append(uid)
            e += 1
        for _ in range(_CHUNK - _CHUNK // 3):
            kind = _RECORD_KINDS[r % len(_RECORD_KINDS)]
            s, o = rng.sample(entities[-3 * _CHUNK:], 2)
            payload = record_graph_payload(_record_values(kind, r, rng), s=s, o=o, site=None, party=None,
                                           related=None, sources=[source])
            rows.append(("record", payload["uid"], "upsert", 1, payload, now, 0, "", 0))
            r += 1
        with transaction.atomic():
            rows_insert(OutboxEvent, columns, rows)
        written += len(rows)
    return written


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (Linux /proc)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class DrainFigures:
    rows: int
    seconds: float
    python_cpu: float
    neo4j_cpu: float | None
    load: tuple[float, float]
    database_cpu: float | None  # PostgreSQL: the server process of this connection (one drain)
    result: DrainResult


def drain_timed(*, workers: int = 1, batch_size: int | None = None, neo4j_pid: int | None = None) -> DrainFigures:
    """Drain the outbox to empty with `workers` threads (each its own database connection,
    as separate worker processes would have); time it in wall and CPU seconds."""
    pending = OutboxEvent.objects.filter(delivered_at__isnull=True).count()
    total = DrainResult()
    lock = threading.Lock()
    errors: list[BaseException] = []

    def drain():
        try:
            while OutboxEvent.objects.filter(delivered_at__isnull=True).exists():
                result = outbox_drain(batch_size=batch_size, time_budget=3600)
                with lock:
                    for name in ("batches", "applied", "stale", "waiting"):
                        setattr(total, name, getattr(total, name) + getattr(result, name))
                if not result.batches:
                    time.sleep(0.2)  # the rest is held by another worker or backs off
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
        finally:
            if workers > 1:
                connection.close()

    backend = None
    if workers == 1 and connection.vendor == "postgresql":  # the drain's queries run there
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
    backend_before = cpu_seconds(backend) if backend else None
    load_before = os.getloadavg()[0]
    neo4j_before = cpu_seconds(neo4j_pid) if neo4j_pid else None
    cpu_before = time.process_time()
    started = time.perf_counter()
    if workers == 1:
        drain()
    else:
        close_old_connections()
        threads = [threading.Thread(target=drain) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    seconds = time.perf_counter() - started
    if errors:
        raise errors[0]
    return DrainFigures(rows=pending, seconds=seconds, python_cpu=time.process_time() - cpu_before,
                        neo4j_cpu=None if neo4j_before is None else cpu_seconds(neo4j_pid) - neo4j_before,
                        load=(load_before, os.getloadavg()[0]), result=total,
                        database_cpu=None if backend is None else cpu_seconds(backend) - backend_before)
