"""Import pages (editors and up): start a job, watch it, cancel it. Thin: one service each."""
from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.curation.forms import errors_to_form
from apps.curation.views import curator_required
from apps.ingest.forms import ImportForm
from apps.curation import roles
from apps.ingest.models import ImportJob, MappingJoin, MatchCandidate, TrustedDataset
from apps.ingest.selectors import import_job_batch, mapping_joins, match_judged, match_queue
from apps.ingest.services import (ImportRefused, dataset_trust, import_job_cancel, import_job_create,
                                  import_job_publish, match_decide)
from apps.ingest.services import mapping_join_undo as join_undo

log = logging.getLogger(__name__)


@curator_required
def job_list(request):
    jobs = ImportJob.objects.select_related("started_by")[:50]
    return render(request, "ingest/job_list.html", {"jobs": jobs})


@curator_required
def job_new(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = import_job_create(user=request.user, upload=data["file"], dataset=data["dataset"],
                                    fmt=data["format"], publisher=data["publisher"], licence=data["licence"],
                                    url=data["url"], publish=data["publish"], mapping_upload=data.get("mapping"),
                                    max_bytes=settings.VENDORGRAPH_IMPORT_UPLOAD_MAX)
        except ValidationError as exc:
            errors_to_form(form, exc)
        except (ImportRefused, PermissionDenied) as exc:
            form.add_error(None, str(exc))
        else:
            _queue(job)
            return redirect("ingest:job", uuid=job.uuid)
    return render(request, "ingest/job_new.html", {"form": form})


def _queue(job: ImportJob) -> None:
    from apps.ingest.tasks import import_job_run_task

    try:
        import_job_run_task.apply_async(args=[job.pk], retry=False)
    except Exception as exc:  # noqa: BLE001 - the broker is down: say so on the job page
        log.warning("could not queue import job %s: %s", job.pk, exc)
        job.error = "The job could not be queued (the task queue is unavailable); start it again later."
        job.save(update_fields=["error"])


@curator_required
def job_detail(request, uuid):
    job = get_object_or_404(ImportJob, uuid=uuid)
    template = "ingest/_progress.html" if request.htmx else "ingest/job_detail.html"
    batch = None
    if job.status == ImportJob.Status.DONE and not request.htmx:
        batch = import_job_batch(job=job, page=request.GET.get("page") or 1)
    return render(request, template, {"job": job, "refused": job.refused_rows.all()[:200], "batch": batch,
                                      "dangling": job.dangling_refs.all()[:200],
                                      "can_publish": request.user.has_perm("catalog.publish_record"),
                                      "trusted": TrustedDataset.objects.filter(dataset=job.dataset).first()})


@require_POST
@curator_required
def job_cancel(request, uuid):
    job = get_object_or_404(ImportJob, uuid=uuid)
    import_job_cancel(user=request.user, job=job)
    messages.info(request, "Cancelling: the rows already written stay (as drafts); nothing more is read.")
    return redirect("ingest:job", uuid=job.uuid)


@require_POST
@curator_required
def job_publish(request, uuid):
    job = get_object_or_404(ImportJob, uuid=uuid)
    chosen = request.POST.getlist("item") if request.POST.get("scope") == "chosen" else None
    try:
        kept = import_job_publish(user=request.user, job=job, items=chosen)
    except ValidationError as exc:
        messages.error(request, "Not published: " + " ".join(exc.messages))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        what = "the chosen rows" if chosen is not None else "the import's batch"
        messages.success(request, f"Published {what}." + (
            f" {kept} item(s) stay drafts: the publishing rules refused them." if kept else ""))
    return redirect("ingest:job", uuid=job.uuid)


@curator_required
def matches(request):
    from apps.curation.selectors import merges_splittable

    return render(request, "ingest/matches.html", {"pending": match_queue(), "judged": match_judged(),
                                                   "merges": merges_splittable(),
                                                   "joins": mapping_joins(),
                                                   "can_merge": roles.can_merge(request.user)})


@require_POST
@curator_required
def match_judge(request, pk):
    match = get_object_or_404(MatchCandidate, pk=pk)
    verdict, note = request.POST.get("verdict", ""), request.POST.get("note", "")[:2000]
    names = (match.entity.name, match.candidate.name)
    try:
        match_decide(user=request.user, match=match, verdict=verdict, note=note)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, "Not done: " + " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, f"Recorded: {names[0]} / {names[1]}: {MatchCandidate.Status(verdict).label}.")
    return redirect("ingest:matches")


@require_POST
@curator_required
def mapping_join_undo(request, pk):
    join = get_object_or_404(MappingJoin, pk=pk)
    try:
        apart = join_undo(user=request.user, join=join)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, "Not done: " + " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, f"Kept apart: {apart.name} ({join.dataset}) now has an entity of its own.")
    return redirect("ingest:matches")


@require_POST
@curator_required
def job_trust(request, uuid):
    job = get_object_or_404(ImportJob, uuid=uuid)
    trusted = request.POST.get("trusted") == "1"
    try:
        dataset_trust(user=request.user, dataset=job.dataset, trusted=trusted)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{job.dataset}: " + ("its later imports publish directly." if trusted
                                                          else "its later imports arrive as drafts."))
    return redirect("ingest:job", uuid=job.uuid)
