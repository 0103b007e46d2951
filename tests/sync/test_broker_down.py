"""With Redis (the broker) stopped, writes do not wait for it and the sweeper still delivers."""
import time
from pathlib import Path

import pytest
from django.conf import settings

from apps.ops import localredis
from apps.sync.models import OutboxEvent
from apps.sync.services import outbox_sweep
from graph.connection import run
from tests.factories import make_entity

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_answers_writes_at_once_with_redis_stopped_and_the_sweeper_delivers_them(graph, redis_server):
    data_dir = Path(settings.VAR_DIR) / "test" / f"redis-{redis_server.port}"
    localredis.stop(data_dir=data_dir)
    try:
        started = time.monotonic()
        entities = [make_entity(f"Written While Redis Is Down {i}") for i in range(3)]
        seconds = time.monotonic() - started
    finally:
        localredis.start(data_dir=data_dir, host=redis_server.hostname, port=redis_server.port)
    # Each commit used to wait for kombu's retry of the refused connection (about 2 s):
    # three writes took over 6 s. Without the wait they take a fraction of that.
    assert seconds < 3, f"three writes took {seconds:.1f} s with the broker down"
    assert OutboxEvent.objects.filter(delivered_at__isnull=True).count() == 3

    result = outbox_sweep()  # what the beat runs every OUTBOX_SWEEP_SECONDS

    assert result.applied == 3
    uids = [str(e.uuid) for e in entities]
    found = run("MATCH (n:Entity) WHERE n.uid IN $uids RETURN n.name AS name ORDER BY name", {"uids": uids})
    assert [r["name"] for r in found] == [f"Written While Redis Is Down {i}" for i in range(3)]
