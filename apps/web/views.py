from django.shortcuts import render

from apps.catalog.selectors.counts import store_counts
from apps.catalog.vocab import EntityKind, RecordKind
from apps.sync.selectors import graph_counts_or_error, sync_lag


def home(request):
    """Counts as the store of record and as Neo4j see them, and the sync lag."""
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
    return render(request, "web/home.html", {
        "entity_rows": entity_rows, "record_rows": record_rows, "totals": totals,
        "lag": sync_lag(), "graph_error": graph_error, "in_sync": in_sync,
    })
