"""Keeps derived name data in step with the store of record.

Every change to an entity's names reaches `Entity.save()`: its own name directly, an
alias through `Alias.save()/delete()` -> `entity.touch()` (coalesced to one save per entity
during imports). Bulk writes that bypass save() call `services.name_keys_refresh`."""
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.catalog.models import Entity


@receiver(post_save, sender=Entity, dispatch_uid="catalog_name_keys")
def _entity_saved(sender, instance: Entity, created: bool, raw: bool = False, **kwargs):
    if raw:  # loaddata
        return
    from apps.catalog.services import name_keys_refresh

    name_keys_refresh(entity_ids=[instance.pk], new=created)
