"""Pages and files for journalists: record permalinks and revisions, cite, sources, exports.

Anonymous readers see published data only; curators also see drafts (marked). A
retracted record's permalink answers 410 Gone with a notice, so old links explain
themselves instead of breaking.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json

from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from apps.catalog.ids import uuid_short
from apps.catalog.models import Entity, Record, Source
from apps.catalog.vocab import Workflow
from apps.citations import cite, exports, selectors
from apps.curation.roles import is_curator
from apps.catalog.selectors import browse as catalog_browse
from apps.catalog.selectors.browse import GraphTimeout, GraphUnavailable
from apps.catalog.selectors.search import entities_matching
from apps.catalog.selectors.visibility import (
    entity_visible_to,
    public_citations,
    public_entities,
    public_sources,
    record_visible_to,
    related_if_public,
)
from apps.web.limits import rate_limited


def _record_or_404(request, uuid) -> Record:
    record = get_object_or_404(selectors.records_for_display(Record.objects.all()), uuid=uuid)
    if record.workflow == Workflow.RETRACTED and not is_curator(request.user):
        raise _Gone(record)
    if not record_visible_to(record, request.user):
        raise Http404("No such record.")
    return record


class _Gone(Exception):
    def __init__(self, record):
        self.record = record


def _gone(request, record):
    return render(request, "citations/retracted.html", {"record": record}, status=410)


def record_claim(request, record: Record) -> cite.Claim:
    latest = record.history.order_by("-history_date", "-history_id").first()
    evidence = selectors.record_evidence(record)
    return cite.Claim(
        key=f"vg-{uuid_short(record.uuid)}",
        text=cite.record_claim_text(record),
        citations=[c for c in record.citations.all()],
        permalink=request.build_absolute_uri(reverse("citations:record", args=[record.uuid])),
        revision_link=request.build_absolute_uri(
            reverse("citations:record_revision", args=[record.uuid, latest.history_id])) if latest else "",
        version=record.version,
        evidence=evidence.summary,
    )


def record_permalink(request, uuid):
    try:
        record = _record_or_404(request, uuid)
    except _Gone as gone:
        return _gone(request, gone.record)
    public_only = not is_curator(request.user)
    claim = record_claim(request, record)
    return render(request, "citations/record.html", {
        "record": record, "evidence": selectors.record_evidence(record), "claim": claim,
        "related": record.related if not public_only else related_if_public(record),
        "cite_text": cite.cite_text(claim, accessed=timezone.localdate()),
        "revisions": selectors.record_revisions(record, public_only=public_only)[:100],
        "grouped": cite._grouped(claim.citations),
    })


def record_revision(request, uuid, history_id):
    try:
        record = _record_or_404(request, uuid)
    except _Gone as gone:
        return _gone(request, gone.record)
    public_only = not is_curator(request.user)
    revisions = selectors.record_revisions(record, public_only=public_only)
    revision = get_object_or_404(revisions, history_id=history_id)
    latest = revisions.first()
    return render(request, "citations/revision.html", {
        "record": record, "revision": revision, "is_latest": latest and latest.history_id == revision.history_id,
        "revisions": revisions[:100],
        "revision_subject": Entity._base_manager.filter(pk=revision.subject_id).first(),
        "revision_object": Entity._base_manager.filter(pk=revision.object_id).first(),
    })


_FORMATS = {"text": "text/plain; charset=utf-8", "csl": "application/vnd.citationstyles.csl+json",
            "bibtex": "application/x-bibtex; charset=utf-8"}


def _cite_response(request, claim: cite.Claim, context: dict):
    fmt = request.GET.get("format", "html")
    accessed = timezone.localdate()
    if fmt == "text":
        return HttpResponse(cite.cite_text(claim, accessed=accessed), content_type=_FORMATS["text"])
    if fmt == "csl":
        return JsonResponse(cite.cite_csl(claim, accessed=accessed), safe=False, content_type=_FORMATS["csl"],
                            json_dumps_params={"ensure_ascii": False, "indent": 2})
    if fmt == "bibtex":
        return HttpResponse(cite.cite_bibtex(claim, accessed=accessed), content_type=_FORMATS["bibtex"])
    if fmt != "html":
        return HttpResponseBadRequest("format: use text, csl or bibtex (or nothing for the HTML page).")
    context = {**context, "claim": claim, "cite_text": cite.cite_text(claim, accessed=accessed),
               "csl": json.dumps(cite.cite_csl(claim, accessed=accessed), ensure_ascii=False, indent=2),
               "bibtex": cite.cite_bibtex(claim, accessed=accessed)}
    template = "citations/partials/cite.html" if request.htmx else "citations/cite.html"
    return render(request, template, context)


def cite_record(request, uuid):
    try:
        record = _record_or_404(request, uuid)
    except _Gone as gone:
        return _gone(request, gone.record)
    return _cite_response(request, record_claim(request, record), {"record": record})


def cite_entity(request, uuid):
    """Cite one fact of an entity: `?fact=` '' (the entity), 'alias:<name>', 'fact:<name>'."""
    entity = get_object_or_404(Entity, uuid=uuid)
    if not entity_visible_to(entity, request.user):
        raise Http404("No such entity.")
    fact = request.GET.get("fact", "")
    visible = entity.citations.all() if is_curator(request.user) else public_citations().filter(entity=entity)
    citations = list(visible.filter(field=fact).select_related("source", "fact"))
    if fact and not citations:
        raise Http404("No citation supports this fact.")
    latest = entity.history.order_by("-history_date", "-history_id").first()
    claim = cite.Claim(
        key=f"vg-{uuid_short(entity.uuid)}" + (f"-{hashlib.sha1(fact.encode()).hexdigest()[:6]}" if fact else ""),
        text=cite.entity_fact_text(entity, fact, citations),
        citations=citations,
        permalink=request.build_absolute_uri(_entity_url(entity)),
        version=entity.version if latest else None,
    )
    return _cite_response(request, claim, {"entity": entity, "fact": fact})


def _entity_url(entity: Entity) -> str:
    """The entity's public page (the browsing UI's), else its API resource."""
    from django.urls import NoReverseMatch

    for name in ("browse:entity", "entities:detail", "web:entity"):
        try:
            return reverse(name, args=[entity.uuid])
        except NoReverseMatch:
            continue
    return reverse("api:entity-detail", args=[entity.uuid])


def source_list(request):
    sources = (Source.objects if is_curator(request.user) else public_sources()).order_by("title")
    return render(request, "citations/source_list.html", {"sources": sources})


def source_detail(request, uuid):
    source = get_object_or_404(Source.objects if is_curator(request.user) else public_sources(), uuid=uuid)
    page = selectors.source_page(source, public_only=not is_curator(request.user))
    return render(request, "citations/source.html", {"source": source, **page})


# --- exports -------------------------------------------------------------------------------

MAX_EXPORT_RECORDS = 20000


def _export_response(bundle: exports.Bundle, fmt: str, name: str) -> HttpResponse:
    body = exports.render(bundle, fmt)
    response = HttpResponse(body, content_type=exports.FORMATS[fmt])
    stamp = dt.date.today().isoformat()
    response["Content-Disposition"] = f'attachment; filename="vendorgraph-{name}-{stamp}.{exports.EXTENSIONS[fmt]}"'
    return response


@rate_limited("exports")
def export_entity(request, uuid, fmt):
    """An entity's neighbourhood (records within `?depth=` 1 or 2 hops, from Neo4j)."""
    entity = get_object_or_404(public_entities(), uuid=uuid)
    try:
        depth = int(request.GET.get("depth", "1"))
    except ValueError:
        return HttpResponseBadRequest("depth: a whole number, 1 or 2.")
    if depth not in (1, 2):
        return HttpResponseBadRequest("depth: 1 or 2.")
    try:
        records = list(catalog_browse.neighbourhood_records(entity, depth=depth)[:MAX_EXPORT_RECORDS])
    except GraphTimeout:
        return HttpResponse("This neighbourhood took too long to collect: try depth=1.", status=503,
                            content_type="text/plain")
    except GraphUnavailable:
        return HttpResponse("The graph is unavailable right now; try again shortly.", status=503,
                            content_type="text/plain")
    bundle = exports.bundle_build(records, extra_entities=[entity])
    return _export_response(bundle, fmt, entity.key or uuid_short(entity.uuid))


@rate_limited("exports")
def export_search(request, fmt):
    """The entities matching `?q=` with their published records."""
    q = request.GET.get("q", "").strip()
    if not q:
        return HttpResponseBadRequest("q: say what to search for.")
    matched = entities_matching(q)
    records = catalog_browse.records_of_entities(matched)
    bundle = exports.bundle_build(records[:MAX_EXPORT_RECORDS], extra_entities=matched)
    return _export_response(bundle, fmt, "search")


def export_page(request):
    return render(request, "citations/export.html", {"formats": exports.FORMATS})
