"""Development settings: only ever asked for explicitly (`bin/run` does; wsgi.py, celery.py and
manage.py default to production), and only ever served to this machine.

Loopback only, two ways, because either alone can be got round:
* ALLOWED_HOSTS holds loopback names only, so a request naming any other host (a LAN address,
  a DNS name rebound to 127.0.0.1) is refused with 400; asking for another host through
  DJANGO_ALLOWED_HOSTS stops start-up.
* `apps.web.middleware.LoopbackOnlyMiddleware` refuses (403) every request whose TCP peer is
  not a loopback address, whatever its Host header says — so `runserver 0.0.0.0:8000` (or
  gunicorn bound to a public address) under these settings serves nobody but this machine.
"""
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_list

from .base import *  # noqa: F401,F403
from .base import MIDDLEWARE

DEBUG = env_bool("DJANGO_DEBUG", True)

LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
_asked = env_list("DJANGO_ALLOWED_HOSTS", LOOPBACK_HOSTS)
_other = [h for h in _asked if h not in LOOPBACK_HOSTS]
if _other:
    raise ImproperlyConfigured(
        f"The development settings serve this machine only; DJANGO_ALLOWED_HOSTS names {', '.join(_other)}. "
        "Use DJANGO_SETTINGS_MODULE=config.settings.prod to serve other hosts.")
ALLOWED_HOSTS = LOOPBACK_HOSTS
MIDDLEWARE = ["apps.web.middleware.LoopbackOnlyMiddleware", *MIDDLEWARE]

# Serve static files straight from the finders (no collectstatic in development).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
