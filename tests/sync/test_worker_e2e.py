"""Changes reach Neo4j through a real Celery worker process, and survive outages and crashes."""
import time

import pytest
from django.conf import settings

from apps.catalog.models import Entity
from apps.sync.models import OutboxEvent
from apps.sync.parity import parity_check
from graph import server
from graph.connection import GraphUnavailable, run
from tests.conftest import wait_for
from tests.factories import cite, make_entity, make_record

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def graph_version(uid: str):
    rows = run("MATCH (n:Entity {uid: $uid}) RETURN n.version AS v UNION ALL "
               "MATCH ()-[r {uid: $uid}]->() RETURN r.version AS v", {"uid": uid})
    return rows[0]["v"] if rows else None


def parity_ok():
    try:
        return parity_check().ok
    except GraphUnavailable:
        return False


def test_create_change_and_delete_reach_neo4j_through_the_worker(graph, worker):
    buyer = make_entity("Lithuanian Airports", kind="public_body", country="LT")
    vendor = make_entity("Acme Scanners Ltd", country="CN")
    record = make_record(buyer, vendor, kind="contract", status="planned", start="2021")
    wait_for(lambda: graph_version(str(record.uuid)) == 1, message="the record in Neo4j")

    record.status = "blocked"
    record.save()
    cite(record, "Acme Scanners Ltd won a contract worth 1,200,000 euros in 2021.")
    wait_for(lambda: graph_version(str(record.uuid)) == 3, message="the changed record in Neo4j")
    rows = run("MATCH (:Entity {uid: $b})-[r:CONTRACTED]->(:Entity {uid: $v}) RETURN r.status AS status, "
               "size(r.sources) AS sources", {"b": str(buyer.uuid), "v": str(vendor.uuid)})
    assert rows == [{"status": "blocked", "sources": 1}]

    uid = str(record.uuid)
    record.delete()
    vendor_uid = str(vendor.uuid)
    vendor.delete()
    wait_for(lambda: graph_version(uid) is None and graph_version(vendor_uid) is None, message="the deletions")
    assert wait_for(parity_ok, message="parity")


def test_with_neo4j_down_writes_wait_in_the_outbox_and_nothing_is_lost(graph, worker):
    before = make_entity("Before Outage Ltd")
    wait_for(lambda: graph_version(str(before.uuid)) == 1, message="the first entity")

    server.stop(data_dir=settings.NEO4J_DATA_DIR)
    try:
        # The store of record keeps working while the graph is down.
        a = make_entity("During Outage Ltd", country="BE")
        b = make_entity("Belgian Customs", kind="public_body", country="BE")
        ban = make_record(b, a, kind="ban", start="2023", status="in_force")
        before.name = "Renamed During Outage Ltd"
        before.save()
        assert Entity.objects.count() == 3
        time.sleep(3)  # the worker and the sweeper try, and fail, meanwhile
        assert OutboxEvent.objects.filter(delivered_at__isnull=True).count() >= 4
        assert OutboxEvent.objects.exclude(last_error="").exists()
    finally:
        server.start(data_dir=settings.NEO4J_DATA_DIR, host=settings.NEO4J_BOLT_HOST,
                     port=settings.NEO4J_BOLT_PORT, pagecache=settings.NEO4J_PAGECACHE,
                     heap=settings.NEO4J_HEAP, timeout=settings.NEO4J_START_TIMEOUT,
                     tx_timeout=settings.NEO4J_TX_TIMEOUT)  # as the session's server (conftest)

    assert wait_for(parity_ok, timeout=90, message="the sweeper to catch up after the outage")
    # A row is marked delivered just after Neo4j took it (on SQLite with the next claim).
    assert wait_for(lambda: not OutboxEvent.objects.filter(delivered_at__isnull=True).exists(), timeout=30,
                    message="the delivered rows to be marked")
    assert graph_version(str(ban.uuid)) == 1
    assert run("MATCH (n:Entity {uid: $u}) RETURN n.name AS name", {"u": str(before.uuid)})[0]["name"] == (
        "Renamed During Outage Ltd")


def test_a_worker_killed_in_the_middle_of_a_batch_loses_nothing(graph, start_worker):
    from django.db import connection, transaction

    slow = start_worker(env={"OUTBOX_DRILL_DELAY": "30", "OUTBOX_BATCH_SIZE": "25"})
    with transaction.atomic():
        entities = [make_entity(f"Company {i:03d}", country="PL") for i in range(60)]

    def mid_batch():
        pending = OutboxEvent.objects.filter(delivered_at__isnull=True)
        if not connection.features.has_select_for_update_skip_locked:
            return pending.filter(claimed_until__isnull=False).exists()  # SQLite: a lease
        with transaction.atomic():  # PostgreSQL: the worker holds the batch's rows locked
            return len(pending.select_for_update(skip_locked=True).values_list("id")) < pending.count()

    wait_for(mid_batch, timeout=30, message="the worker to claim a batch")
    slow.kill()
    assert OutboxEvent.objects.filter(delivered_at__isnull=True).count() == 60

    start_worker()  # a fresh worker; the dead one's lease expires and the sweeper re-sends
    assert wait_for(parity_ok, timeout=90, message="a new worker to deliver the dead worker's batch")
    assert run("MATCH (n:Company) RETURN count(n) AS n")[0]["n"] == len(entities)


def test_with_redis_down_writes_succeed_and_are_delivered_later(graph, worker, redis_server):
    from pathlib import Path

    from apps.ops import localredis

    data_dir = Path(settings.VAR_DIR) / "test" / f"redis-{redis_server.port}"
    localredis.stop(data_dir=data_dir)
    try:
        started = time.monotonic()
        entity = make_entity("Written Without Redis Ltd")
        assert time.monotonic() - started < 10, "a broker outage must not hang writes"
        assert Entity.objects.filter(pk=entity.pk).exists()
    finally:
        localredis.start(data_dir=data_dir, host=redis_server.hostname, port=redis_server.port)
    wait_for(lambda: graph_version(str(entity.uuid)) == 1, timeout=120,
             message="the worker to reconnect to Redis and the sweeper to deliver")
