from django.db import migrations


class Migration(migrations.Migration):
    """One name per meaning: an entity's review state is `workflow`, as a record's is."""

    dependencies = [("catalog", "0002_history_and_permissions")]

    operations = [
        migrations.RenameField("entity", "status", "workflow"),
        migrations.RenameField("historicalentity", "status", "workflow"),
    ]
