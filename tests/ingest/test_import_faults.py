"""Imports under faults: a job whose worker dies comes back by itself and resumes after its last
committed chunk; the graph is fed while a big import finishes."""
import datetime as dt
import threading
import time
from pathlib import Path

import pytest
from django.utils import timezone

from apps.catalog.models import Entity, Record
from apps.ingest.models import ImportedItem, ImportJob
from tests.conftest import wait_for


def _synthetic_job(tmp_path, user, n):
    from apps.ingest.bench import synthesize
    from apps.ingest.services import import_job_create

    path = tmp_path / "synthetic.ftm.jsonl"
    counts = synthesize(path, n=n, seed=5)
    return import_job_create(user=user, path=path, dataset="synthetic"), sum(counts.values())


FAST_LEASE = {"IMPORT_JOB_LEASE_SECONDS": "3", "VENDORGRAPH_IMPORT_CHUNK": "10"}


def _import_under_way(tmp_path, user, n, start_worker):
    """A synthetic import of `n` objects running in a real worker (short lease, chunks of 10),
    a few chunks committed: (job, objects in the file, the worker)."""
    from apps.ingest.tasks import import_job_run_task

    job, total = _synthetic_job(tmp_path, user, n)
    worker = start_worker(env=FAST_LEASE)
    import_job_run_task.apply_async(args=[job.pk])
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).checkpoint.get("rows", 0) >= 20, timeout=120,
             interval=0.1, message="the import to commit a few chunks")
    return job, total, worker


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_it_finishes_an_import_whose_worker_was_killed_without_writing_a_chunk_twice(graph, start_worker, tmp_path,
                                                                                      charlie):
    job, total, first = _import_under_way(tmp_path, charlie, 900, start_worker)
    first.kill()  # kill -9 the whole worker: the task is never acknowledged
    job.refresh_from_db()
    assert job.status == "running" and job.rows_read < job.rows_total

    second = start_worker(env=FAST_LEASE)
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).finished, timeout=240, message="the import to come back and finish")

    job.refresh_from_db()
    log = second.log_path.read_text()
    assert "lost its worker: queued again" in log and f"import job {job.pk} resumes after pass" in log
    assert job.status == "done" and job.rows_read == job.rows_total == total
    assert ImportedItem.objects.filter(dataset="synthetic").exclude(schema__startswith="~").count() == total
    assert (job.entities_created, job.records_created) == (Entity.objects.count(), Record.objects.count())
    assert Entity.history.filter(history_type="+").count() == Entity.objects.count()
    assert Record.history.filter(history_type="+").count() == Record.objects.count()


@pytest.mark.django_db
def test_a_second_delivery_of_the_task_leaves_a_job_with_a_live_worker_alone(tmp_path, charlie):
    from apps.ingest.services import import_job_run

    job, _ = _synthetic_job(tmp_path, charlie, 30)
    ImportJob.objects.filter(pk=job.pk).update(status="running", heartbeat_at=timezone.now())

    job = import_job_run(job=job)

    assert job.status == "running" and not Entity.objects.exists() and job.checkpoint == {}


@pytest.mark.django_db
def test_a_job_left_cancelling_by_a_dead_worker_is_cancelled(tmp_path, charlie, settings):
    from apps.ingest.services import import_jobs_resume

    job, _ = _synthetic_job(tmp_path, charlie, 30)
    stale = timezone.now() - dt.timedelta(seconds=settings.IMPORT_JOB_LEASE_SECONDS + 5)
    ImportJob.objects.filter(pk=job.pk).update(status="cancelling", heartbeat_at=stale)

    assert import_jobs_resume() == []

    job.refresh_from_db()
    assert job.status == "cancelled" and job.finished_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_graph_is_fed_while_an_import_proposes_its_matches(graph, zala_path, run_import, charlie, monkeypatch):
    from django.db import connection

    from apps.catalog.selectors import matching
    from apps.sync.services import outbox_drain
    from tests.factories import make_entity

    make_entity("Some Vendor We Had Ltd", country="RU")  # so that the import looks for matches
    real_search, delivered, failed = matching.candidates_for_many, [], []

    def deliver():
        try:
            delivered.append(outbox_drain(time_budget=30).applied)
        except Exception as exc:  # noqa: BLE001 - the assertion below names it
            failed.append(repr(exc))
        finally:
            connection.close()

    def searching(*args, **kwargs):
        if not delivered and not failed:  # a worker drains the outbox while the import proposes matches
            worker = threading.Thread(target=deliver)
            worker.start()
            worker.join(90)
        return real_search(*args, **kwargs)

    monkeypatch.setattr(matching, "candidates_for_many", searching)
    job = run_import(zala_path, user=charlie)

    assert job.status == "done" and not failed and delivered and delivered[0] > 0


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_redis_restart_during_an_import_neither_stalls_the_worker_nor_writes_a_chunk_twice(graph, start_worker,
                                                                                            tmp_path, charlie):
    """The broker goes away mid-import: the running task is stopped and delivered again (it
    resumes after its last chunk), and the worker goes on taking tasks: the import finishes,
    each row once, and the graph catches up with all of it."""
    from urllib.parse import urlparse

    import redis as redis_lib
    from django.conf import settings

    from apps.ops import localredis
    from apps.sync.parity import parity_check

    job, total, worker = _import_under_way(tmp_path, charlie, 4000, start_worker)
    assert not ImportJob.objects.get(pk=job.pk).finished
    url = urlparse(settings.REDIS_URL)
    data_dir = Path(settings.VAR_DIR) / "test" / f"redis-{url.port}"
    try:
        redis_lib.Redis.from_url(settings.REDIS_URL).shutdown(nosave=True)
    except redis_lib.ConnectionError:
        pass  # the server closes the connection as it goes
    wait_for(lambda: not localredis.ping(url.hostname, url.port), timeout=10, message="Redis to stop")
    time.sleep(3)
    localredis.start(data_dir=data_dir, host=url.hostname, port=url.port)

    wait_for(lambda: ImportJob.objects.get(pk=job.pk).finished, timeout=240, message="the import to finish")
    job.refresh_from_db()
    assert job.status == "done" and job.rows_read == job.rows_total == total
    assert ImportedItem.objects.filter(dataset="synthetic").exclude(schema__startswith="~").count() == total
    assert Entity.history.filter(history_type="+").count() == Entity.objects.count() == job.entities_created
    assert Record.history.filter(history_type="+").count() == Record.objects.count() == job.records_created
    wait_for(lambda: parity_check().ok, timeout=180, interval=2, message="the graph to catch up after the restart")
    log = worker.log_path.read_text()
    assert "Restoring" in log and f"import job {job.pk} resumes after pass" in log  # stopped, delivered again
