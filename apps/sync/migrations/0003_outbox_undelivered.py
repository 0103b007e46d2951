from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sync', '0002_outbox_delivery_record'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='outboxevent',
            index=models.Index(condition=models.Q(('delivered_at__isnull', True)), fields=['id'],
                               name='outbox_undelivered'),
        ),
    ]
