"""Celery tasks: each only calls a service."""
from celery import shared_task

from apps.following import services


@shared_task(name="apps.following.tasks.digest_send_all", ignore_result=True)
def digest_send_all_task():
    return {"sent": services.digest_send_all()}
