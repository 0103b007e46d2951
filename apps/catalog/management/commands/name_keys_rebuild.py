"""Recompute every entity's blocking keys (NameKey), e.g. after a bulk load that bypassed
save() (the browse benchmark's store) or a change of apps.catalog.text.name_keys.

    manage.py name_keys_rebuild [--chunk 5000]
"""
from django.core.management import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = "Recompute the blocking keys of every entity (duplicates page, import matching)."

    def add_arguments(self, parser):
        parser.add_argument("--chunk", type=int, default=5000)

    def handle(self, *args, **opts):
        from apps.catalog.models import Entity
        from apps.catalog.services import name_keys_refresh

        last, written, done = 0, 0, 0
        while True:
            ids = list(Entity.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:opts["chunk"]])
            if not ids:
                break
            with transaction.atomic():
                written += name_keys_refresh(entity_ids=ids)
            done, last = done + len(ids), ids[-1]
        self.stdout.write(f"{done} entities, {written} keys written")
