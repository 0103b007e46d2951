from django.core.management.base import BaseCommand, CommandError

from apps.sync.parity import graph_rebuild
from graph.connection import GraphUnavailable
from graph.sync import install_schema


class Command(BaseCommand):
    help = "Rebuild the whole graph from the store of record (no window of emptiness)."

    def handle(self, *args, **options):
        try:
            install_schema()
            written = graph_rebuild()
        except GraphUnavailable as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"graph rebuilt: {written['entities']} entities, {written['records']} records, {written['pruned']} pruned"
        ))
