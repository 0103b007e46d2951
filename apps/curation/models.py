"""What curators decided about pairs of entities, so a settled pair is not proposed again."""
from django.conf import settings
from django.db import models


class MergeDecision(models.Model):
    """A reviewed pair of entities: the same (merged) or not the same.

    The pair is kept by uuid and name, not by foreign key: after a merge one of the two
    no longer exists, and the decision must outlive it. `entity_a` < `entity_b` (by uuid
    string) so each pair has one row whatever the order it was proposed in.
    """

    class Verdict(models.TextChoices):
        SAME = "same", "The same (merged)"
        DIFFERENT = "different", "Not the same"

    entity_a = models.UUIDField(db_index=True)
    entity_b = models.UUIDField(db_index=True)
    name_a = models.CharField(max_length=500)
    name_b = models.CharField(max_length=500)
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    kept = models.UUIDField(null=True, blank=True, help_text="For a merge: the entity that was kept.")
    note = models.TextField(blank=True)
    # For a merge: what it moved and removed, so that it can be split again
    # (apps.catalog.services.entity_merge writes it, entity_split reads it). Emptied by the split.
    undo = models.JSONField(default=dict, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-decided_at"]
        constraints = [
            models.UniqueConstraint(fields=["entity_a", "entity_b"], name="merge_decision_unique_pair"),
            models.CheckConstraint(condition=models.Q(entity_a__lt=models.F("entity_b")), name="merge_decision_ordered"),
        ]

    @property
    def splittable(self) -> bool:
        return self.verdict == self.Verdict.SAME and bool(self.undo)

    def __str__(self):
        return f"{self.name_a} / {self.name_b}: {self.get_verdict_display()}"

    @staticmethod
    def ordered(a, b):
        """The pair's canonical order: ((uuid, name), (uuid, name)) with the smaller uuid first."""
        return tuple(sorted([a, b], key=lambda pair: str(pair[0])))
