"""Curation pages: thin views that check the role, call one service and render.

Every write is a POST behind login + the role's permission (the services check again),
with Django's CSRF protection.
"""
from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.catalog.models import Alias, Entity, Fact, Record
from apps.catalog import services
from apps.curation import roles, selectors
from apps.curation import services as curation_services
from apps.curation.forms import CitationForm, DuplicateForm, RecordForm, SourceForm, TransitionForm, errors_to_form


def curator_required(view):
    """Sign-in first; then any curation role, else 403 (the services check the exact permission)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not roles.is_curator(request.user):
            raise PermissionDenied("Curation needs the editor, reviewer or admin role.")
        return view(request, *args, **kwargs)

    return wrapper


def _obj(kind: str, uuid=None, pk=None):
    if kind == "alias":
        return get_object_or_404(Alias, pk=pk)
    if kind == "fact":
        return get_object_or_404(Fact, pk=pk)
    return get_object_or_404(Record if kind == "record" else Entity, uuid=uuid)


@curator_required
def queue(request):
    return render(request, "curation/queue.html", {**selectors.review_queue(), "role": roles.role_of(request.user)})


@curator_required
def record_new(request):
    form = RecordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            record = services.record_create(user=request.user, **form.service_fields())
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(request, "Draft saved. Add a citation, then submit it for review.")
            return redirect("curation:record_cite", uuid=record.uuid)
    return render(request, "curation/record_form.html", {"form": form, "record": None})


@curator_required
def record_edit(request, uuid):
    record = get_object_or_404(Record, uuid=uuid)
    if not roles.can_change(request.user, record):
        raise PermissionDenied("You may not change this record in its current state.")
    form = RecordForm(request.POST or None, instance=record)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_update(user=request.user, record=record, **form.service_fields())
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(request, "Record saved.")
            return redirect("curation:record_history", uuid=record.uuid)
    return render(request, "curation/record_form.html", {"form": form, "record": record})


@curator_required
def record_cite(request, uuid):
    record = get_object_or_404(Record.objects.select_related("subject", "object"), uuid=uuid)
    form = CitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.citation_create(user=request.user, target=record, **form.cleaned_data)
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(request, "Citation added: the quote was found in the source.")
            return redirect("curation:record_cite", uuid=record.uuid)
    return render(request, "curation/record_cite.html", {
        "form": form, "record": record, "citations": record.citations.select_related("source"),
        "can_publish": roles.can_publish(request.user, record),
    })


@curator_required
def source_new(request):
    form = SourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            source = services.source_create(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(request, f"Source “{source.title}” added.")
            return redirect("citations:source", uuid=source.uuid)
    return render(request, "curation/source_form.html", {"form": form})


@require_POST
@curator_required
def transition(request, kind, uuid=None, pk=None):
    obj = _obj(kind, uuid, pk)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Unknown workflow step.")
    else:
        try:
            services.workflow_transition(user=request.user, obj=obj, to=form.cleaned_data["to"],
                                         reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            messages.error(request, "Not done: " + " ".join(f"{k}: {'; '.join(v)}" for k, v in exc.message_dict.items()))
        else:
            messages.success(request, f"{obj} is now {obj.get_workflow_display()}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = reverse("curation:queue")
    return redirect(target)


@curator_required
def history(request, kind, uuid):
    obj = _obj(kind, uuid)
    return render(request, "curation/history.html", {
        "obj": obj, "kind": kind, "entries": selectors.object_history(obj),
        "can_revert": roles.can_change(request.user, obj),
        "merges": selectors.merges_splittable(kept=obj) if kind == "entity" else [],
        "can_merge": roles.can_merge(request.user),
    })


@require_POST
@curator_required
def merge_split(request, pk):
    """Split a merged entity off again (admins: the service checks)."""
    from apps.curation.models import MergeDecision

    decision = get_object_or_404(MergeDecision, pk=pk)
    try:
        restored = services.entity_split(user=request.user, decision=decision,
                                         note=request.POST.get("note", "")[:2000])
    except ValidationError as exc:
        messages.error(request, "Not split: " + " ".join(exc.messages))
    else:
        messages.success(request, f"Split {restored.name} off again; the pair is recorded as not the same.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = reverse("curation:duplicates")
    return redirect(target)


@require_POST
@curator_required
def revert(request, kind, uuid, history_id):
    obj = _obj(kind, uuid)
    try:
        services.revision_revert(user=request.user, obj=obj, history_id=history_id)
    except ValidationError as exc:
        messages.error(request, "Not reverted: " + " ".join(f"{k}: {'; '.join(v)}" for k, v in exc.message_dict.items()))
    else:
        messages.success(request, f"Reverted to revision {history_id}: saved as version {obj.version}.")
    return redirect("curation:" + ("record_history" if kind == "record" else "entity_history"), uuid=uuid)


@curator_required
def duplicates(request):
    after = request.GET.get("after", "")[:64]
    page = selectors.duplicate_page(after=after)
    return render(request, "curation/duplicates.html", {
        "candidates": page.candidates, "next_after": page.next_after, "after": after,
        "decisions": selectors.decisions(),
        "can_merge": roles.can_merge(request.user),
    })


@require_POST
@curator_required
def duplicate_decide(request):
    form = DuplicateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not done: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        return redirect("curation:duplicates")
    a = get_object_or_404(Entity, uuid=form.cleaned_data["a"])
    b = get_object_or_404(Entity, uuid=form.cleaned_data["b"])
    verdict, note = form.cleaned_data["verdict"], form.cleaned_data["note"]
    try:
        if verdict == "different":
            curation_services.merge_decision_record(user=request.user, a=a, b=b, verdict="different", note=note)
            messages.success(request, f"Recorded: {a.name} and {b.name} are not the same.")
        else:
            keep, merge = (a, b) if verdict == "merge_into_a" else (b, a)
            merged_name = merge.name
            services.entity_merge(user=request.user, keep=keep, merge=merge, note=note)
            messages.success(request, f"Merged {merged_name} into {keep.name}.")
    except ValidationError as exc:
        messages.error(request, "Not merged: " + " ".join(exc.messages))
    return redirect("curation:duplicates")
