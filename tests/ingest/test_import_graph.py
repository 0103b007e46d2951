"""An imported, published cluster in the graph: owners in the chain (as of a date), bans on the map."""
import pytest

from apps.catalog.selectors.browse import deployments_view, ownership_view
from apps.ingest.models import ImportedItem
from apps.sync.services import outbox_drain

pytestmark = pytest.mark.django_db

CST = "NK-abdzbEBkqyT29GyREbiURZ"  # LLC CST, the drone maker behind ZALA, sanctioned 28 times in the file


def test_the_published_cluster_shows_its_current_owners_and_its_bans(graph, zala_path, run_import, bob):
    run_import(zala_path, user=bob, publish=True)
    outbox_drain()
    cst = ImportedItem.objects.get(external_id=CST).entity

    def owners(as_of):
        view = ownership_view(cst, as_of=as_of)
        return {chain["steps"][0]["owner"]["name"] for chain in view["up"]["chains"] if chain["steps"]}

    # Stakes with an end date are not current after it: Svetlana Zakharova's 1 % ran 2022-01-17 to
    # 2023-03-02 and TransKomplektHolding's 2 % 2019-05-24 to 2023-12-21; the 51 % and 49 % have no end.
    assert owners("2025-06-01") == {"Alexander Vyacheslavovich ZAKHAROV", "JSC Kalashnikov Concern"}
    assert owners("2022-06-01") == {"Alexander Vyacheslavovich ZAKHAROV", "JSC Kalashnikov Concern",
                                    "Svetlana Nikolaevna Zakharova", 'Акціонерне товариство "ТрансКомплектХолдинг"'}
    footprint = deployments_view(cst)
    assert footprint["map"] and {entry["status"] for entry in footprint["map"].values()} == {"banned"}
    assert {"AU", "GB", "US"} <= set(footprint["map"])
