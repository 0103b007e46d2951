"""On PostgreSQL two real worker processes drain the outbox together (`FOR UPDATE SKIP
LOCKED`): no change is lost, none is applied twice, none is applied out of order."""
import re
from collections import defaultdict

import pytest
from django.db import connection

from apps.catalog.models import Entity, Record
from apps.sync.models import OutboxEvent
from apps.sync.parity import parity_check
from graph.connection import GraphUnavailable
from tests.conftest import on_postgres, wait_for
from tests.factories import make_entity, make_record

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not on_postgres(), reason="several workers drain together on PostgreSQL (SKIP LOCKED)"),
]

APPLIED = re.compile(rb"succeeded in [0-9.]+s: \{'applied': (\d+)")


def drained():
    if OutboxEvent.objects.filter(delivered_at__isnull=True).exists():
        return False
    try:
        return parity_check().ok
    except GraphUnavailable:
        return False


def test_two_workers_drain_together_and_lose_reorder_or_repeat_nothing(graph, start_worker):
    # Small batches, each held for a second before it is written: while one worker holds a
    # batch the other must take the next rows, and the same uid is often in both.
    env = {"OUTBOX_BATCH_SIZE": "7", "OUTBOX_DRILL_DELAY": "1"}
    workers = [start_worker(env=env), start_worker(env=env)]

    entities = [make_entity(f"Concurrent Vendor {i:02d}", country="PL") for i in range(12)]
    records = [make_record(entities[i], entities[(i + 1) % 12], kind="contract", status="planned") for i in range(8)]
    for round_no in range(1, 7):  # every save is its own transaction, its own outbox row and nudge
        for entity in entities:
            entity.name = f"{entity.name.split(' r')[0]} r{round_no}"
            entity.save()
        for record in records[:4]:
            record.amount, record.currency = round_no * 1000, "EUR"
            record.save()
    for record in records[4:6]:
        record.delete()

    wait_for(drained, timeout=240, interval=1, message="both workers to drain the outbox")

    rows = list(OutboxEvent.objects.order_by("id").values("id", "uid", "version", "deliveries",
                                                          "graph_version_before"))
    # None applied twice: each row was marked delivered exactly once.
    assert [r["id"] for r in rows if r["deliveries"] != 1] == []

    # None out of order, none lost: per object, the rows the graph applied chain from
    # nothing (0) up to the store's current version, each applied on top of the previous.
    current = {str(e.uuid): e.version for e in Entity.objects.all()}
    current.update({str(r.uuid): r.version for r in Record.objects.all()})
    deleted = {str(r.uuid) for r in records[4:6]}
    applied = defaultdict(list)
    for r in rows:
        if r["graph_version_before"] is not None:
            applied[r["uid"]].append((r["version"], r["graph_version_before"]))
    assert set(applied) == set(current) | deleted
    for uid, chain in applied.items():
        chain.sort()
        previous = [0] + [version for version, _ in chain[:-1]]
        assert [before for _, before in chain] == previous, f"{uid} applied out of order: {chain}"
        if uid not in deleted:
            assert chain[-1][0] == current[uid]

    # Both processes really took part.
    per_worker = [sum(int(n) for n in APPLIED.findall(w.log_path.read_bytes())) for w in workers]
    assert all(n > 0 for n in per_worker), per_worker
    assert connection.vendor == "postgresql"
