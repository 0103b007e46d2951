import hashlib
import uuid

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from simple_history.models import HistoricalRecords

from apps.catalog.dates import PartialDateField


# Only web addresses a reader can open: no javascript:, file:, ftp: or data: links.
HTTP_URL = URLValidator(schemes=["http", "https"],
                        message="Enter a web address starting with http:// or https:// (other kinds of link are refused).")


class Source(models.Model):
    """A document that supports records: an article, a register entry, a court ruling.

    `text` keeps the full text so every quote can be checked against it.
    """

    class SourceType(models.TextChoices):
        ARTICLE = "article", "News article / report"
        PRIMARY = "primary", "Primary source (register, court, official statement)"
        DATASET = "dataset", "Dataset"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    key = models.SlugField(max_length=100, unique=True, null=True, blank=True,
                           help_text="Stable key used by curated data files.")
    title = models.CharField(max_length=500)
    publisher = models.CharField(max_length=300, blank=True)
    author = models.CharField(max_length=300, blank=True)
    published = PartialDateField(help_text="Only what the document states: YYYY, YYYY-MM or YYYY-MM-DD.")
    url = models.URLField(max_length=1000, blank=True, validators=[HTTP_URL])
    language = models.CharField(max_length=8, blank=True)
    source_type = models.CharField(max_length=16, choices=SourceType.choices, default=SourceType.ARTICLE)
    text = models.TextField(blank=True)
    content_hash = models.CharField(max_length=64, blank=True, editable=False)
    metadata_quotes = models.JSONField(default=dict, blank=True,
                                       help_text="Quotes from the text that support its own metadata, by field.")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title

    def clean(self):
        for field, quotes in (self.metadata_quotes or {}).items():
            for quote in [quotes] if isinstance(quotes, str) else quotes:
                if quote and quote not in self.text:
                    raise ValidationError({"metadata_quotes": f"The quote for {field!r} is not in the source's text."})

    def save(self, *args, **kwargs):
        self.content_hash = hashlib.sha256(self.text.encode("utf-8")).hexdigest() if self.text else ""
        super().save(*args, **kwargs)

    def locate(self, quote: str) -> int | None:
        """Character offset of `quote` in the text, or None when it is not there verbatim."""
        if not quote or not self.text:
            return None
        index = self.text.find(quote)
        return None if index < 0 else index


class Citation(models.Model):
    """Ties one record, or one fact of an entity, to a source with the exact quote."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="citations")
    record = models.ForeignKey("catalog.Record", on_delete=models.CASCADE, null=True, blank=True,
                               related_name="citations")
    entity = models.ForeignKey("catalog.Entity", on_delete=models.CASCADE, null=True, blank=True,
                               related_name="citations")
    # A citation of one fact of an entity also names that fact (its entity stays set, so an
    # entity's citations are all found in one place).
    fact = models.ForeignKey("catalog.Fact", on_delete=models.CASCADE, null=True, blank=True, related_name="citations")
    field = models.CharField(max_length=100, blank=True,
                             help_text="Which fact it supports: empty for the whole record/entity, "
                                       "'alias:<name>', 'fact:<name>', 'amount', 'start', ...")
    quote = models.TextField()
    start = models.PositiveIntegerField(null=True, blank=True, editable=False,
                                        help_text="Character offset of the quote in the source text.")
    end = models.PositiveIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(record__isnull=False, entity__isnull=True)
                | models.Q(record__isnull=True, entity__isnull=False),
                name="citation_one_target",
            )
        ]

    def __str__(self):
        return f"{self.source}: “{self.quote[:60]}”"

    @property
    def found(self) -> bool:
        return self.start is not None

    def clean(self):
        # The target may be an unsaved instance (an admin inline validated before its parent is saved).
        if (self.record is None) == (self.entity is None):
            raise ValidationError("A citation supports exactly one record or one entity.")
        if self.fact is not None and self.fact.entity_id != self.entity_id:
            raise ValidationError({"fact": "This fact belongs to another entity."})
        if not (self.quote or "").strip():
            raise ValidationError({"quote": "The quote is required."})
        if self.source_id and self.source.text and self.source.locate(self.quote) is None:
            raise ValidationError({"quote": "This quote is not found verbatim in the source's text."})

    def save(self, *args, validate: bool = True, **kwargs):
        if validate:
            self.full_clean()
        position = self.source.locate(self.quote)
        self.start = position
        self.end = None if position is None else position + len(self.quote)
        from django.db import transaction

        with transaction.atomic():
            super().save(*args, **kwargs)
            self._touch_target()

    def delete(self, *args, **kwargs):
        from django.db import transaction

        with transaction.atomic():
            result = super().delete(*args, **kwargs)
            self._touch_target()
        return result

    def _touch_target(self):
        # The graph carries sources and evidence strength, so the target is re-projected.
        target = self.record if self.record_id else self.entity
        if target is not None and target.pk is not None and type(target)._base_manager.filter(pk=target.pk).exists():
            target.touch()
