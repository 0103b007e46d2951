"""`manage.py postgres_server` runs the project's own PostgreSQL from Debian's package."""
import shutil
import socket
from io import StringIO
from pathlib import Path

import psycopg
from django.core.management import call_command


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(*args) -> str:
    out = StringIO()
    call_command("postgres_server", *args, stdout=out)
    return out.getvalue()


def test_it_creates_starts_and_stops_a_local_server_with_the_database(settings, tmp_path):
    settings.POSTGRES_PORT = port = free_port()
    settings.POSTGRES_DATA_DIR = str(tmp_path / "var" / "postgres")
    settings.POSTGRES_DB = "vendorgraph_try"
    try:
        assert "started" in manage("start")
        assert "already running" in manage("start")
        assert f"127.0.0.1:{port} up" in manage("status")
        with psycopg.connect(host="127.0.0.1", port=port, user=settings.POSTGRES_USER,
                             password=settings.POSTGRES_PASSWORD, dbname="vendorgraph_try") as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("vendorgraph_try",)
        # Only over TCP with the password: a wrong one is refused.
        try:
            psycopg.connect(host="127.0.0.1", port=port, user=settings.POSTGRES_USER, password="wrong",
                            dbname="vendorgraph_try", connect_timeout=5).close()
            refused = False
        except psycopg.OperationalError as exc:
            refused = "password authentication failed" in str(exc)
        assert refused
        assert manage("stop").strip() == "postgres stopped"
        assert f"127.0.0.1:{port} down" in manage("status")
    finally:
        manage("stop")
        real = Path(settings.POSTGRES_DATA_DIR).resolve()
        if real.parent.name.startswith("vendorgraph-pg-"):  # the temp-folder fallback (as root)
            shutil.rmtree(real.parent, ignore_errors=True)
