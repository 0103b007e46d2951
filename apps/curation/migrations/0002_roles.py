"""The role groups editor, reviewer and admin with their permissions (see apps/curation/roles.py)."""
from django.db import migrations

# Frozen copy of apps.curation.roles.GROUP_PERMISSIONS as of this migration (a later change
# to the roles needs a migration of its own).
GROUP_PERMISSIONS = {
    "admin": [
        "view_entity", "add_entity", "change_entity", "view_alias", "add_alias", "change_alias",
        "view_record", "add_record", "change_record", "view_source", "add_source", "change_source",
        "view_citation", "add_citation", "change_citation", "delete_alias", "delete_citation",
        "view_mergedecision", "publish_entity", "publish_record", "delete_entity", "delete_record",
        "delete_source", "merge_entity", "add_mergedecision", "change_mergedecision", "delete_mergedecision",
        "view_user", "add_user", "change_user", "delete_user", "view_group",
    ],
    "editor": [
        "view_entity", "add_entity", "change_entity", "view_alias", "add_alias", "change_alias",
        "view_record", "add_record", "change_record", "view_source", "add_source", "change_source",
        "view_citation", "add_citation", "change_citation", "delete_alias", "delete_citation",
        "view_mergedecision",
    ],
    "reviewer": [
        "view_entity", "add_entity", "change_entity", "view_alias", "add_alias", "change_alias",
        "view_record", "add_record", "change_record", "view_source", "add_source", "change_source",
        "view_citation", "add_citation", "change_citation", "delete_alias", "delete_citation",
        "view_mergedecision", "publish_entity", "publish_record",
    ],
}


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations ran; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = list(Permission.objects.filter(codename__in=codenames,
                                               content_type__app_label__in=["catalog", "curation", "auth"]))
        missing = set(codenames) - {p.codename for p in perms}
        if missing:
            raise RuntimeError(f"permissions not found for group {name}: {sorted(missing)}")
        group.permissions.set(perms)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["editor", "reviewer", "admin"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("curation", "0001_initial"),
        ("catalog", "0002_history_and_permissions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
