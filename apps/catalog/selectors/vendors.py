"""Vendors side by side: every company with deployments, contracts, donations or bans, by
country (one Neo4j query, the deployment map's statuses), and what the home page shows.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from decimal import Decimal, InvalidOperation

from django.core.cache import cache

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


def vendors_overview(*, as_of: str | None = None) -> dict:
    """{"vendors": [...], "countries": [...], "map": {...}, "currencies": [...], "truncated",
    "snapshot"}.

    Each vendor: {node, cells: {iso2: {status, labels, records: [uid]}}, by_status:
    {status: [iso2]}, countries (how many), bans (ban records), values {currency: total}}.
    `map` colours each country by the most telling status of any vendor, its label saying which.

    It reads every vendor's footprint, so today's overview is a snapshot refreshed by a task
    after the graph changes (apps.catalog.selectors.aggregates): `snapshot` is its Snapshot
    (`computed_at`, `refreshing`, `pending`: no snapshot yet, the lists are empty). On a past
    date (`as_of`) it is computed for the request, cached under the graph's generation and
    bounded by NEO4J_QUERY_TIMEOUT.
    """
    if as_of is None:
        snapshot = aggregates.snapshot_get(aggregates.OVERVIEW)
        return {**(snapshot.value or _EMPTY_OVERVIEW), "snapshot": snapshot}
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


_EMPTY_OVERVIEW = {"vendors": [], "countries": [], "map": {}, "currencies": [], "truncated": False}


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
        world[code] = {"status": top, "label": "; ".join(f"{name}: {MAP_LABELS[s].lower()}"
                                                          for name, s in sorted(by_vendor.items()))}
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
