"""The Celery application. Tasks only call a service (apps/*/services.py)."""
import os

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown

# Production unless the development settings are asked for (bin/run asks for them).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.prod")

app = Celery("vendorgraph")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _fresh_graph_driver(**_kwargs):
    # Neither neomodel nor the Neo4j driver survives a fork: drop what the parent had.
    from graph.connection import reset_driver

    reset_driver()


@worker_process_shutdown.connect
def _close_graph_driver(**_kwargs):
    from graph.connection import close_driver

    close_driver()
