import io

import pytest
from django.core.management import CommandError, call_command

from apps.catalog.models import Record

pytestmark = pytest.mark.django_db


def test_the_benchmark_imports_a_synthetic_file_and_prints_its_figures():
    out = io.StringIO()

    call_command("ingest_bench", "--n", "30", stdout=out)

    text = out.getvalue()
    assert "objects/s" in text and "0 refused" in text and "peak memory" in text
    assert Record.objects.filter(kind__in=["ownership", "role", "ban"]).count() == 20
    with pytest.raises(CommandError, match="already holds entities"):
        call_command("ingest_bench", "--n", "30", stdout=io.StringIO())


def test_the_benchmark_times_the_match_proposals_against_a_catalogue_it_loads_first():
    from apps.ingest.models import ImportJob

    out = io.StringIO()

    call_command("ingest_bench", "--n", "60", "--catalogue", "60", stdout=out)

    text = out.getvalue()
    assert "catalogue before the timed import: 24 entities" in text  # 20 and 4 sanction authorities
    assert "match proposals:" in text and "per CPU second" in text and "load average" in text
    assert sorted(ImportJob.objects.values_list("dataset", "status")) == [("bench", "done"), ("bench-base", "done")]


@pytest.mark.django_db(transaction=True)
def test_with_a_worker_the_outbox_drains_during_the_import_and_the_graph_ends_in_sync(graph, redis_server,
                                                                                    monkeypatch):
    from apps.ingest.management.commands import ingest_bench
    from apps.sync.models import OutboxEvent
    from graph.sync import graph_counts

    monkeypatch.setenv("VENDORGRAPH_USE_TEST_DB", "1")  # the worker process opens the test database
    monkeypatch.setattr(ingest_bench, "SYNC_TIMEOUT", 120.0)
    out = io.StringIO()

    call_command("ingest_bench", "--n", "60", "--worker", "--no-matches", stdout=out)

    text = out.getvalue()
    assert "drained by the worker during and after the import" in text
    assert "graph_check clean" in text and "draining worker: CPU" in text and "MB (its largest process)" in text
    assert not OutboxEvent.objects.filter(delivered_at__isnull=True).exists()
    from apps.catalog.models import Entity

    entities, records = graph_counts()
    assert sum(entities.values()) == Entity.objects.count() >= 20  # the file's 20 and the sanction authorities
    assert sum(records.values()) == Record.objects.count() == 40


def test_with_db_it_runs_on_a_folder_and_database_of_its_own(tmp_path, capfd):
    import socket

    from apps.catalog.models import Entity

    folder = tmp_path / "bench-ingest"
    with socket.socket() as probe:  # a free port for the bench's own Redis
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    call_command("ingest_bench", "--db", "sqlite", "--dir", str(folder), "--n", "30", "--no-matches",
                 "--redis-port", str(port))

    text = capfd.readouterr().out
    assert f"database: sqlite3 in {folder}" in text and "0 refused" in text
    assert (folder / "vendorgraph.sqlite3").exists() and not Entity.objects.exists()  # not the test database
