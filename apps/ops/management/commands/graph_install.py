from django.core.management.base import BaseCommand, CommandError

from apps.sync.parity import graph_rebuild
from graph.connection import GraphUnavailable
from graph.sync import (
    PROJECTION_VERSION,
    install_schema,
    projection_version,
    projection_version_set,
    schema_prune,
    schema_statements,
)


class Command(BaseCommand):
    help = ("Install the graph's uniqueness constraints and indexes (idempotent); rebuild the graph when it "
            "was projected by an older version of the app.")

    def add_arguments(self, parser):
        parser.add_argument("--prune", action="store_true", help="Also drop constraints/indexes no longer defined.")

    def handle(self, *args, prune, **options):
        try:
            install_schema()
            dropped = schema_prune() if prune else []
            found = projection_version()
            if found != PROJECTION_VERSION:
                self.stdout.write(f"graph projected as version {found}, now {PROJECTION_VERSION}: rebuilding")
                counts = graph_rebuild(stdout=self.stdout)
                projection_version_set()
                self.stdout.write(f"rebuilt: {counts}")
        except GraphUnavailable as exc:
            raise CommandError(str(exc)) from exc
        for name in dropped:
            self.stdout.write(f"dropped {name}")
        self.stdout.write(self.style.SUCCESS(f"{len(schema_statements())} constraints and indexes in place"))
