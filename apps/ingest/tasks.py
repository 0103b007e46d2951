"""Celery tasks: each only calls a service."""
from celery import shared_task

from apps.ingest.models import ImportJob
from apps.ingest.services import import_job_run


@shared_task(name="apps.ingest.tasks.import_job_run", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def import_job_run_task(job_id: int):
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is not None:
        import_job_run(job=job)
