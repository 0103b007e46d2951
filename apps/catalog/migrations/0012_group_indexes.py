"""An entity's records by each end and kind, in date order: (end, kind, start, id) for the four
ends (for site and party only the records that have one), in place of the four single-column
foreign-key indexes (their lookups use the new indexes' first column). Also dropped: the record's `kind` index (a handful of values; no
query is served by it) and its `published_by` index (no page reads records by publisher).

The composite indexes are built first, so every foreign key keeps an index throughout. Only the
old indexes are dropped: Django's SQLite AlterField would copy the whole record table (minutes
at millions of rows), so the database side is a DROP INDEX per column, found by introspection
(both databases; PostgreSQL's `kind` also has a `_like` index), and the state side the
AlterFields (as in 0011). On SQLite the new indexes then get planner statistics if the store
has any."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from apps.ops.schema import single_column_indexes_create, single_column_indexes_drop


UNINDEXED = ["subject_id", "object_id", "site_id", "party_id", "kind", "published_by_id"]


def _indexes_drop(apps, schema_editor):
    single_column_indexes_drop(schema_editor, "catalog_record", UNINDEXED)


GROUP_INDEXES = ["record_subject_group", "record_object_group", "record_site_group", "record_party_group"]


def _statistics_add(apps, schema_editor):
    """SQLite: statistics for the new indexes if the store has any (an imported store does;
    the planner would otherwise guess at them beside the measured ones). Seconds at 5,000,000
    records. A store without statistics (a new one) is left without, as before. PostgreSQL's
    statistics are per column and kept by autovacuum."""
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone()[0]:
            for name in GROUP_INDEXES:
                cursor.execute(f'ANALYZE "{name}"')


def _indexes_create(apps, schema_editor):
    single_column_indexes_create(schema_editor, "catalog_record", UNINDEXED)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0011_history_indexes_dropped'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='record',
            index=models.Index(fields=['subject', 'kind', 'start', 'id'], name='record_subject_group'),
        ),
        migrations.AddIndex(
            model_name='record',
            index=models.Index(fields=['object', 'kind', 'start', 'id'], name='record_object_group'),
        ),
        migrations.AddIndex(
            model_name='record',
            index=models.Index(condition=models.Q(('site__isnull', False)), fields=['site', 'kind', 'start', 'id'], name='record_site_group'),
        ),
        migrations.AddIndex(
            model_name='record',
            index=models.Index(condition=models.Q(('party__isnull', False)), fields=['party', 'kind', 'start', 'id'], name='record_party_group'),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(_indexes_drop, _indexes_create),
                                 migrations.RunPython(_statistics_add, migrations.RunPython.noop)],
            state_operations=[
            migrations.AlterField(
                model_name='record',
                name='kind',
                field=models.CharField(choices=[('ownership', 'Ownership / control'), ('role', 'Role'), ('contract', 'Tender / contract'), ('ban', 'Ban / restriction'), ('loan', 'Loan'), ('donation', 'Donation'), ('deployment', 'Deployment'), ('investigation', 'Investigation / raid'), ('court_case', 'Court case'), ('statement', 'Statement')], max_length=16),
            ),
            migrations.AlterField(
                model_name='record',
                name='object',
                field=models.ForeignKey(db_index=False, error_messages={'invalid': 'There is no entity with id %(value)r: it does not exist.'}, on_delete=django.db.models.deletion.PROTECT, related_name='records_in', to='catalog.entity'),
            ),
            migrations.AlterField(
                model_name='record',
                name='party',
                field=models.ForeignKey(blank=True, db_index=False, error_messages={'invalid': 'There is no entity with id %(value)r: it does not exist.'}, help_text="A third party: a loan's tied supplier, a deployment's operator, ...", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='records_party', to='catalog.entity'),
            ),
            migrations.AlterField(
                model_name='record',
                name='published_by',
                field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
            ),
            migrations.AlterField(
                model_name='record',
                name='site',
                field=models.ForeignKey(blank=True, db_index=False, error_messages={'invalid': 'There is no entity with id %(value)r: it does not exist.'}, help_text='Where it happens: a site or a country.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='records_at', to='catalog.entity'),
            ),
            migrations.AlterField(
                model_name='record',
                name='subject',
                field=models.ForeignKey(db_index=False, error_messages={'invalid': 'There is no entity with id %(value)r: it does not exist.'}, on_delete=django.db.models.deletion.PROTECT, related_name='records_out', to='catalog.entity'),
            ),
            ],
        ),
    ]
