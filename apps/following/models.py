from django.conf import settings
from django.db import models


class Follow(models.Model):
    """A signed-in user follows an entity: the daily digest lists the entity's new and
    changed published records since `notified_at` (the last digest that covered it)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows")
    entity = models.ForeignKey("catalog.Entity", on_delete=models.CASCADE, related_name="followers")
    created_at = models.DateTimeField(auto_now_add=True)
    notified_at = models.DateTimeField(help_text="Changes after this moment go into the next digest.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "entity"], name="follow_once")]
        ordering = ["entity__name"]

    def __str__(self):
        return f"{self.user} follows {self.entity}"
