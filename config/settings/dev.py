from config.env import env_bool

from .base import *  # noqa: F401,F403

DEBUG = env_bool("DJANGO_DEBUG", True)

# Serve static files straight from the finders (no collectstatic in development).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
