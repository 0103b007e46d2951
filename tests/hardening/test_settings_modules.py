"""Which settings run where: wsgi.py, celery.py and manage.py default to production; the
development settings serve this machine only; the proxy's HTTPS header is trusted only when
configured; production passes `check --deploy` with the documented variables."""
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROD_ENV = {"DJANGO_SECRET_KEY": secrets.token_urlsafe(60), "DJANGO_ALLOWED_HOSTS": "vendorgraph.example"}


def python(code: str = "", *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in ("DJANGO_SETTINGS_MODULE", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DJANGO_PROXY_SSL_HEADER")}
    cmd = [sys.executable, *(["-c", code] if code else []), *args]
    return subprocess.run(cmd, cwd=ROOT, env={**base, **(env or {})}, capture_output=True, text=True, timeout=120)


SHOW = "from django.conf import settings; print(settings.SETTINGS_MODULE, settings.SECURE_PROXY_SSL_HEADER)"


@pytest.mark.parametrize("entry", [
    "import config.wsgi",
    "from config.celery import app; import django; django.setup()",
    "import sys, manage; sys.argv = ['manage.py', 'check']; manage.main()",
])
def test_the_entry_points_default_to_production_settings(entry):
    refused = python(entry)
    assert refused.returncode != 0 and "DJANGO_SECRET_KEY must be set" in refused.stderr
    shown = python(f"{entry}\n{SHOW}", env=PROD_ENV)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip().splitlines()[-1] == "config.settings.prod None"


def test_production_trusts_the_proxy_https_header_only_when_configured():
    shown = python(f"import config.wsgi\n{SHOW}", env={**PROD_ENV, "DJANGO_PROXY_SSL_HEADER": "X-Forwarded-Proto"})
    assert shown.stdout.strip() == "config.settings.prod ('HTTP_X_FORWARDED_PROTO', 'https')"


def test_production_settings_pass_the_deployment_checks():
    result = python("", "manage.py", "check", "--deploy", "--fail-level", "WARNING", env=PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


DEV_REQUESTS = """
import django
django.setup()
from django.test import Client
c = Client(HTTP_HOST="127.0.0.1:8000")
print(c.get("/no-such-page/").status_code)
print(c.get("/no-such-page/", REMOTE_ADDR="192.0.2.10").status_code)
print(c.get("/no-such-page/", HTTP_HOST="192.0.2.1:8000").status_code)
"""


def test_the_development_settings_serve_this_machine_only():
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.dev"}
    result = python(DEV_REQUESTS, env=env)
    assert result.returncode == 0, result.stderr
    # loopback: served (404 here); another peer (runserver 0.0.0.0): 403; another Host: 400
    assert result.stdout.split() == ["404", "403", "400"]
    refused = python("import django; django.setup()", env={**env, "DJANGO_ALLOWED_HOSTS": "vendorgraph.example"})
    assert refused.returncode != 0 and "serve this machine only" in refused.stderr
