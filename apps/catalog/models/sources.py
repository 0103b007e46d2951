import gzip
import hashlib
import re
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from simple_history.models import HistoricalRecords

from apps.catalog.dates import PartialDateField
from apps.catalog.ids import uuid_new


# Only web addresses a reader can open: no javascript:, file:, ftp: or data: links.
HTTP_URL = URLValidator(schemes=["http", "https"],
                        message="Enter a web address starting with http:// or https:// (other kinds of link are refused).")


class Source(models.Model):
    """A document that supports records: an article, a register entry, a court ruling.

    `text` keeps the full text so every quote can be checked against it. A dataset (an
    imported file, possibly millions of lines) keeps its raw file instead, unchanged and
    content-addressed under settings.VENDORGRAPH_IMPORT_DIR (`stored_file`, its SHA-256 in
    `content_hash`); its citations say where their quote is (`Citation.locator`, "line 12")
    and are checked by re-reading that line of the stored file.
    """

    class SourceType(models.TextChoices):
        ARTICLE = "article", "News article / report"
        PRIMARY = "primary", "Primary source (register, court, official statement)"
        DATASET = "dataset", "Dataset"

    uuid = models.UUIDField(default=uuid_new, unique=True, editable=False)
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
    stored_file = models.CharField(max_length=300, blank=True, editable=False,
                                   help_text="A dataset's raw file, relative to VENDORGRAPH_IMPORT_DIR.")
    licence = models.CharField(max_length=200, blank=True)
    retrieved_at = models.DateTimeField(null=True, blank=True, help_text="When a dataset was retrieved.")
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
        if self.text:
            self.content_hash = hashlib.sha256(self.text.encode("utf-8")).hexdigest()
        elif not self.stored_file:
            self.content_hash = ""
        super().save(*args, **kwargs)

    @property
    def checkable(self) -> bool:
        """Whether quotes can be checked against this source (stored text or stored file)."""
        return bool((self.text or "").strip() or self.stored_file)

    def locate(self, quote: str, locator: str = "") -> int | None:
        """Character offset of `quote` in the text (or, for a stored file and a "line N"
        locator, in that line), or None when it is not there verbatim. A JSON locator
        ("line N · /json/pointer · release ID") also needs the stored file, re-read, to
        hold that pointer on that line, inside the release of that id."""
        if not quote:
            return None
        if self.stored_file:
            number, pointer, release = parse_locator(locator)
            line = self.line(number)
            if line is None:
                return None
            index = line.find(quote)
            if index < 0:
                return None
            if pointer is not None and not self.pointer_holds(number, pointer, release):
                return None
            return index
        if not self.text:
            return None
        index = self.text.find(quote)
        return None if index < 0 else index

    def pointer_holds(self, number: int, pointer: str, release: str = "") -> bool:
        """Whether the stored JSON file has `pointer` on line `number` and (when given) an
        ancestor of it whose `id` is `release`. An import sets `_pointer_cache` with the
        locators it has just read from this very file."""
        cache = getattr(self, "_pointer_cache", None)
        if cache is not None and json_locator(number, pointer, release) in cache:
            return True
        from apps.catalog.storedjson import line_at

        found, ids = line_at(Path(settings.VENDORGRAPH_IMPORT_DIR) / self.stored_file, pointer)
        return found == number and (not release or release in {str(v) for v in ids.values()})

    def line(self, number: int | None) -> str | None:
        """Line `number` (from 1) of the stored file, without its line end; None if absent.

        An import sets `_line_cache` ({number: text}) with the lines it has just read from
        this very file, so checking thousands of quotes does not re-read the file each time."""
        if not number or not self.stored_file:
            return None
        cache = getattr(self, "_line_cache", None)
        if cache is not None and number in cache:
            return cache[number]
        path = Path(settings.VENDORGRAPH_IMPORT_DIR) / self.stored_file
        try:
            for index, text in enumerate(stored_file_lines(path), start=1):
                if index == number:
                    return text
        except OSError:
            return None
        return None


_LINE = re.compile(r"^line (\d+)(?: · (/.*?|#))?(?: · release (.+))?$")


def json_locator(line: int, pointer: str, release_id: str = "") -> str:
    """"line 57 · /releases/0/awards/0/value/amount · release ID": where a value of a stored
    JSON file is (its line, its JSON pointer, the id of the OCDS release holding it)."""
    # The whole document (pointer "") is written "#", as in a URI fragment.
    return f"line {line} · {pointer or '#'}" + (f" · release {release_id}" if release_id else "")


def parse_locator(locator: str) -> tuple[int | None, str | None, str]:
    """(line, JSON pointer or None, release id or "") of a citation's locator."""
    match = _LINE.match((locator or "").strip())
    if not match:
        return None, None, ""
    pointer = match.group(2)
    return int(match.group(1)), ("" if pointer == "#" else pointer), match.group(3) or ""


def stored_file_lines(path: Path):
    """The lines of a stored raw file as text, decoded the one way every reader uses:
    gzip is opened transparently, UTF-8 with a leading BOM dropped, line ends removed."""
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        for text in handle:
            yield text.rstrip("\r\n")


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
    locator = models.CharField(max_length=500, blank=True,
                               help_text="Where the quote is in a stored file: 'line 12', or for JSON "
                                         "'line 12 · /json/pointer · release ID'. Empty for texts.")
    start = models.PositiveIntegerField(null=True, blank=True, editable=False,
                                        help_text="Character offset of the quote in the source text.")
    end = models.PositiveIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(no_db_index=["source", "fact"])  # read by entity_id / record_id (see Entity.history)

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
        if self.source_id and self.source.stored_file:
            if self.source.locate(self.quote, self.locator) is None:
                raise ValidationError({"quote": f"This quote is not found at {self.locator or '(no line given)'} "
                                                "of the source's stored file."})
        elif self.source_id and self.source.text and self.source.locate(self.quote) is None:
            raise ValidationError({"quote": "This quote is not found verbatim in the source's text."})

    def save(self, *args, validate: bool = True, **kwargs):
        if validate:
            self.full_clean()
        self.place()
        from django.db import transaction

        with transaction.atomic():
            super().save(*args, **kwargs)
            self._touch_target()

    def place(self) -> None:
        """Where the quote stands in its source (start, end; None when not found): what
        save() and the bulk writes store."""
        position = self.source.locate(self.quote, self.locator)
        self.start = position
        self.end = None if position is None else position + len(self.quote)

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
