"""The issue's "done when", as one story through the real Neo4j and a real Celery worker:
a journalist copies a citation for the Serbian loan and opens its permalink; an editor
drafts a record, a reviewer publishes it, it appears in the graph and in its history, and
a revert restores the earlier version; an admin merges a duplicate."""
import pytest
from django.urls import reverse

from apps.catalog.models import Entity, Record, Source
from apps.ingest.casestudy import load_casestudy
from graph.connection import run
from tests.conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def graph_record(uid):
    rows = run("MATCH (a)-[r {uid: $uid}]->(b) RETURN r.title AS title, r.workflow AS workflow, "
               "r.version AS version, a.uid AS a, b.uid AS b", {"uid": str(uid)})
    return rows[0] if rows else None


def test_done_when(graph, worker, client, alice, bob, charlie):
    load_casestudy()
    nuctech, serbia = Entity.objects.get(key="nuctech"), Entity.objects.get(key="serbia")
    wait_for(lambda: run("MATCH (n:Entity) RETURN count(n) AS n")[0]["n"] == Entity.objects.count(),
             timeout=60, message="the case study in Neo4j")

    # A journalist copies a citation for the Serbian loan and opens its permalink.
    loan = Record.objects.get(key="loan-cexim-serbia")
    text = client.get(reverse("citations:cite_record", args=[loan.uuid]), {"format": "text"}).content.decode()
    permalink = next(line.split(" ")[1] for line in text.splitlines() if line.startswith("Permalink: "))
    assert "Radio Free Europe (RSE)" in text and "8,631,474" in text and "Accessed: " in text
    page = client.get(permalink)
    assert page.status_code == 200 and "Chinese Export-import Bank loan to Serbia" in page.content.decode()

    # An editor drafts a record with a citation and submits it for review.
    client.force_login(alice)
    source = Source.objects.get(key="src-rse-serbia-scanners")
    quote = loan.citations.get(quote__startswith="In the budget").quote  # as stored (no-break spaces and all)
    response = client.post(reverse("curation:record_new"), {
        "kind": "contract", "subject": serbia.pk, "object": nuctech.pk, "title": "Serbia buys scanners (draft)",
        "start": "2014", "status": "awarded", "attributes": "{}"})
    assert response.status_code == 302
    record = Record.objects.get(title="Serbia buys scanners (draft)")
    client.post(reverse("curation:record_cite", args=[record.uuid]), {"source": source.pk, "quote": quote})
    assert record.citations.get().found
    client.post(reverse("curation:record_transition", args=[record.uuid]), {"to": "review"})
    assert client.post(reverse("curation:record_transition", args=[record.uuid]), {"to": "published"}).status_code == 403
    assert client.get(reverse("citations:record", args=[record.uuid])).status_code == 200  # curators see drafts
    client.logout()
    assert client.get(reverse("citations:record", args=[record.uuid])).status_code == 404  # the public does not

    # A reviewer publishes it; it appears in the graph and in its history.
    client.force_login(bob)
    client.post(reverse("curation:record_transition", args=[record.uuid]), {"to": "published"})
    record.refresh_from_db()
    assert (record.workflow, record.published_by) == ("published", bob)
    wait_for(lambda: (graph_record(record.uuid) or {}).get("workflow") == "published", message="the published record")
    history = client.get(reverse("curation:record_history", args=[record.uuid])).content.decode()
    assert "bob" in history and "published" in history and "alice" in history

    # The reviewer changes the title; a revert restores the earlier version, in the graph too.
    good = record.history.first().history_id
    data = {"kind": "contract", "subject": serbia.pk, "object": nuctech.pk, "title": "A wrong title",
            "start": "2014", "status": "awarded", "attributes": "{}"}
    assert client.post(reverse("curation:record_edit", args=[record.uuid]), data).status_code == 302
    wait_for(lambda: (graph_record(record.uuid) or {}).get("title") == "A wrong title", message="the edit")
    client.post(reverse("curation:record_revert", args=[record.uuid, good]))
    record.refresh_from_db()
    assert record.title == "Serbia buys scanners (draft)"
    wait_for(lambda: graph_record(record.uuid) == {"title": record.title, "workflow": "published",
                                                   "version": record.version, "a": str(serbia.uuid),
                                                   "b": str(nuctech.uuid)}, message="the revert in Neo4j")
    assert f"reverted to revision {good}" in client.get(reverse("curation:record_history", args=[record.uuid])).content.decode()
    client.logout()
    assert b"Serbia buys scanners (draft)" in client.get(reverse("citations:record", args=[record.uuid])).content

    # An admin merges a duplicate.
    dup = Entity(kind="company", name="Nuctech Co Ltd", country="CN")
    dup.save()
    dup_record = Record(kind="deployment", subject=dup, object=serbia, title="Duplicate's deployment")
    dup_record.save()
    client.force_login(charlie)
    page = client.get(reverse("curation:duplicates")).content.decode()
    assert "Nuctech Co Ltd" in page
    client.post(reverse("curation:duplicate_decide"), {"a": nuctech.uuid, "b": dup.uuid, "verdict": "merge_into_a"})
    assert not Entity.objects.filter(pk=dup.pk).exists()
    assert nuctech.aliases.filter(name="Nuctech Co Ltd").exists()
    wait_for(lambda: (graph_record(dup_record.uuid) or {}).get("a") == str(nuctech.uuid), message="the moved record")
    wait_for(lambda: run("MATCH (n:Entity {uid: $uid}) RETURN n", {"uid": str(dup.uuid)}) == [],
             message="the duplicate gone from Neo4j")
    from apps.curation.models import MergeDecision

    decision = MergeDecision.objects.get(name_b__in=["Nuctech Co Ltd", "Nuctech"], name_a__in=["Nuctech Co Ltd", "Nuctech"])
    assert (decision.verdict, decision.decided_by, decision.kept) == ("same", charlie, nuctech.uuid)
