"""``manage.py graph_server start|stop|status``: the project's own Neo4j (Bolt) server.

Thin wrapper over :mod:`graph.server`, configured by Django settings (each optional):
NEO4J_DATA_DIR (default BASE_DIR/var/neo4j), NEO4J_BOLT_HOST (127.0.0.1),
NEO4J_BOLT_PORT (7687), NEO4J_PAGECACHE (512m), NEO4J_HEAP (1g), NEO4J_START_TIMEOUT (180 s).
"""
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from graph import server


class Command(BaseCommand):
    help = "Start, stop or show the project-local Neo4j 5 server (embedded, Bolt) named by the NEO4J_* settings."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["start", "stop", "status"])

    def handle(self, *args, action, **options):
        data_dir = Path(getattr(settings, "NEO4J_DATA_DIR", Path(settings.BASE_DIR) / "var" / "neo4j"))
        host = getattr(settings, "NEO4J_BOLT_HOST", server.DEFAULT_HOST)
        port = int(getattr(settings, "NEO4J_BOLT_PORT", server.DEFAULT_PORT))
        try:
            if action == "start":
                info = server.start(
                    data_dir=data_dir,
                    host=host,
                    port=port,
                    pagecache=getattr(settings, "NEO4J_PAGECACHE", server.DEFAULT_PAGECACHE),
                    heap=getattr(settings, "NEO4J_HEAP", server.DEFAULT_HEAP),
                    timeout=float(getattr(settings, "NEO4J_START_TIMEOUT", server.DEFAULT_START_TIMEOUT)),
                    tx_timeout=settings.NEO4J_TX_TIMEOUT or None,
                )
                how = "already running" if info.reused else f"started in {info.startup_seconds:.1f}s"
                self.stdout.write(f"{info.bolt_url} {how} (pid {info.pid}, data dir {info.data_dir})")
            elif action == "stop":
                stopped = server.stop(data_dir=data_dir)
                self.stdout.write("neo4j stopped" if stopped else "no local neo4j was running")
            else:
                info = server.status(data_dir=data_dir, host=host, port=port)
                if info.running:
                    state = "ready" if info.ready else "not answering Bolt"
                    self.stdout.write(f"{info.bolt_url} running, {state} (pid {info.pid}, data dir {info.data_dir})")
                else:
                    extra = " (but something else answers Bolt there)" if info.ready else ""
                    self.stdout.write(f"{info.bolt_url} down{extra} (data dir {info.data_dir})")
        except server.Neo4jServerError as exc:
            raise CommandError(str(exc)) from exc
