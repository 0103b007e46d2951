from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.sync.parity import graph_rebuild, graph_rebuild_bulk
from graph import server
from graph.bulk_import import BulkImportError, local_server_check
from graph.connection import GraphUnavailable
from graph.sync import install_schema


class Command(BaseCommand):
    help = "Rebuild the whole graph from the store of record (no window of emptiness; --bulk: offline, fastest)."

    def add_arguments(self, parser):
        how = parser.add_mutually_exclusive_group()
        how.add_argument("--fresh", action="store_true",
                         help="the graph is EMPTY and nothing else writes to it (no worker running): create "
                              "instead of upsert (a first build; much faster)")
        how.add_argument("--bulk", action="store_true",
                         help="OFFLINE: stop the local graph server (NEO4J_DATA_DIR), replace its database with "
                              "Neo4j's bulk importer, start it again (the fastest full rebuild)")
        parser.add_argument("--import-heap", default="1g", help="--bulk: the importer's Java heap")
        parser.add_argument("--import-memory", default="2g",
                            help="--bulk: the importer's off-heap memory (--max-off-heap-memory)")
        parser.add_argument("--workers", type=int, default=None,
                            help="--bulk: processes writing the CSV files (default: one per CPU)")

    def handle(self, *args, **options):
        if options["bulk"]:
            return self.bulk(options)
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

    def bulk(self, options):
        data_dir = Path(settings.NEO4J_DATA_DIR)
        host, port = settings.NEO4J_BOLT_HOST, int(settings.NEO4J_BOLT_PORT)
        try:
            local_server_check(url=settings.NEO4J_URL, data_dir=data_dir, host=host, port=port)
        except BulkImportError as exc:
            raise CommandError(f"cannot rebuild in bulk: {exc}") from exc
        self.stdout.write(f"Offline bulk rebuild: stopping the graph server of {data_dir} ({host}:{port}); pages "
                          f"show the graph as unavailable and the outbox waits until it is started again.")
        try:
            written = graph_rebuild_bulk(
                data_dir=data_dir, stdout=self.stdout, import_heap=options["import_heap"],
                import_off_heap=options["import_memory"], workers=options["workers"],
                server_options={"host": host, "port": port, "pagecache": settings.NEO4J_PAGECACHE,
                                "heap": settings.NEO4J_HEAP, "timeout": float(settings.NEO4J_START_TIMEOUT),
                                "tx_timeout": settings.NEO4J_TX_TIMEOUT or None})
        except (BulkImportError, server.Neo4jServerError, GraphUnavailable) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"graph rebuilt in bulk: {written['entities']} entities, {written['records']} records in "
            f"{written['seconds']:.0f} s (CSV {written['seconds_csv']:.0f} s, import "
            f"{written['seconds_import']:.0f} s, "
            f"server stop/start {written['seconds_stop'] + written['seconds_start']:.0f} s, indexes "
            f"{written['seconds_indexes']:.0f} s; CPU seconds: CSV {written['cpu_csv']:.0f}, import "
            f"{written['cpu_import']:.0f})"))
