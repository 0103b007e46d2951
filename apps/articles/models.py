from django.db import models

from apps.catalog.vocab import RecordKind


class Article(models.Model):
    """An article taken in: its Source (text, hash, metadata) plus what the intake found in it."""

    source = models.OneToOneField("catalog.Source", on_delete=models.CASCADE, related_name="article")
    filename = models.CharField(max_length=300, blank=True)
    format = models.CharField(max_length=8, default="text")  # text | html | pdf
    notes = models.JSONField(default=list, blank=True, help_text="What the reader said about the file.")
    mentions = models.JSONField(default=list, blank=True, help_text="Mentions with their offsets in the text.")
    used_model = models.BooleanField(default=False, help_text="Whether the named-entity model read it.")
    created_by = models.ForeignKey("auth.User", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.source.title


class Proposal(models.Model):
    """A record the intake proposes from one sentence; the quote is text[start:end] exactly."""

    class State(models.TextChoices):
        PENDING = "pending", "Proposed"
        ACCEPTED = "accepted", "Accepted"
        CORROBORATED = "corroborated", "Added as a further source"
        REJECTED = "rejected", "Rejected"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="proposals")
    kind = models.CharField(max_length=16, choices=RecordKind.choices)
    subject_name = models.CharField(max_length=500)
    subject_kind = models.CharField(max_length=16, blank=True)
    subject_entity = models.ForeignKey("catalog.Entity", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")
    object_name = models.CharField(max_length=500)
    object_kind = models.CharField(max_length=16, blank=True)
    object_entity = models.ForeignKey("catalog.Entity", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    site_entity = models.ForeignKey("catalog.Entity", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    date = models.CharField(max_length=10, blank=True)
    amount = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    signal = models.CharField(max_length=100, blank=True, help_text="The words that suggested the kind.")
    quote = models.TextField()
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    matches = models.ForeignKey("catalog.Record", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                help_text="An existing record this proposal states again (corroboration).")
    record = models.ForeignKey("catalog.Record", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                               help_text="The record it became (accepted) or was added to (corroborated).")
    decided_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["start", "id"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.subject_name} → {self.object_name}"
