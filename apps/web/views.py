"""The front door (the home page for people), the operations panel for staff and the
health check for load balancers."""
from django.contrib.admin.views.decorators import staff_member_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.catalog.selectors import latest
from apps.catalog.selectors import vendors as vendor_selectors
from apps.catalog.selectors.browse import GraphUnavailable
from apps.catalog.selectors.counts import store_counts
from apps.catalog.vocab import EntityKind, RecordKind
from apps.sync.selectors import graph_counts_or_error, health, sync_lag

@require_GET
def home(request):
    """Search first; the vendors with their countries; one map of all vendors; the latest
    published records and the sources the graph draws on. Without Neo4j the vendors and the
    map say so and the rest still shows."""
    home, graph_down = {"vendors": [], "vendor_total": 0, "map": {}, "countries": [], "snapshot": None}, False
    try:
        home = vendor_selectors.vendors_home()
    except GraphUnavailable:
        graph_down = True
    return render(request, "web/home.html", {
        **home, "graph_down": graph_down,
        "legend": {"deployed": "Deployed", "contracted": "Contracted", "donated": "Donated",
                   "banned": "Banned or excluded", "cancelled": "Cancelled"},
        "records": latest.latest_records(), "sources": latest.latest_sources(),
    })


@staff_member_required
def ops(request):
    """Counts as the store of record and as Neo4j see them, and the sync lag (staff only)."""
    s_entities, s_records = store_counts()
    g_entities, g_records, graph_error = graph_counts_or_error()

    def rows(choices, store, graph):
        return [
            {"kind": value, "label": label, "store": store.get(value, 0),
             "graph": None if graph_error else graph.get(value, 0)}
            for value, label in choices
        ]

    entity_rows = rows(EntityKind.choices, s_entities, g_entities)
    record_rows = rows(RecordKind.choices, s_records, g_records)
    totals = {
        "entities_store": sum(s_entities.values()), "entities_graph": sum(g_entities.values()),
        "records_store": sum(s_records.values()), "records_graph": sum(g_records.values()),
    }
    in_sync = not graph_error and s_entities == {k: v for k, v in g_entities.items() if v} and s_records == {
        k: v for k, v in g_records.items() if v}
    return render(request, "web/ops.html", {
        "entity_rows": entity_rows, "record_rows": record_rows, "totals": totals,
        "lag": sync_lag(), "graph_error": graph_error, "in_sync": in_sync,
    })


@never_cache
@require_GET
def healthz(request):
    """200 {"ok": true, ...} when Neo4j and Redis answer, else 503 with what failed."""
    report = health()
    return JsonResponse(report, status=200 if report["ok"] else 503)
