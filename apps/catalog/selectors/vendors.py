"""Vendors side by side: every company with deployments, contracts, donations or bans, by
country (one Neo4j query, the deployment map's statuses), and what the home page shows.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from decimal import Decimal, InvalidOperation

from django.core.cache import cache
from django.core.paginator import Paginator

from apps.catalog.models import country_name
from apps.catalog.selectors import aggregates
from apps.catalog.selectors.browse import MAP_LABELS, MAP_STATUSES, map_status
from apps.catalog.vocab import RecordKind
from graph import queries

log = logging.getLogger(__name__)
# A generation's overview is kept this long (a new generation makes it unreachable at once;
# this only bounds how long an unused one occupies the cache).
OVERVIEW_CACHE_SECONDS = 3600

SORTS = {"countries": "Countries", "bans": "Bans", "value": "Contract value", "name": "Name"}
# Statuses shown as columns of the vendors list (the map's, most telling first).
COLUMNS = ["deployed", "contracted", "donated", "banned", "cancelled"]


def _amount(rel: dict) -> Decimal | None:
    try:
        return Decimal(rel["amount"]) if rel.get("amount") is not None else None
    except (InvalidOperation, TypeError):
        return None


HOME_VENDORS = 12
VENDORS_PER_PAGE = 50
MAP_LABEL_VENDORS = 10  # a country's tooltip names this many vendors, then says how many more


def vendors_home() -> dict:
    """The home page's vendors: the first HOME_VENDORS (most countries first), how many in
    all, the world map and the `snapshot` they come from (see vendors_snapshot)."""
    snapshot = aggregates.snapshot_get(aggregates.OVERVIEW)
    summary = snapshot.value or _EMPTY_SUMMARY
    return {"vendors": summary["top"], "vendor_total": summary["total"], "map": summary["map"],
            "countries": summary["countries"], "snapshot": snapshot}


def vendors_list(*, as_of: str | None = None, sort: str = "countries", currency: str = "", page: int = 1) -> dict:
    """One page (VENDORS_PER_PAGE) of the vendors in `sort` order, each with its cells (the
    records behind each status, by country: the matrix's rows): {page_obj, countries,
    currencies, currency, snapshot}. The list and the matrix both read it. Today's pages are
    parts of the overview's snapshot, one read each; on a past date the overview is computed
    for the request (see vendors_overview)."""
    if as_of is not None:
        overview = vendors_overview(as_of=as_of)
        currency = _currency(currency, overview["currencies"])
        rows = vendors_sorted(overview["vendors"], sort=sort, currency=currency)
        return {"page_obj": Paginator(rows, VENDORS_PER_PAGE).get_page(page), "countries": overview["countries"],
                "currencies": overview["currencies"], "currency": currency, "snapshot": overview["snapshot"]}
    snapshot = aggregates.snapshot_get(aggregates.OVERVIEW)
    summary = snapshot.value or _EMPTY_SUMMARY
    currency = _currency(currency, summary["currencies"])
    page_obj = Paginator(range(summary["total"]), VENDORS_PER_PAGE).get_page(page)
    part = _list_part(sort, currency if sort == "value" else "", page_obj.number)
    page_obj.object_list = (aggregates.snapshot_part(snapshot, aggregates.OVERVIEW, part) or []) if summary["total"] else []
    return {"page_obj": page_obj, "countries": summary["countries"], "currencies": summary["currencies"],
            "currency": currency, "snapshot": snapshot}


def _currency(currency: str, currencies: list[str]) -> str:
    return currency if currency in currencies else (currencies[0] if currencies else "")


def _list_part(sort: str, currency: str, number: int) -> str:
    return f"list:{sort}:{currency}:{number}"


def vendors_snapshot(overview: dict) -> tuple[dict, dict]:
    """What the overview's snapshot keeps: a small summary that the home page reads whole
    (the map, the countries, the currencies, the total and the first HOME_VENDORS), and
    parts that one page each reads: every page of the vendors (with their cells, for the list
    and the matrix alike) in every sort order. At a million entities the whole overview is
    megabytes (19,000 vendors): read whole by every request, it would take seconds, and one
    matrix of every vendor would be a page nobody can load."""
    vendors = overview["vendors"]
    top = [{k: v for k, v in vendor.items() if k != "cells"} for vendor in vendors_sorted(vendors)[:HOME_VENDORS]]
    summary = {key: overview[key] for key in ("countries", "map", "currencies", "truncated")}
    summary.update(total=len(vendors), top=top)
    parts = {}
    for sort in SORTS:
        for currency in (overview["currencies"] or [""]) if sort == "value" else [""]:
            ordered = vendors_sorted(vendors, sort=sort, currency=currency)
            for start in range(0, len(ordered), VENDORS_PER_PAGE):
                parts[_list_part(sort, currency, start // VENDORS_PER_PAGE + 1)] = ordered[start:start + VENDORS_PER_PAGE]
    return summary, parts


def vendors_overview(*, as_of: str) -> dict:
    """{"vendors": [...], "countries": [...], "map": {...}, "currencies": [...], "truncated",
    "snapshot"} on a past date (`as_of`): computed for the request, bounded by
    NEO4J_QUERY_TIMEOUT, and cached under the graph's generation (every change of the graph
    moves it on, with the change itself). Today's overview is a snapshot (vendors_snapshot).

    Each vendor: {node, cells: {iso2: {status, labels, records: [uid]}}, by_status:
    {status: [iso2]}, countries (how many), bans (ban records), values {currency: total}}.
    `map` colours each country by the most telling status of any vendor, its label saying which.
    """
    generation = queries.graph_generation()
    key = f"vendors-overview:{generation}:{as_of}" if generation else None
    if key is not None:
        try:
            cached = cache.get(key)
        except Exception as exc:  # noqa: BLE001 - redis-py raises several connection errors
            log.warning("vendors overview: cache unavailable, computing it: %s", exc)
            key, cached = None, None
        if cached is not None:
            return {**cached, "snapshot": aggregates.Snapshot(value=cached)}
    overview = vendors_overview_compute(as_of=as_of)
    if key is not None:
        try:
            cache.set(key, overview, timeout=OVERVIEW_CACHE_SECONDS)
        except Exception as exc:  # noqa: BLE001
            log.warning("vendors overview: could not cache it: %s", exc)
    return {**overview, "snapshot": aggregates.Snapshot(value=overview)}


_EMPTY_SUMMARY = {"countries": [], "map": {}, "currencies": [], "truncated": False, "total": 0, "top": []}


def vendors_overview_compute(*, as_of: str | None = None) -> dict:
    """The overview from the graph (one query over every company's footprint)."""
    rows = queries.all_vendor_footprints(as_of=as_of)
    vendors: dict[str, dict] = {}
    currencies: Counter = Counter()
    for row in rows:
        node, rel, code = row["vendor"], row["rel"], row["country"]
        vendor = vendors.setdefault(node["uid"], {"node": node, "cells": {}, "bans": set(), "values": defaultdict(Decimal)})
        cell = vendor["cells"].setdefault(code, {"statuses": set(), "records": []})
        status = map_status(rel)
        if status:
            cell["statuses"].add(status)
        if rel["uid"] not in cell["records"]:
            cell["records"].append(rel["uid"])
        if rel["kind"] == RecordKind.BAN:
            vendor["bans"].add(rel["uid"])
        amount = _amount(rel)
        if rel["kind"] == RecordKind.CONTRACT and amount is not None and rel.get("currency"):
            vendor["values"][rel["currency"]] += amount
            currencies[rel["currency"]] += 1
    countries: set[str] = set()
    country_vendors: dict[str, dict[str, str]] = defaultdict(dict)
    out = []
    for vendor in vendors.values():
        by_status: dict[str, list[str]] = defaultdict(list)
        for code, cell in vendor["cells"].items():
            ordered = [s for s in MAP_STATUSES if s in cell["statuses"]]
            cell["status"] = ordered[0] if ordered else ""
            cell["labels"] = [MAP_LABELS[s] for s in ordered]
            for status in ordered:
                by_status[status].append(code)
            if ordered:
                country_vendors[code][vendor["node"]["name"] or ""] = ordered[0]
            countries.add(code)
        present = [c for c, cell in vendor["cells"].items() if cell["status"]]
        out.append({"node": vendor["node"], "cells": vendor["cells"],
                    "by_status": {s: sorted(by_status[s], key=country_name) for s in COLUMNS if by_status.get(s)},
                    "countries": len(present), "bans": len(vendor["bans"]), "values": dict(vendor["values"])})
    out.sort(key=lambda v: (v["node"]["name"] or "").lower())
    world = {}
    for code, by_vendor in country_vendors.items():
        statuses = set(by_vendor.values())
        top = next(s for s in MAP_STATUSES if s in statuses)
        named = sorted(by_vendor.items())
        label = "; ".join(f"{name}: {MAP_LABELS[s].lower()}" for name, s in named[:MAP_LABEL_VENDORS])
        if len(named) > MAP_LABEL_VENDORS:
            label += f"; and {len(named) - MAP_LABEL_VENDORS:,} more"
        world[code] = {"status": top, "label": label}
    return {"vendors": out, "countries": sorted(countries, key=country_name), "map": world,
            "currencies": [c for c, _ in currencies.most_common()], "truncated": len(rows) >= 50000}


def vendors_sorted(vendors: list[dict], *, sort: str = "countries", currency: str = "") -> list[dict]:
    """Sort the vendors list: by countries present, bans, contract value in `currency`
    (amounts in other currencies are not converted; vendors without one come last), or name."""
    if sort == "bans":
        return sorted(vendors, key=lambda v: (-v["bans"], -v["countries"], (v["node"]["name"] or "").lower()))
    if sort == "value":
        return sorted(vendors, key=lambda v: (currency not in v["values"], -(v["values"].get(currency) or 0),
                                              (v["node"]["name"] or "").lower()))
    if sort == "name":
        return vendors
    return sorted(vendors, key=lambda v: (-v["countries"], -v["bans"], (v["node"]["name"] or "").lower()))
