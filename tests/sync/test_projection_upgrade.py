"""An install projected by an older version of the app is rebuilt by `graph_install`."""
import pytest
from django.core.management import call_command

from apps.sync.services import outbox_drain
from graph.connection import run
from graph.sync import PROJECTION_VERSION, projection_version, projection_version_set
from tests.factories import make_entity

pytestmark = pytest.mark.django_db


def test_graph_install_rebuilds_a_graph_projected_by_an_older_version(graph):
    entity = make_entity("Nuctech", workflow="published")
    outbox_drain()
    # What version 1 wrote: the review state under its old name.
    run("MATCH (n:Entity {uid: $uid}) REMOVE n.workflow SET n.status = 'published'", {"uid": str(entity.uuid)})
    projection_version_set(1)
    call_command("graph_install")
    assert projection_version() == PROJECTION_VERSION
    rows = run("MATCH (n:Entity {uid: $uid}) RETURN n.workflow AS w", {"uid": str(entity.uuid)})
    assert rows[0]["w"] == "published"
    # A second run finds the graph current and leaves it alone.
    run("MATCH (n:Entity {uid: $uid}) SET n.workflow = 'marker'", {"uid": str(entity.uuid)})
    call_command("graph_install")
    assert run("MATCH (n:Entity {uid: $uid}) RETURN n.workflow AS w", {"uid": str(entity.uuid)})[0]["w"] == "marker"
