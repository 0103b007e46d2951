"""Development settings inside docker-compose: as config.settings.dev, plus the Docker bridge
networks as peers. The compose file publishes the web port on the host's 127.0.0.1 only, so
this still serves nobody but the host machine; never use it outside that compose file."""
from .dev import *  # noqa: F401,F403

DEV_TRUSTED_BRIDGES = ["172.16.0.0/12"]
