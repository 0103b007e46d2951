import json
import time

from django.core.management.base import BaseCommand, CommandError

from apps.sync.parity import parity_check
from apps.sync.selectors import sync_lag
from graph.connection import GraphUnavailable


class Command(BaseCommand):
    help = "Check that Neo4j agrees with the store of record (counts and per-object versions). Exit 1 on any difference."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args, **options):
        started = time.monotonic()
        try:
            report = parity_check()
        except GraphUnavailable as exc:
            raise CommandError(str(exc)) from exc
        seconds = time.monotonic() - started
        lag = sync_lag()
        if options["json"]:
            self.stdout.write(json.dumps({
                "ok": report.ok, "store": report.store_counts, "graph": report.graph_counts,
                "store_hash": report.store_hash, "graph_hash": report.graph_hash,
                "differences": report.differences, "outbox_pending": lag.pending, "seconds": round(seconds, 1),
            }, indent=2))
        else:
            for side, counts in (("store of record", report.store_counts), ("graph", report.graph_counts)):
                self.stdout.write(f"{side}: entities {sum(counts['entities'].values())} {counts['entities']}; "
                                  f"records {sum(counts['records'].values())} {counts['records']}")
            self.stdout.write(f"store hash {report.store_hash[:16]}  graph hash {report.graph_hash[:16]}")
            self.stdout.write(f"outbox pending: {lag.pending}")
            self.stdout.write(f"compared in {seconds:.1f} s")
            for line in report.differences[:200]:
                self.stdout.write(f"DIFF {line}")
            if len(report.differences) > 200:
                self.stdout.write(f"... and {len(report.differences) - 200} more differences")
        if not report.ok:
            raise CommandError(f"parity check failed: {len(report.differences)} difference(s)", returncode=1)
        self.stdout.write(self.style.SUCCESS("parity OK"))
