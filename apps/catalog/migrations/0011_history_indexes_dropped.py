"""The history tables keep only the indexes their queries use (id, history_date, history_user,
and a citation's or a name's entity/record): the ones copied from the live fields (a random
uuid above all) cost every import row and served no query.

Only the indexes are dropped: Django's SQLite AlterField would copy every history table
(minutes at millions of rows), so the database side is a DROP INDEX per column, found by
introspection (both databases), and the state side the AlterFields."""

import apps.catalog.models.entities
import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models

from apps.ops.schema import single_column_indexes_create, single_column_indexes_drop


UNINDEXED = {
    "historicalalias": ["workflow"],
    "historicalfact": ["workflow"],
    "historicalcitation": ["fact_id", "source_id"],
    "historicalentity": ["uuid", "key", "kind", "country", "iso_code", "workflow", "published_by_id"],
    "historicalrecord": ["uuid", "key", "kind", "workflow", "subject_id", "object_id", "site_id", "party_id",
                         "related_id", "published_by_id"],
}


def _indexes_drop(apps, schema_editor):
    for model, columns in UNINDEXED.items():
        single_column_indexes_drop(schema_editor, f"catalog_{model}", columns)


def _indexes_create(apps, schema_editor):
    for model, columns in UNINDEXED.items():
        single_column_indexes_create(schema_editor, f"catalog_{model}", columns)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0010_page_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(_indexes_drop, _indexes_create)],
            state_operations=[
                migrations.AlterField(
                    model_name='historicalalias',
                    name='workflow',
                    field=models.CharField(choices=[('draft', 'Draft'), ('review', 'In review'), ('published', 'Published'), ('retracted', 'Retracted')], default='draft', max_length=16),
                ),
                migrations.AlterField(
                    model_name='historicalcitation',
                    name='fact',
                    field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='catalog.fact'),
                ),
                migrations.AlterField(
                    model_name='historicalcitation',
                    name='source',
                    field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='catalog.source'),
                ),
                migrations.AlterField(
                    model_name='historicalentity',
                    name='country',
                    field=models.CharField(blank=True, help_text='ISO 3166-1 alpha-2 code.', max_length=2, validators=[apps.catalog.models.entities.validate_country_code]),
                ),
                migrations.AlterField(
                    model_name='historicalentity',
                    name='iso_code',
                    field=models.CharField(blank=True, help_text='For countries: their own ISO 3166-1 alpha-2 code.', max_length=2, null=True, validators=[apps.catalog.models.entities.validate_country_code]),
                ),
                migrations.AlterField(
                    model_name='historicalentity',
                    name='key',
                    field=models.SlugField(blank=True, db_index=False, help_text='Stable key used by curated data files.', max_length=100, null=True),
                ),
                migrations.AlterField(
                    model_name='historicalentity',
                    name='kind',
                    field=models.CharField(choices=[('company', 'Company'), ('person', 'Person'), ('public_body', 'Public body'), ('organization', 'Organization'), ('country', 'Country'), ('site', 'Site')], max_length=16),
                ),
                migrations.AlterField(
                    model_name='historicalentity',
                    name='published_by',
                    field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL),
                ),
                migrations.AlterField(
                    model_name='historicalentity',
                    name='uuid',
                    field=models.UUIDField(default=uuid.uuid4, editable=False),
                ),
                migrations.AlterField(
                    model_name='historicalentity',
                    name='workflow',
                    field=models.CharField(choices=[('draft', 'Draft'), ('review', 'In review'), ('published', 'Published'), ('retracted', 'Retracted')], default='draft', max_length=16),
                ),
                migrations.AlterField(
                    model_name='historicalfact',
                    name='workflow',
                    field=models.CharField(choices=[('draft', 'Draft'), ('review', 'In review'), ('published', 'Published'), ('retracted', 'Retracted')], default='draft', max_length=16),
                ),
                migrations.AlterField(
                    model_name='historicalrecord',
                    name='key',
                    field=models.SlugField(blank=True, db_index=False, help_text='Stable key used by curated data files.', max_length=100, null=True),
                ),
                migrations.AlterField(
                    model_name='historicalrecord',
                    name='kind',
                    field=models.CharField(choices=[('ownership', 'Ownership / control'), ('role', 'Role'), ('contract', 'Tender / contract'), ('ban', 'Ban / restriction'), ('loan', 'Loan'), ('donation', 'Donation'), ('deployment', 'Deployment'), ('investigation', 'Investigation / raid'), ('court_case', 'Court case'), ('statement', 'Statement')], max_length=16),
                ),
                migrations.AlterField(
                    model_name='historicalrecord',
                    name='object',
                    field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, error_messages={'invalid': 'There is no entity with id %(value)r: it does not exist.'}, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='catalog.entity'),
                ),
                migrations.AlterField(
                    model_name='historicalrecord',
                    name='party',
                    field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, error_messages={'invalid': 'There is no entity with id %(value)r: it does not exist.'}, help_text="A third party: a loan's tied supplier, a deployment's operator, ...", null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='catalog.entity'),
                ),
                migrations.AlterField(
                    model_name='historicalrecord',
                    name='published_by',
                    field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL),
                ),
                migrations.AlterField(
                    model_name='historicalrecord',
                    name='related',
                    field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, help_text='A record this one follows from: the ban a court case challenged, ...', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='catalog.record'),
                ),
                migrations.AlterField(
                    model_name='historicalrecord',
                    name='site',
                    field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, error_messages={'invalid': 'There is no entity with id %(value)r: it does not exist.'}, help_text='Where it happens: a site or a country.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='catalog.entity'),
                ),
                migrations.AlterField(
                    model_name='historicalrecord',
                    name='subject',
                    field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, error_messages={'invalid': 'There is no entity with id %(value)r: it does not exist.'}, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='catalog.entity'),
                ),
                migrations.AlterField(
                    model_name='historicalrecord',
                    name='uuid',
                    field=models.UUIDField(default=uuid.uuid4, editable=False),
                ),
                migrations.AlterField(
                    model_name='historicalrecord',
                    name='workflow',
                    field=models.CharField(choices=[('draft', 'Draft'), ('review', 'In review'), ('published', 'Published'), ('retracted', 'Retracted')], default='draft', max_length=16),
                ),
            ],
        ),
    ]
