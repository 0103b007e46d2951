"""Celery tasks: each only calls a service."""
from celery import shared_task

from apps.ingest.models import ImportJob
from apps.ingest.services import import_job_run, import_jobs_resume


# acks_late + reject_on_worker_lost: a pool process that dies gives the task back at once.
# A whole worker killed never acknowledges it, and the broker would give it back only after
# its visibility timeout (an hour): import_jobs_resume queues it again once the job's
# heartbeat is older than IMPORT_JOB_LEASE_SECONDS, and the job resumes after its last chunk.
@shared_task(name="apps.ingest.tasks.import_job_run", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def import_job_run_task(job_id: int):
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is not None:
        import_job_run(job=job)


@shared_task(name="apps.ingest.tasks.import_jobs_resume", ignore_result=True)
def import_jobs_resume_task():
    return import_jobs_resume()
