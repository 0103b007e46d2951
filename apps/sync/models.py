"""The transactional outbox and the base class of every model that the graph projects.

A change to an entity or a record writes an OutboxEvent in the same database transaction
as the change itself. Celery drains the outbox into Neo4j; a periodic sweeper re-sends
whatever was not delivered. So a Neo4j or Redis outage delays the graph, never loses a
change.
"""
import contextlib
import contextvars

from django.db import models, transaction

# Objects whose re-projection is postponed to the end of a `touches_coalesced()` block.
_deferred_touches: contextvars.ContextVar[dict | None] = contextvars.ContextVar("deferred_touches", default=None)


@contextlib.contextmanager
def touches_coalesced():
    """Inside this block, `touch()` only notes the object; each noted object is re-projected
    once at the end (inside the caller's transaction). An import adding forty names, facts
    and citations to one entity then writes one outbox row for it, not forty."""
    if _deferred_touches.get() is not None:
        yield
        return
    pending: dict = {}
    token = _deferred_touches.set(pending)
    try:
        yield
    finally:
        _deferred_touches.reset(token)
    for (model, pk) in list(pending):
        obj = model._base_manager.filter(pk=pk).first()
        if obj is not None:
            obj.touch()


class OutboxEvent(models.Model):
    class Op(models.TextChoices):
        UPSERT = "upsert"
        DELETE = "delete"

    class Aggregate(models.TextChoices):
        ENTITY = "entity"
        RECORD = "record"

    READ_AT_DELIVERY: dict = {}  # an upsert's payload when the drain reads it from the store

    aggregate = models.CharField(max_length=16, choices=Aggregate.choices)
    uid = models.CharField(max_length=36, db_index=True)
    op = models.CharField(max_length=8, choices=Op.choices)
    version = models.PositiveIntegerField()
    # What the graph holds of the object at `version` (an upsert), or READ_AT_DELIVERY: the
    # drain reads it from the store (the bulk writes of imports, see outbox_emit_bulk).
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # The delivery record: how many times a worker marked this row delivered (1 when all is
    # well), and the version the graph held just before this row was applied there (null
    # when it was not applied: stale, or superseded by a newer row of its batch). Per uid,
    # the applied rows chain from 0 up to the current version: the proof of order.
    deliveries = models.PositiveIntegerField(default=0)
    graph_version_before = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["delivered_at", "id"], name="outbox_pending"),  # the sweeper's prune
            # The claim's walk in id order over what is still to deliver: a few hundred
            # thousand entries after a big import, not the millions kept as delivered.
            models.Index(fields=["id"], name="outbox_undelivered", condition=models.Q(delivered_at__isnull=True)),
        ]

    def __str__(self):
        return f"{self.op} {self.aggregate} {self.uid} v{self.version}"


class SyncedQuerySet(models.QuerySet):
    """Bulk writes would bypass the outbox, so they go object by object or not at all."""

    def delete(self):
        count = 0
        with transaction.atomic(using=self.db):
            for obj in self:
                obj.delete()
                count += 1
        return count, {self.model._meta.label: count}

    def update(self, **kwargs):
        with transaction.atomic(using=self.db):
            pks = list(self.values_list("pk", flat=True))
            rows = super().update(**kwargs)
            for obj in self.model._base_manager.filter(pk__in=pks):
                obj.save(validate=False)
        return rows

    def bulk_create(self, *args, **kwargs):
        raise NotImplementedError("bulk_create bypasses the graph outbox: save objects one by one, "
                                  "or use apps.sync.services.synced_bulk_create")

    def bulk_update(self, *args, **kwargs):
        raise NotImplementedError("bulk_update bypasses the graph outbox: save objects one by one")


class SyncedModel(models.Model):
    """A model projected into Neo4j. Subclasses define `graph_aggregate` and `graph_payload()`.

    `save()` validates (full_clean), bumps `version` and writes the outbox row in one
    transaction; `delete()` writes a versioned delete event the same way.
    """

    graph_aggregate: str = ""

    version = models.PositiveIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SyncedQuerySet.as_manager()

    class Meta:
        abstract = True

    def graph_payload(self) -> dict:
        raise NotImplementedError

    def save(self, *args, validate: bool = True, **kwargs):
        if validate:
            self.full_clean()
        from apps.sync.services import outbox_emit

        with transaction.atomic():
            current = None
            if self.pk is not None:
                # Lock the row so two concurrent saves cannot emit the same version.
                current = (
                    type(self)._base_manager.select_for_update().filter(pk=self.pk).values_list("version", flat=True).first()
                )
            self.version = (current or 0) + 1
            super().save(*args, **kwargs)
            outbox_emit(aggregate=self.graph_aggregate, uid=str(self.uuid), op="upsert", version=self.version,
                        payload=self.graph_payload())

    def delete(self, *args, **kwargs):
        from apps.sync.services import outbox_emit

        with transaction.atomic():
            current = type(self)._base_manager.select_for_update().filter(pk=self.pk).values_list("version", flat=True).first()
            version = (current or self.version) + 1
            payload = self.graph_payload()
            result = super().delete(*args, **kwargs)
            outbox_emit(aggregate=self.graph_aggregate, uid=payload["uid"], op="delete", version=version, payload=payload)
        return result

    def touch(self):
        """Re-project this object (a related row that feeds its payload changed).

        No history row: nothing of the object itself changed (the related row that did
        keeps its own history). Postponed inside `touches_coalesced()`."""
        pending = _deferred_touches.get()
        if pending is not None and self.pk is not None:
            pending[(type(self), self.pk)] = True
            return
        self.skip_history_when_saving = True
        try:
            self.save(validate=False)
        finally:
            del self.skip_history_when_saving
