"""pg_trgm for entity search on PostgreSQL: the extension and GIN trigram indexes on the
normalised names (entities and aliases), which the search's candidate query (`name_norm %>
query`, word similarity) reads. A no-op on SQLite (the search counts shared trigrams with
LIKE there)."""
from django.db import migrations

INDEXES = [("catalog_entity_name_norm_trgm", "catalog_entity"), ("catalog_alias_name_norm_trgm", "catalog_alias")]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (name_norm gin_trgm_ops)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0006_dataset_sources_and_line_locators")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
