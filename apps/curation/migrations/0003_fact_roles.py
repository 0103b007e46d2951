"""Facts became rows of their own (catalog/0004): curators get the permissions on them."""
from django.db import migrations

FACT_PERMISSIONS = {
    "editor": ["view_fact", "add_fact", "change_fact", "delete_fact"],
    "reviewer": ["view_fact", "add_fact", "change_fact", "delete_fact"],
    "admin": ["view_fact", "add_fact", "change_fact", "delete_fact"],
}


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in FACT_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(codename__in=codenames, content_type__app_label="catalog"))


class Migration(migrations.Migration):
    dependencies = [("curation", "0002_roles"), ("catalog", "0005_entity_facts_removed")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
