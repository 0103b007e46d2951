from django.core.management.base import BaseCommand, CommandError

from graph.connection import GraphUnavailable
from graph.sync import install_schema


class Command(BaseCommand):
    help = "Install the graph's uniqueness constraints and indexes (idempotent)."

    def handle(self, *args, **options):
        try:
            install_schema()
        except GraphUnavailable as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS("constraints and indexes installed"))
