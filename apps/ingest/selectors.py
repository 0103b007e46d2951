"""Reads of import jobs: the summary the command prints and the job page shows."""
from __future__ import annotations

from django.db import models

from apps.ingest.models import ImportJob


def import_job_summary(*, job: ImportJob, limit: int = 20) -> str:
    """A plain-text summary: the counts, the refused rows and dangling references (the first
    `limit` of each), and what the mapping kept without a column of its own."""
    lines = [f"{job.original_name} ({job.format}, dataset {job.dataset!r}, sha256 {job.file_sha256[:16]}…): "
             f"{job.get_status_display().lower()}"]
    if job.error:
        lines.append(f"  refused: {job.error}")
        return "\n".join(lines)
    lines.append(f"  rows: {job.rows_read} read of {job.rows_total}, {job.rows_refused} refused")
    for noun in ("entities", "records"):
        counts = {word: getattr(job, f"{noun}_{word}") for word in ("created", "changed", "unchanged", "ended")}
        lines.append(f"  {noun}: " + ", ".join(f"{n} {word}" for word, n in counts.items()))
    if job.status == ImportJob.Status.DONE and not job.changed_anything:
        lines.append("  nothing changed")
    refused = list(job.refused_rows.all()[:limit])
    for row in refused:
        lines.append(f"  refused line {row.line}" + (f", {row.field}" if row.field else "") + f": {row.reason}")
    if job.rows_refused > len(refused):
        lines.append(f"  … and {job.rows_refused - len(refused)} more refused rows")
    if job.dangling:
        lines.append(f"  dangling references (kept unresolved): {job.dangling}")
        for ref in job.dangling_refs.all()[:limit]:
            lines.append(f"    line {ref.line}, {ref.field}: {ref.ref}")
    unmapped = job.unmapped or {}
    labels = {"matched": "joined to entities we already had, by",
              "schemas": "schemas without a noun of ours (kept as facts on the entities they name)",
              "identifiers": "kept as identifiers", "facts": "kept as facts",
              "attributes": "kept as record attributes", "notes": "noted"}
    for bucket, label in labels.items():
        if unmapped.get(bucket):
            listed = ", ".join(f"{k} ({n})" for k, n in sorted(unmapped[bucket].items()))
            lines.append(f"  {label}: {listed}")
    return "\n".join(lines)


def match_queue(*, limit: int = 100):
    """Proposed matches waiting for a judgement, best first, with both entities."""
    from apps.ingest.models import MatchCandidate

    return (MatchCandidate.objects.filter(status=MatchCandidate.Status.PENDING)
            .select_related("entity", "candidate", "job")
            .prefetch_related("entity__aliases", "candidate__aliases", "entity__fact_set", "candidate__fact_set")[:limit])


def match_judged(*, limit: int = 50):
    from apps.ingest.models import MatchCandidate

    return (MatchCandidate.objects.exclude(status=MatchCandidate.Status.PENDING)
            .select_related("entity", "candidate", "decided_by").order_by("-decided_at")[:limit])


def import_job_batch(*, job: ImportJob, page: int = 1, per_page: int = 50):
    """The rows of a finished job's batch (what its items became), entities first, one page at a
    time, each with its review state, for a reviewer to publish some of them."""
    from django.core.paginator import Paginator

    from apps.ingest.models import ImportedItem

    items = (ImportedItem.objects.filter(dataset=job.dataset, last_job=job)
             .filter(models.Q(entity__isnull=False) | models.Q(record__isnull=False))
             .select_related("entity", "record", "record__subject", "record__object")
             .order_by(models.F("record_id").asc(nulls_first=True), "pk"))
    return Paginator(items, per_page).get_page(page)


def mapping_joins(*, limit: int = 100):
    """Joins mappings asked for (exact name), newest first, with both entities."""
    from apps.ingest.models import MappingJoin

    return MappingJoin.objects.select_related("entity", "split", "job", "undone_by")[:limit]
