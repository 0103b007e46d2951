"""Browsing pages: each view translates the query string and calls one or two selectors.

Only public data is shown (apps.catalog.selectors.visibility). When Neo4j cannot be reached, pages that need a traversal
answer 503 with a plain explanation instead of failing.
"""
from __future__ import annotations

import functools
import uuid

from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.catalog.selectors import browse as selectors
from apps.catalog.selectors import exposure as exposure_selectors
from apps.catalog.selectors import search as catalog_search
from apps.catalog.selectors import vendors as vendor_selectors
from apps.catalog.selectors.visibility import public_entities
from apps.catalog.dates import parse_partial_date
from apps.catalog.models import Entity, country_name
from apps.catalog.vocab import EntityKind, RecordKind
from apps.catalog.selectors.browse import MAX_PATH_HOPS, GraphTimeout, GraphUnavailable
from apps.web.limits import rate_limited

# --- input -----------------------------------------------------------------------------


def _date(value: str | None) -> str | None:
    """A partial ISO date from the query string, or None when absent or malformed."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parse_partial_date(value)
    except Exception:  # noqa: BLE001 - a malformed date is ignored, the page says so
        return None
    return value


def _as_of(request) -> tuple[str | None, bool]:
    raw = request.GET.get("as_of", "").strip()
    value = _date(raw)
    return value, bool(raw) and value is None


def _int(value, default: int = 1, low: int = 1, high: int = 10_000) -> int:
    try:
        return min(max(int(value), low), high)
    except (TypeError, ValueError):
        return default


def _uuid(value) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except (TypeError, ValueError, AttributeError):
        return None


def _kinds(request) -> list[str]:
    return [k for k in request.GET.getlist("kind") if k in RecordKind.values]


def _entity_or_404(uid, *, facts: bool = False) -> Entity:
    entity = selectors.entity_get(uid, facts=facts)
    if entity is None:
        raise Http404("No such published entity.")
    return entity


def graph_required(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except GraphTimeout:
            return render(request, "browse/graph_timeout.html", status=503)
        except GraphUnavailable:
            return render(request, "browse/graph_unavailable.html", status=503)
    return wrapper


def _as_of_context(request) -> dict:
    as_of, bad = _as_of(request)
    keep = [(k, v) for k in request.GET for v in request.GET.getlist(k) if k not in ("as_of", "page")]
    return {"as_of": as_of, "as_of_invalid": bad, "as_of_keep": keep}


# --- search ----------------------------------------------------------------------------


@require_GET
def search(request):
    q = request.GET.get("q", "").strip()[:200]
    kind = request.GET.get("kind", "")
    kind = kind if kind in EntityKind.values else ""
    country = request.GET.get("country", "").upper()
    country = country if selectors.valid_country_code(country) else ""
    page_obj, results = (catalog_search.search_page(q=q, kind=kind, country=country, page=_int(request.GET.get("page")))
                         if q else (None, []))
    context = {"q": q, "kind": kind, "country": country, "page_obj": page_obj, "results": results,
               "kinds": EntityKind.choices, "countries": catalog_search.country_choices()}
    template = "browse/partials/search_results.html" if request.htmx and request.htmx.target == "search-results" \
        else "browse/search.html"
    return render(request, template, context)


@require_GET
@rate_limited("suggest")
def search_suggest(request):
    q = request.GET.get("q", "").strip()[:200]
    results = []
    if len(q) >= 2:
        hits = catalog_search.entity_search(q=q)[:8]
        results = catalog_search.search_results(hits)
    return render(request, "browse/partials/search_suggest.html", {"q": q, "results": results})


# --- entity ----------------------------------------------------------------------------


@require_GET
@graph_required
def entity_detail(request, uid):
    entity = _entity_or_404(uid, facts=True)
    ctx = _as_of_context(request)
    groups = selectors.entity_record_groups(entity, as_of=ctx["as_of"])
    # Only entities with an owner need the chain (saves a Neo4j round trip for most pages).
    has_owner = any(g["key"] == "owners" for g in groups)
    owners = selectors.ultimate_owners(entity, as_of=ctx["as_of"]) if has_owner else []
    return render(request, "browse/entity.html", {"entity": entity, "groups": groups, "owners": owners, **ctx})


@require_GET
def entity_group(request, uid, group):
    entity = _entity_or_404(uid)
    if group not in selectors.GROUP_LABELS:
        raise Http404("No such group.")
    ctx = _as_of_context(request)
    page_obj = selectors.entity_group_page(entity, group, page=_int(request.GET.get("page")), as_of=ctx["as_of"])
    context = {"entity": entity, "group": group, "group_label": selectors.GROUP_LABELS[group], "page_obj": page_obj,
               **ctx}
    template = "browse/partials/record_list.html" if request.htmx else "browse/entity_group.html"
    return render(request, template, context)


@require_GET
@graph_required
def ownership(request, uid):
    entity = _entity_or_404(uid)
    ctx = _as_of_context(request)
    view = selectors.ownership_view(entity, as_of=ctx["as_of"])
    return render(request, "browse/ownership.html", {"entity": entity, **view, **ctx})


@require_GET
@graph_required
def deployments(request, uid):
    entity = _entity_or_404(uid)
    ctx = _as_of_context(request)
    view = selectors.deployments_view(entity, as_of=ctx["as_of"])
    return render(request, "browse/deployments.html", {"entity": entity, **view, **ctx})


@require_GET
@graph_required
def country(request, iso):
    iso, entity, name = _country_or_404(iso)
    ctx = _as_of_context(request)
    pages = {key: _int(request.GET.get(f"{key}_page")) for key, _ in selectors.COUNTRY_SECTIONS}
    view = selectors.country_view(iso, as_of=ctx["as_of"], pages=pages)
    return render(request, "browse/country.html", {"iso": iso, "country_name": name,
                                                   "entity": entity, **view, **ctx})


def _country_or_404(iso: str) -> tuple[str, Entity | None, str]:
    iso = iso.upper()
    entity = selectors.country_entity(iso)
    name = country_name(iso) if selectors.valid_country_code(iso) else ""
    if entity is None and (not name or name == iso):
        raise Http404("No such country.")
    return iso, entity, entity.name if entity else name


@require_GET
@graph_required
def country_exposure(request, iso):
    iso, entity, name = _country_or_404(iso)
    ctx = _as_of_context(request)
    view = exposure_selectors.country_exposure(iso, as_of=ctx["as_of"])
    return render(request, "browse/exposure.html", {"iso": iso, "country_name": name, "country": entity,
                                                    "scope": name, **view, **ctx})


@require_GET
@graph_required
def exposure(request, uid):
    entity = _entity_or_404(uid)
    ctx = _as_of_context(request)
    buyer = exposure_selectors.buyer_exposure(entity, as_of=ctx["as_of"])
    vendor = exposure_selectors.contracts_after_bans(entity, as_of=ctx["as_of"])
    # A vendor's page leads with its contracts after bans; a buyer's with what it bought.
    buyer_first = bool(buyer["rows"] or buyer["not_exposed"]) or not (vendor["after"] or vendor["not_after"])
    return render(request, "browse/entity_exposure.html", {"entity": entity, "buyer": buyer, "vendor": vendor,
                                                           "buyer_first": buyer_first, "scope": entity.name, **ctx})


# --- vendors side by side -------------------------------------------------------------


def _vendors_sort(request) -> tuple[str, str]:
    sort = request.GET.get("sort", "countries")
    return (sort if sort in vendor_selectors.SORTS else "countries"), request.GET.get("currency", "")


@require_GET
@graph_required
def vendors(request):
    ctx = _as_of_context(request)
    sort, currency = _vendors_sort(request)
    view = vendor_selectors.vendors_list(as_of=ctx["as_of"], sort=sort, currency=currency,
                                         page=_int(request.GET.get("page")))
    return render(request, "browse/vendors.html", {**ctx, **view, "sort": sort, "sorts": vendor_selectors.SORTS,
                                                   "legend": selectors.MAP_LABELS})


@require_GET
@graph_required
def vendor_matrix(request):
    ctx = _as_of_context(request)
    sort, currency = _vendors_sort(request)
    # One page of vendors at a time, in the list's order: at a million entities there are
    # ~19,000 vendors, and a matrix of all of them would be a page no browser loads.
    view = vendor_selectors.vendors_list(as_of=ctx["as_of"], sort=sort, currency=currency,
                                         page=_int(request.GET.get("page")))
    columns = [{"iso2": code, "name": country_name(code)} for code in view["countries"]]
    matrix = [{"vendor": v, "cells": [v["cells"].get(c["iso2"]) for c in columns]} for v in view["page_obj"].object_list]
    return render(request, "browse/vendor_matrix.html", {**ctx, **view, "columns": columns, "matrix": matrix,
                                                         "sort": sort, "sorts": vendor_selectors.SORTS,
                                                         "legend": selectors.MAP_LABELS})


# --- connections and paths -------------------------------------------------------------


def _explorer_filters(request) -> dict:
    return {"kinds": _kinds(request) or None, "date_from": _date(request.GET.get("from")),
            "date_to": _date(request.GET.get("to")), "as_of": _as_of(request)[0]}


@require_GET
@graph_required
def connections(request, uid):
    entity = _entity_or_404(uid)
    filters = _explorer_filters(request)
    data = selectors.connections_data(str(entity.uuid), **filters)
    names = {n["id"]: n for n in data["nodes"]}
    rows = [{"edge": e, "other": names[e["other"]]} for e in data["edges"]]
    return render(request, "browse/connections.html", {
        "entity": entity, "graph_data": data, "rows": rows, "record_kinds": RecordKind.choices,
        "selected_kinds": filters["kinds"] or [], "date_from": filters["date_from"] or "",
        "date_to": filters["date_to"] or "", **_as_of_context(request)})


@require_GET
@rate_limited("connections", as_json=True)
def connections_json(request, uid):
    if _uuid(uid) is None:
        raise Http404
    try:
        data = selectors.connections_data(str(uid), **_explorer_filters(request))
    except GraphTimeout:
        return JsonResponse({"error": "This neighbourhood took too long to compute: choose fewer record types or "
                                      "a shorter date range."}, status=503)
    except GraphUnavailable:
        return JsonResponse({"error": "The graph is unavailable; try again shortly."}, status=503)
    if data is None:
        return JsonResponse({"error": "No such published entity."}, status=404)
    return JsonResponse(data)


@require_GET
def record_card(request, uid):
    record = selectors.records_by_uuid([str(uid)]).get(str(uid))
    if record is None:
        raise Http404("No such published record.")
    return render(request, "browse/partials/record_card_panel.html", {"record": record})


def _resolve_endpoint(request, name: str) -> tuple[Entity | None, str, list[dict]]:
    """An endpoint of the path finder: a uuid (`from`) or else a name to search (`from_q`)."""
    uid = _uuid(request.GET.get(name))
    q = request.GET.get(f"{name}_q", "").strip()[:200]
    if uid:
        entity = selectors.entity_get(uid)
        return entity, (entity.name if entity else q), []
    if not q:
        return None, "", []
    hits = catalog_search.entity_search(q=q)[:6]
    if not hits:
        return None, q, []
    results = catalog_search.search_results(hits)
    entity = results[0]["entity"] if results else None
    return entity, q, results[1:]


@require_GET
@rate_limited("paths")
@graph_required
def paths(request):
    source, source_q, source_alts = _resolve_endpoint(request, "from")
    target, target_q, target_alts = _resolve_endpoint(request, "to")
    hops = _int(request.GET.get("hops"), default=4, high=MAX_PATH_HOPS)
    as_of, _bad = _as_of(request)
    found = None
    if source is not None and target is not None:
        found = selectors.paths_view(str(source.uuid), str(target.uuid), max_hops=hops, as_of=as_of)
    return render(request, "browse/paths.html", {
        "source": source, "target": target, "source_q": source_q, "target_q": target_q,
        "source_alts": source_alts, "target_alts": target_alts, "hops": hops, "hop_choices": range(1, MAX_PATH_HOPS + 1),
        "paths": found, **_as_of_context(request)})


# --- timeline --------------------------------------------------------------------------


@require_GET
def timeline(request):
    vendor_uid = _uuid(request.GET.get("vendor"))
    vendor = selectors.entity_get(vendor_uid) if vendor_uid else None
    vendor_q = request.GET.get("vendor_q", "").strip()[:200]
    if vendor_q and (vendor is None or vendor_q != vendor.name):
        hits = catalog_search.entity_search(q=vendor_q)[:1]
        vendor = public_entities().filter(id=hits[0].entity_id).first() if hits else None
    country_code = request.GET.get("country", "").upper()
    country_code = country_code if selectors.valid_country_code(country_code) else ""
    kinds = [k for k in _kinds(request) if k in selectors.TIMELINE_KINDS]
    page_obj = selectors.timeline_page(vendor=vendor, country=country_code, kinds=kinds,
                                       page=_int(request.GET.get("page")))
    # For one vendor or country, what the sources give without a date is listed after the
    # last page, apart (the whole timeline's would be too long to list).
    undated_count, undated = (selectors.timeline_undated(vendor=vendor, country=country_code, kinds=kinds)
                              if (vendor or country_code) and not page_obj.has_next else (0, []))
    return render(request, "browse/timeline.html", {
        "page_obj": page_obj, "vendor": vendor, "country": country_code, "selected_kinds": kinds,
        "undated": undated, "undated_count": undated_count,
        "kinds": [(k, RecordKind(k).label) for k in selectors.TIMELINE_KINDS],
        "vendor_q": vendor_q, "countries": catalog_search.country_choices()})
