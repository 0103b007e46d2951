"""Imports under faults: a job whose worker dies comes back by itself and resumes after its last
committed chunk; the graph is fed while a big import finishes."""
import datetime as dt
import threading

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


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_it_finishes_an_import_whose_worker_was_killed_without_writing_a_chunk_twice(graph, start_worker, tmp_path,
                                                                                      charlie):
    from apps.ingest.tasks import import_job_run_task

    env = {"IMPORT_JOB_LEASE_SECONDS": "3", "VENDORGRAPH_IMPORT_CHUNK": "10"}
    job, total = _synthetic_job(tmp_path, charlie, 900)
    first = start_worker(env=env)
    import_job_run_task.apply_async(args=[job.pk])
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).checkpoint.get("rows", 0) >= 20, timeout=120,
             interval=0.1, message="the import to commit a few chunks")
    first.kill()  # kill -9 the whole worker: the task is never acknowledged
    job.refresh_from_db()
    assert job.status == "running" and job.rows_read < job.rows_total

    second = start_worker(env=env)
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
