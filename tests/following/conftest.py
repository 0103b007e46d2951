"""Following uses the browsing tests' quick publisher."""
from tests.browse.conftest import publish  # noqa: F401
