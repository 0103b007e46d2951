"""Import jobs: one run of one file of a published dataset, with what it refused and what it
left unresolved, and the map from the dataset's own ids to our entities and records."""

from django.db import models

from apps.catalog.ids import uuid_new


class ImportJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        REFUSED = "refused", "Refused"  # the file as a whole: nothing written
        FAILED = "failed", "Failed"
        CANCELLING = "cancelling", "Cancelling"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.DONE, Status.REFUSED, Status.FAILED, Status.CANCELLED)

    uuid = models.UUIDField(default=uuid_new, unique=True, editable=False)
    format = models.CharField(max_length=16, default="ftm", help_text="ftm, ocds, bods or csv (apps.ingest.formats).")
    dataset = models.CharField(max_length=200, help_text="The dataset's name; its items are matched across imports by it.")
    publisher = models.CharField(max_length=300, blank=True)
    licence = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=1000, blank=True)
    publish = models.BooleanField(default=False, help_text="Publish what is imported (under the usual rules).")
    original_name = models.CharField(max_length=300, blank=True)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    stored_file = models.CharField(max_length=300, help_text="Relative to VENDORGRAPH_IMPORT_DIR.")
    source = models.ForeignKey("catalog.Source", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    error = models.TextField(blank=True, help_text="Why the file was refused as a whole, or why the job failed.")
    started_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    rows_total = models.PositiveIntegerField(default=0)
    rows_read = models.PositiveIntegerField(default=0)
    rows_refused = models.PositiveIntegerField(default=0)
    entities_created = models.PositiveIntegerField(default=0)
    entities_changed = models.PositiveIntegerField(default=0)
    entities_unchanged = models.PositiveIntegerField(default=0)
    entities_ended = models.PositiveIntegerField(default=0)
    records_created = models.PositiveIntegerField(default=0)
    records_changed = models.PositiveIntegerField(default=0)
    records_unchanged = models.PositiveIntegerField(default=0)
    records_ended = models.PositiveIntegerField(default=0)
    dangling = models.PositiveIntegerField(default=0)
    # What the mapping kept without a column of its own, and what it could not map:
    # {"facts": {prop: n}, "identifiers": {prop: n}, "attributes": {prop: n}, "schemas": {schema: n}}
    unmapped = models.JSONField(default=dict, blank=True)
    # What the format reads besides the file: {"mapping_name", "mapping_text"} for a CSV list.
    options = models.JSONField(default=dict, blank=True)
    # A worker running the job renews this with every chunk it commits; a RUNNING job whose
    # heartbeat is older than IMPORT_JOB_LEASE_SECONDS lost its worker and is queued again
    # (apps.ingest.services.import_jobs_resume), and a second delivery of the task meanwhile
    # leaves a job with a fresh heartbeat alone.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Where the last committed chunk ended: {"pass": i, "rows": n} (the first n rows the
    # pass takes were written), committed in the chunk's own transaction, so a run that
    # comes back after a crash resumes there and never writes a chunk twice.
    checkpoint = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.dataset} ({self.original_name or self.file_sha256[:12]})"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.rows_read / self.rows_total) if self.rows_total else 0

    @property
    def changed_anything(self) -> bool:
        return bool(self.entities_created or self.entities_changed or self.entities_ended or self.records_created
                    or self.records_changed or self.records_ended)


class RefusedRow(models.Model):
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="refused_rows")
    line = models.PositiveIntegerField()
    field = models.CharField(max_length=200, blank=True)
    reason = models.TextField()

    class Meta:
        ordering = ["line", "id"]

    def __str__(self):
        return f"line {self.line}, {self.field or '-'}: {self.reason}"


class DanglingReference(models.Model):
    """A reference to an id that is neither in the file nor imported before: kept, never invented."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="dangling_refs")
    line = models.PositiveIntegerField()
    field = models.CharField(max_length=200)
    ref = models.CharField(max_length=300)

    class Meta:
        ordering = ["line", "id"]


class ImportedItem(models.Model):
    """Which entity or record a dataset's item became (by the dataset's own id), so that a
    later import of the same dataset updates it, and an item missing from a newer export is
    ended instead of deleted."""

    dataset = models.CharField(max_length=200)
    external_id = models.CharField(max_length=300)
    schema = models.CharField(max_length=64)
    entity = models.ForeignKey("catalog.Entity", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    record = models.ForeignKey("catalog.Record", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    first_job = models.ForeignKey(ImportJob, null=True, on_delete=models.SET_NULL, related_name="+")
    last_job = models.ForeignKey(ImportJob, null=True, on_delete=models.SET_NULL, related_name="+")
    line_sha256 = models.CharField(max_length=64)
    # Whether the entity was made from this item (so the item's name, country and ids are its
    # own) rather than joined to an entity we had (whose own name and ids stay).
    owns_entity = models.BooleanField(default=False)
    ended_at = models.DateTimeField(null=True, blank=True, help_text="No longer listed since this import.")
    ended_job = models.ForeignKey(ImportJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "external_id"], name="imported_item_unique")]
        indexes = [models.Index(fields=["dataset", "last_job"], name="imported_item_last_job")]

    def __str__(self):
        return f"{self.dataset}:{self.external_id}"


class MatchCandidate(models.Model):
    """An imported entity that may be one we already had (similar name, same kind, agreeing
    country), waiting on /curation/matches/ for a curator's judgement. Nothing merges on a
    name alone: "same" merges through the catalogue's merge service (recorded as a
    MergeDecision), "different" is recorded there too so the pair never comes back."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        SAME = "same", "The same (merged)"
        DIFFERENT = "different", "Not the same"
        UNSURE = "unsure", "Unsure"

    job = models.ForeignKey(ImportJob, null=True, on_delete=models.SET_NULL, related_name="matches")
    entity = models.ForeignKey("catalog.Entity", on_delete=models.CASCADE, related_name="+",
                               help_text="The imported entity.")
    candidate = models.ForeignKey("catalog.Entity", on_delete=models.CASCADE, related_name="+",
                                  help_text="The entity we already had.")
    score = models.FloatField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    note = models.TextField(blank=True)
    decided_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "id"]
        constraints = [models.UniqueConstraint(fields=["entity", "candidate"], name="match_candidate_unique")]

    def __str__(self):
        return f"{self.entity} ~ {self.candidate} ({self.score:.0f})"


class TrustedDataset(models.Model):
    """A dataset whose later imports publish what they import, as the reviewer who trusted it
    (under the usual publishing rules)."""

    dataset = models.CharField(max_length=200, unique=True)
    trusted_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, related_name="+")
    trusted_at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)

    def __str__(self):
        return self.dataset


class MappingJoin(models.Model):
    """An entity of a list joined to one of ours because the list's mapping asks for it
    (`match: exact-name`): the name was exactly ours and unique, the kind agreed and so did
    the country (or one side had none). Recorded, shown on /curation/matches/ as "joined by
    exact name, from the mapping", and undoable: an admin keeps them apart, and the list's
    item, names, facts and records move to an entity of its own."""

    class Status(models.TextChoices):
        JOINED = "joined", "Joined by exact name, from the mapping"
        UNDONE = "undone", "Kept apart (join undone)"

    job = models.ForeignKey(ImportJob, null=True, on_delete=models.SET_NULL, related_name="mapping_joins")
    dataset = models.CharField(max_length=100)
    external_id = models.CharField(max_length=300, help_text="The list's id of the joined item.")
    entity = models.ForeignKey("catalog.Entity", on_delete=models.CASCADE, related_name="+",
                               help_text="Ours, which the list's item joined.")
    imported_name = models.CharField(max_length=500)
    kind = models.CharField(max_length=32)
    country = models.CharField(max_length=2, blank=True)
    # The row that made the join: the entity made on undo cites it.
    quote = models.TextField()
    locator = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.JOINED, db_index=True)
    split = models.ForeignKey("catalog.Entity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              help_text="The entity of its own the item got when the join was undone.")
    undone_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    undone_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["dataset", "external_id"], name="mapping_join_unique")]

    def __str__(self):
        return f"{self.imported_name} ({self.dataset}) → {self.entity}"
