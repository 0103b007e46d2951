"""Draining the outbox: a record that reaches the graph before its entities waits, then lands."""
import datetime as dt

import pytest
from django.utils import timezone

from apps.sync.bench import outbox_fill
from apps.sync.models import OutboxEvent
from apps.sync.services import outbox_drain
from graph.connection import run
from tests.conftest import on_postgres
from tests.factories import make_entity, make_record

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_record_drained_before_its_entities_backs_off_and_is_delivered_after_them(graph):
    a, b = make_entity("Waiting Owner Ltd"), make_entity("Waiting Subsidiary Ltd")
    record = make_record(a, b, kind="ownership")
    entity_rows = OutboxEvent.objects.filter(aggregate="entity")
    entity_rows.update(claimed_until=timezone.now() + dt.timedelta(hours=1))  # held elsewhere

    result = outbox_drain()

    assert result.waiting == 1
    row = OutboxEvent.objects.get(uid=str(record.uuid))
    assert row.delivered_at is None and row.attempts == 1
    assert row.claimed_until > timezone.now()  # backing off, not retried at once
    assert "not in the graph yet" in row.last_error

    entity_rows.update(claimed_until=None)
    # Its back-off is 2 s: keep it waiting through the next drain on a busy machine too.
    OutboxEvent.objects.filter(pk=row.pk).update(claimed_until=timezone.now() + dt.timedelta(hours=1))
    assert outbox_drain().applied == 2
    OutboxEvent.objects.filter(pk=row.pk).update(claimed_until=timezone.now() - dt.timedelta(seconds=1))
    assert outbox_drain().applied == 1
    row.refresh_from_db()
    assert row.delivered_at is not None and row.graph_version_before == 0
    found = run("MATCH (:Entity {uid: $a})-[r:OWNS]->(:Entity {uid: $b}) RETURN r.uid AS uid",
                {"a": str(a.uuid), "b": str(b.uuid)})
    assert found == [{"uid": str(record.uuid)}]


def _writes_watched(log: list[str]):
    from django.db import connection

    def watch(execute, sql, params, many, context):
        text = sql.lstrip().upper()
        if text.startswith("BEGIN"):
            log.append("transaction")
        elif text.startswith(("UPDATE", "INSERT", "DELETE")) and not connection.in_atomic_block:
            log.append(f"write outside a transaction: {sql[:60]}")
        return execute(sql, params, many, context)

    return connection.execute_wrapper(watch)


@pytest.mark.skipif(on_postgres(), reason="SQLite: one write lock for the whole file")
def test_on_sqlite_it_takes_the_write_lock_once_per_slab_so_an_import_cannot_starve_it(graph, settings):
    # An import holds SQLite's write lock for each chunk; the drain gets it about once between
    # two chunks. Each time it must record what it sent and claim the next slab, together.
    settings.OUTBOX_SQLITE_CLAIM_SIZE = 1000
    settings.OUTBOX_LEASE_SECONDS = 600  # a slab is sent whole while half its lease is left
    rows = outbox_fill(2500)  # 3,000 import-like rows, records after their entities
    log: list[str] = []
    with _writes_watched(log):
        result = outbox_drain(batch_size=250)

    assert result.applied == rows == 3000 and result.batches == 12 and result.waiting == 0
    assert log == ["transaction"] * 4  # three slabs claimed, the last one recorded
    assert not OutboxEvent.objects.filter(delivered_at__isnull=True).exists()
    assert run("MATCH (n:Entity) RETURN count(n) AS n")[0]["n"] == 999


@pytest.mark.skipif(not on_postgres(), reason="PostgreSQL's planner")
def test_on_postgres_the_claim_walks_the_pending_rows_in_order_without_reading_them_all(graph):
    # Believing few rows pending (statistics that a big import outdated or that do not exist
    # yet), the planner read and sorted every pending row for each batch of 500 (about
    # 0.5 s a claim at 300,000 pending rows, ~700 rows/s after a million-object import).
    from django.db import connection

    outbox_fill(20_000)
    with connection.cursor() as cursor:  # a table the autovacuum has not analysed yet
        cursor.execute("ALTER TABLE sync_outboxevent SET (autovacuum_enabled = off)")
        cursor.execute("DELETE FROM pg_statistic WHERE starelid = 'sync_outboxevent'::regclass")
        cursor.execute("UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid = 'sync_outboxevent'::regclass")
    plans: list[str] = []

    def explain(execute, sql, params, many, context):
        if "FOR UPDATE SKIP LOCKED" in sql and not plans:
            plans.append("")
            context["cursor"].execute("EXPLAIN " + sql, params)
            plans[0] = "\n".join(row[0] for row in context["cursor"].fetchall())
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain):
        try:
            result = outbox_drain(batch_size=500, time_budget=1)  # a batch or two is enough
        finally:
            with connection.cursor() as cursor:
                cursor.execute("ALTER TABLE sync_outboxevent RESET (autovacuum_enabled)")

    first = OutboxEvent.objects.order_by("id").values_list("id", flat=True)[:500]
    assert result.applied >= 500 and not OutboxEvent.objects.filter(id__in=list(first), delivered_at=None).exists()
    assert "Sort" not in plans[0] and "Bitmap" not in plans[0] and "outbox_undelivered" in plans[0], plans[0]
