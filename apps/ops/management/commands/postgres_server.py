"""``manage.py postgres_server start|stop|status``: the project's own PostgreSQL server.

Thin wrapper over :mod:`apps.ops.localpg`, configured by the POSTGRES_* settings
(POSTGRES_PORT, POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, POSTGRES_DATA_DIR).
"""
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.ops import localpg


class Command(BaseCommand):
    help = "Start, stop or show the project-local PostgreSQL server named by the POSTGRES_* settings (loopback only)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["start", "stop", "status"])

    def handle(self, *args, action, **options):
        host, port, data_dir = settings.POSTGRES_HOST, settings.POSTGRES_PORT, settings.POSTGRES_DATA_DIR
        where = f"postgres://{host}:{port}"
        try:
            if action == "status":
                up = localpg.answers(host, port)
                self.stdout.write(f"{where} {'up' if up else 'down'} (data dir {data_dir})")
            elif action == "stop":
                stopped = localpg.stop(data_dir=data_dir)
                self.stdout.write("postgres stopped" if stopped else "no local postgres was running")
            else:
                started = localpg.start(data_dir=data_dir, host=host, port=port, user=settings.POSTGRES_USER,
                                        password=settings.POSTGRES_PASSWORD, database=settings.POSTGRES_DB)
                self.stdout.write(f"{where}/{settings.POSTGRES_DB} {'started' if started else 'already running'} "
                                  f"(data dir {data_dir})")
        except localpg.PostgresServerError as exc:
            raise CommandError(str(exc)) from exc
