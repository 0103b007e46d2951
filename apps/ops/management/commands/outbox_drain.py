from django.core.management.base import BaseCommand, CommandError

from apps.sync.services import outbox_drain
from graph.connection import GraphUnavailable


class Command(BaseCommand):
    help = "Deliver pending outbox rows to Neo4j now, in this process (what the worker does)."

    def handle(self, *args, **options):
        try:
            result = outbox_drain(time_budget=3600)
        except GraphUnavailable as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"applied {result.applied}, stale {result.stale}, waiting {result.waiting}")
