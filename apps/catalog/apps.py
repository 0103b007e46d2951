from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "apps.catalog"
    label = "catalog"
    verbose_name = "Store of record"

    def ready(self):
        from django.db.models.signals import post_migrate

        from apps.catalog import signals  # noqa: F401  (keeps the blocking keys in step)

        post_migrate.connect(_name_index_after_migrate, sender=self, dispatch_uid="catalog_name_index")


def _name_index_after_migrate(sender, using="default", **kwargs):
    """SQLite's name index (apps.catalog.name_index): a migration may have rebuilt a table
    and with it dropped the triggers that keep the index in step."""
    from django.db import connections

    from apps.catalog.name_index import name_index_ensure

    name_index_ensure(connection=connections[using])
