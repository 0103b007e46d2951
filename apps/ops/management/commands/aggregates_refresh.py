"""Recompute the whole-graph aggregates (the vendors overview, the country pages) now.

    manage.py aggregates_refresh                  # every scope, here, printing each one's time
    manage.py aggregates_refresh --scope country:RS --scope overview
    manage.py aggregates_refresh --queue          # queue them for the worker instead

The worker refreshes them by itself after each change of the graph; this is for operators
(after `graph_rebuild`, which writes the graph without the outbox) and for measuring.
"""
import time

from django.core.management.base import BaseCommand

from apps.catalog.selectors import aggregates


class Command(BaseCommand):
    help = "Recompute the aggregates' snapshots (all scopes or --scope), printing the time of each."

    def add_arguments(self, parser):
        parser.add_argument("--scope", action="append", default=[], help='"overview" or "country:<ISO2>" (repeatable)')
        parser.add_argument("--queue", action="store_true", help="queue the refreshes for the worker instead")

    def handle(self, *args, **opts):
        scopes = opts["scope"] or aggregates.scopes_all()
        if opts["queue"]:
            queued = aggregates.refresh_schedule(scopes, countdown=0, force=True)
            self.stdout.write(f"{queued} of {len(scopes)} refreshes queued (the others were queued already)")
            return
        started = time.monotonic()
        for scope in scopes:
            seconds = aggregates.snapshot_refresh(scope=scope, force=True)
            self.stdout.write(f"{scope:<20}{seconds:9.1f} s")
        self.stdout.write(f"{len(scopes)} scopes in {time.monotonic() - started:.1f} s")
