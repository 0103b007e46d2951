from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("ingest", "0004_mapping_joins"),
    ]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="importjob",
            name="checkpoint",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
