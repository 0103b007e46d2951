"""An imported, published cluster in the graph: owners in the chain (as of a date), bans on the map."""
import pytest

from apps.catalog.selectors.browse import deployments_view, ownership_view
from apps.ingest.models import ImportedItem
from apps.sync.services import outbox_drain

pytestmark = pytest.mark.django_db

CST = "NK-abdzbEBkqyT29GyREbiURZ"  # LLC CST, the drone maker behind ZALA, sanctioned 28 times in the file


def _owners(view) -> set[str]:
    return {chain["steps"][0]["owner"]["name"] for chain in view["up"]["chains"] if chain["steps"]} \
        if "up" in view else {step["owner"]["name"] for chain in view["chains"] for step in chain["steps"][:1]}


def test_the_published_cluster_shows_its_current_owners_and_its_bans(graph, zala_path, run_import, bob):
    run_import(zala_path, user=bob, publish=True)
    outbox_drain()
    cst = ImportedItem.objects.get(external_id=CST).entity

    now = ownership_view(cst, as_of="2025-06-01")
    then = ownership_view(cst, as_of="2020-06-01")

    text_now, text_then = repr(now), repr(then)
    assert "JSC Kalashnikov Concern" in text_now
    # Zakharov's 50 % and 48 % stakes ended in 2023 (his 51 % has no end): as of 2020 all three are current.
    assert text_then.count("Zakharova") >= 1 and "Svetlana Nikolaevna Zakharova" not in text_now
    footprint = deployments_view(cst)
    assert footprint["map"] and {entry["status"] for entry in footprint["map"].values()} == {"banned"}
    assert {"AU", "GB", "US"} <= set(footprint["map"])
