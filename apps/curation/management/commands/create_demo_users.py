"""Create (or reset) the demo curators alice (editor), bob (reviewer) and charlie (admin).

Passwords come from DEMO_PASSWORD_ALICE / _BOB / _CHARLIE; a user whose variable is not
set gets a random password, printed once. No password is ever stored in the repository.
"""
import os
import secrets

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand

DEMO_USERS = [("alice", "editor"), ("bob", "reviewer"), ("charlie", "admin")]


class Command(BaseCommand):
    help = "Create the demo curators alice (editor), bob (reviewer), charlie (admin)."

    def handle(self, *args, **options):
        from apps.curation.services import roles_install

        roles_install()
        for username, role in DEMO_USERS:
            password = os.environ.get(f"DEMO_PASSWORD_{username.upper()}") or secrets.token_urlsafe(12)
            user, created = User.objects.get_or_create(username=username)
            user.is_staff = True  # the Django admin is open to every curator, within their permissions
            user.set_password(password)
            user.save()
            user.groups.set([Group.objects.get(name=role)])
            shown = "(from the environment)" if os.environ.get(f"DEMO_PASSWORD_{username.upper()}") else password
            self.stdout.write(f"{'created' if created else 'updated'} {username} ({role}): password {shown}")
