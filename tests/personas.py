"""Named test users, one per role (the Healthchecks way): alice is an editor, bob a
reviewer, charlie an admin; dave is signed in but has no role. Import the fixtures into a
test package's conftest.py: `from tests.personas import *  # noqa: F401,F403`."""
import pytest
from django.contrib.auth.models import Group, User

from apps.curation.services import roles_install


def make_user(username: str, role: str | None = None) -> User:
    user = User.objects.create_user(username=username, password=f"{username}-test-password", is_staff=role is not None)
    if role:
        roles_install()
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def alice(db):
    return make_user("alice", "editor")


@pytest.fixture
def bob(db):
    return make_user("bob", "reviewer")


@pytest.fixture
def charlie(db):
    return make_user("charlie", "admin")


@pytest.fixture
def dave(db):
    return make_user("dave")


@pytest.fixture
def as_user(client):
    """`as_user(alice)` -> a test client signed in as alice (None: anonymous)."""

    def login(user):
        client.logout()
        if user is not None:
            client.force_login(user)
        return client

    return login
