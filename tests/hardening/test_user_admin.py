"""The admin role manages users within its own rights: it can give the roles, never the
superuser flag, individual permissions or another group, and cannot touch a superuser."""
import pytest
from django.contrib.auth.models import Group, Permission, User

pytestmark = pytest.mark.django_db


def _change(client, user, **fields):
    data = {"username": user.username, "first_name": "", "last_name": "", "email": "", "is_active": "on",
            "is_staff": "on", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00", **fields}
    return client.post(f"/admin/auth/user/{user.pk}/change/", data)


def test_an_admin_cannot_make_anyone_superuser_or_hand_out_permissions(charlie, dave, as_user):
    client = as_user(charlie)
    everything = Permission.objects.get(codename="delete_user")
    response = _change(client, dave, is_superuser="on", user_permissions=[everything.pk],
                       groups=[Group.objects.get(name="reviewer").pk])
    assert response.status_code == 302
    dave.refresh_from_db()
    assert not dave.is_superuser
    assert not dave.user_permissions.exists()
    assert list(dave.groups.values_list("name", flat=True)) == ["reviewer"], "giving a role is allowed"
    response = _change(client, charlie, is_superuser="on")
    charlie.refresh_from_db()
    assert not charlie.is_superuser, "nor itself"


def test_an_admin_can_only_give_the_roles_as_groups(charlie, dave, as_user):
    powers = Group.objects.create(name="all powers")
    powers.permissions.set(Permission.objects.all())
    response = _change(as_user(charlie), dave, groups=[powers.pk])
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not dave.groups.exists()


def test_an_admin_cannot_see_change_or_take_over_a_superuser(charlie, as_user):
    root = User.objects.create_superuser("root", password="root-test-password")
    client = as_user(charlie)
    assert "root" not in client.get("/admin/auth/user/").content.decode()
    for url in (f"/admin/auth/user/{root.pk}/change/", f"/admin/auth/user/{root.pk}/password/",
                f"/admin/auth/user/{root.pk}/delete/"):
        assert client.get(url).status_code in (302, 404), url
    client.post(f"/admin/auth/user/{root.pk}/password/", {"password1": "taken-over-1234", "password2": "taken-over-1234"})
    root.refresh_from_db()
    assert root.check_password("root-test-password")


def test_a_superuser_still_manages_everything(as_user, dave):
    root = User.objects.create_superuser("root", password="root-test-password")
    response = _change(as_user(root), dave, is_superuser="on")
    assert response.status_code == 302
    dave.refresh_from_db()
    assert dave.is_superuser
