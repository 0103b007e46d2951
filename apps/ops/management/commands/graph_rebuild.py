from django.core.management.base import BaseCommand, CommandError

from apps.sync.parity import graph_rebuild
from graph.connection import GraphUnavailable
from graph.sync import install_schema


class Command(BaseCommand):
    help = "Rebuild the whole graph from the store of record (no window of emptiness)."

    def add_arguments(self, parser):
        parser.add_argument("--fresh", action="store_true",
                            help="the graph is EMPTY and nothing else writes to it (no worker running): create "
                                 "instead of upsert (a first build; much faster)")

    def handle(self, *args, **options):
        try:
            install_schema()
            written = graph_rebuild(fresh=options["fresh"], stdout=self.stdout)
        except ValueError as exc:
            raise CommandError(f"{exc}: run it without --fresh") from exc
        except GraphUnavailable as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"graph rebuilt: {written['entities']} entities, {written['records']} records, {written['pruned']} pruned "
            f"in {written['seconds']:.0f} s (entities {written['seconds_entities']:.0f} s, records "
            f"{written['seconds_records']:.0f} s, prune {written['seconds_prune']:.0f} s)"
        ))
