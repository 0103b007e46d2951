from django.core.management.base import BaseCommand, CommandError

from graph.connection import GraphUnavailable
from graph.sync import install_schema, schema_prune, schema_statements


class Command(BaseCommand):
    help = "Install the graph's uniqueness constraints and indexes (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--prune", action="store_true", help="Also drop constraints/indexes no longer defined.")

    def handle(self, *args, prune, **options):
        try:
            install_schema()
            dropped = schema_prune() if prune else []
        except GraphUnavailable as exc:
            raise CommandError(str(exc)) from exc
        for name in dropped:
            self.stdout.write(f"dropped {name}")
        self.stdout.write(self.style.SUCCESS(f"{len(schema_statements())} constraints and indexes in place"))
