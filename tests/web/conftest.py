"""The home page uses the case study as loaded for the browsing pages."""
from tests.browse.conftest import casestudy  # noqa: F401
