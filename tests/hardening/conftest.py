from tests.personas import *  # noqa: F401,F403
