from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "apps.catalog"
    label = "catalog"
    verbose_name = "Store of record"

    def ready(self):
        from apps.catalog import signals  # noqa: F401  (keeps the blocking keys in step)
