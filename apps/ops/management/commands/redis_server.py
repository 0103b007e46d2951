from urllib.parse import urlparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.ops import localredis


class Command(BaseCommand):
    help = "Start or stop the project-local Redis server named by REDIS_URL (127.0.0.1 only)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["start", "stop", "status"])

    def handle(self, *args, action, **options):
        url = urlparse(settings.REDIS_URL)
        host, port = url.hostname or "127.0.0.1", url.port or 6379
        data_dir = settings.VAR_DIR / "redis"
        if action == "status":
            self.stdout.write(f"redis {host}:{port} {'up' if localredis.ping(host, port) else 'down'}")
            return
        if action == "stop":
            stopped = localredis.stop(data_dir=data_dir)
            self.stdout.write("redis stopped" if stopped else "no local redis was running")
            return
        if host not in ("127.0.0.1", "localhost"):
            raise CommandError(f"REDIS_URL points at {host}: start that Redis yourself")
        try:
            pid = localredis.start(data_dir=data_dir, host=host, port=port)
        except localredis.RedisServerError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"redis://{host}:{port} {'started' if pid else 'already running'}")
