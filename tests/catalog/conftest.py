from tests.browse.conftest import casestudy, publish  # noqa: F401
from tests.personas import *  # noqa: F401,F403
