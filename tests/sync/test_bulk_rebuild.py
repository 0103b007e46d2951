"""graph_rebuild --bulk: the store through Neo4j's own bulk importer gives the graph the online
rebuild writes, property for property, and the pages read it the same.

The bulk rebuild stops and starts the Neo4j server it rebuilds, so these tests give it a server
of their own (its own data dir and port), never the session's."""
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from apps.catalog.models import Alias
from apps.catalog.selectors.browse import ownership_chains
from apps.sync.parity import graph_rebuild, graph_rebuild_bulk, parity_check
from graph import server
from graph.bulk_import import BulkImportError, CsvFiles
from graph.connection import configure, run
from tests.browse.conftest import casestudy, publish  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)  # the export processes read committed rows

# Quotes, commas, semicolons (the importer's default array delimiter), line breaks, non-Latin
# scripts: what a CSV round trip breaks first.
ODD_NAME = 'Ørsted "Nordic", Ltd; ЗАО «Вектор»\n中国 — شركة'
ODD_ALIAS = 'a;b "c",\r\nd'
ODD_TITLE = 'Shares, "quoted"\nsecond line; ß'


@pytest.fixture
def bulk_server(graph, tmp_path):
    """A Neo4j data dir and port of the test's own (the bulk rebuild starts the server);
    the session's server is configured again afterwards."""
    data_dir = tmp_path / "neo4j-bulk"
    port = server.find_free_port()
    options = {"port": port, "heap": "512m", "pagecache": "128m", "timeout": float(settings.NEO4J_START_TIMEOUT)}
    yield data_dir, options, f"bolt://neo4j:neo4j@127.0.0.1:{port}"
    configure()
    server.stop(data_dir=data_dir)


def snapshot():
    """Everything the graph holds of the store: labels, types, ends and every property."""
    nodes = {r["uid"]: (sorted(r["labels"]), r["props"]) for r in run(
        "MATCH (n:Entity) RETURN n.uid AS uid, labels(n) AS labels, properties(n) AS props")}
    rels = {r["uid"]: (r["type"], r["s"], r["o"], r["props"]) for r in run(
        "MATCH (a:Entity)-[r]->(b:Entity) RETURN r.uid AS uid, type(r) AS type, a.uid AS s, b.uid AS o, "
        "properties(r) AS props")}
    return nodes, rels


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def test_it_rebuilds_in_bulk_the_graph_the_online_rebuild_writes(client, casestudy, publish, bulk_server):
    nuctech = casestudy["nuctech"]
    odd = publish.entity(ODD_NAME, country="DK")
    Alias(entity=odd, name=ODD_ALIAS, workflow="published").save()
    publish.record(odd, nuctech, kind="ownership", share_pct=Decimal("12.5"), title=ODD_TITLE, start="2021")
    publish.record(nuctech, odd, kind="contract", title="", amount=Decimal("1200000.50"), currency="EUR",
                   start="2020-03")
    publish.drain()
    graph_rebuild()
    online = snapshot()
    urls = [reverse("browse:entity", args=[odd.uuid]), reverse("browse:entity", args=[nuctech.uuid]),
            reverse("browse:ownership", args=[nuctech.uuid])]
    online_pages = [page(client, url) for url in urls]
    online_chains = ownership_chains(nuctech)

    data_dir, options, url = bulk_server
    configure(url)
    written = graph_rebuild_bulk(data_dir=data_dir, server_options=options)

    assert written["records"] == len(online[1]) and written["entities"] == len(online[0])
    assert parity_check().ok
    bulk = snapshot()
    assert bulk == online
    assert bulk[0][str(odd.uuid)][1]["name"] == ODD_NAME
    assert bulk[0][str(odd.uuid)][1]["aliases"] == [ODD_ALIAS]
    titles = {props["title"] for _type, _s, _o, props in bulk[1].values()}
    assert {ODD_TITLE, ""} <= titles
    assert ownership_chains(nuctech) == online_chains and online_chains
    assert [page(client, url) for url in urls] == online_pages
    assert not (data_dir / "import-csv").exists()


def test_the_rebuild_reads_for_each_object_the_payload_its_own_save_sends(casestudy, publish):
    """One projection: the rebuild's keyset pages (plain rows through entity_graph_props /
    record_graph_props, also what the bulk CSV is written from) give every object the same
    graph row as the payload its save() puts in the outbox."""
    from itertools import chain

    from apps.catalog.models import Entity, Record
    from apps.sync.parity import _entity_changes, _record_changes
    from graph.sync import RECORD_PROPS, _row

    odd = publish.entity(ODD_NAME, country="DK", state_owned=True)
    Alias(entity=odd, name=ODD_ALIAS, workflow="published").save()
    owns = publish.record(odd, casestudy["nuctech"], kind="ownership", share_pct=Decimal("12.5"), title=ODD_TITLE,
                   start="2021", attributes={"direct": True, "state_control": False})
    publish.record(casestudy["nuctech"], odd, kind="contract", amount=Decimal("1200000.50"), currency="EUR")
    rebuilt = {c["uid"]: _row(c) for batch in chain(_entity_changes(3), _record_changes(3)) for c in batch}
    saved = {str(o.uuid): _row({"aggregate": o.graph_aggregate, "op": "upsert", "uid": str(o.uuid),
                                "version": o.version, "payload": o.graph_payload()})
             for o in chain(Entity.objects.all(), Record.objects.all())}
    assert rebuilt == saved
    assert len(saved) == Entity.objects.count() + Record.objects.count() > 6
    row = rebuilt[str(owns.uuid)]
    assert row[4 + RECORD_PROPS.index("sources")] and row[4 + RECORD_PROPS.index("direct")] is True


def test_it_refuses_a_graph_this_project_does_not_run(settings):
    settings.NEO4J_URL = "bolt://neo4j:neo4j@graph.example.org:7687"
    with pytest.raises(CommandError, match="not the local server this project manages"):
        call_command("graph_rebuild", "--bulk")


def test_it_refuses_a_list_element_it_cannot_write_and_names_the_object(tmp_path):
    files = CsvFiles(tmp_path / "csv", entity_props=("name", "kind", "aliases"))
    with pytest.raises(BulkImportError, match="entity e-1: .*U\\+001F"):
        files.write_entities([("company", "e-1", 1, ("A", "company", ["x\x1fy"]))])
