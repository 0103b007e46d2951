"""Bad input gets a clear error naming the field, and changes nothing (store nor outbox)."""
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from apps.catalog.models import Entity, Record
from apps.sync.models import OutboxEvent
from tests.factories import cite, make_entity, make_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    return make_entity("Buyer Ministry", kind="public_body", country="LT"), make_entity("Acme Scanners Ltd", country="CN")


def _assert_rejected(record, field, fragment):
    before = (Record.objects.count(), OutboxEvent.objects.count())
    with pytest.raises(ValidationError) as info:
        record.save()
    errors = info.value.message_dict
    assert field in errors, errors
    assert fragment in " ".join(errors[field])
    assert (Record.objects.count(), OutboxEvent.objects.count()) == before


@pytest.mark.parametrize("value", ["2023-13", "2023-02-30", "23.11.2023", "20231", "2023-1-5"])
def test_it_rejects_invalid_dates(pair, value):
    _assert_rejected(Record(kind="contract", subject=pair[0], object=pair[1], start=value), "start", "2023")


def test_it_rejects_an_end_before_the_start(pair):
    _assert_rejected(Record(kind="ban", subject=pair[0], object=pair[1], start="2023-05", end="2023-04-30"),
                     "end", "before the start")


def test_it_accepts_an_end_within_the_precision_of_the_start(pair):
    # "2023" as a start and "2023-03" as an end do not contradict each other.
    record = make_record(*pair, kind="ban", start="2023", end="2023-03")
    assert record.end == "2023-03"


def test_it_rejects_negative_amounts(pair):
    _assert_rejected(Record(kind="contract", subject=pair[0], object=pair[1], amount=Decimal("-5"), currency="EUR"),
                     "amount", "greater than or equal to 0")


def test_it_rejects_unknown_currencies(pair):
    _assert_rejected(Record(kind="contract", subject=pair[0], object=pair[1], amount=Decimal("5"), currency="EUX"),
                     "currency", "ISO 4217")


def test_it_rejects_an_amount_without_currency(pair):
    _assert_rejected(Record(kind="contract", subject=pair[0], object=pair[1], amount=Decimal("5")),
                     "currency", "needs its currency")


def test_it_rejects_a_record_pointing_at_a_missing_entity(pair):
    _assert_rejected(Record(kind="contract", subject=pair[0], object_id=987654), "object", "does not exist")


def test_it_rejects_publishing_without_a_citation(pair):
    _assert_rejected(Record(kind="contract", subject=pair[0], object=pair[1], workflow="published"),
                     "workflow", "without at least one citation")


def test_it_publishes_once_a_verified_citation_exists(pair):
    record = make_record(*pair, kind="contract", start="2021")
    cite(record, "Acme Scanners Ltd won a contract worth 1,200,000 euros in 2021.")
    record.workflow = "published"
    record.save()
    assert Record.objects.get(pk=record.pk).workflow == "published"


def test_it_rejects_a_quote_that_is_not_in_the_source(pair):
    record = make_record(*pair)
    with pytest.raises(ValidationError) as info:
        cite(record, "Acme Scanners Ltd won every contract.")
    assert "not found verbatim" in " ".join(info.value.message_dict["quote"])
    assert record.citations.count() == 0


def test_it_rejects_self_ownership_and_shares_over_100(pair):
    _assert_rejected(Record(kind="ownership", subject=pair[1], object=pair[1]), "object", "cannot own itself")
    _assert_rejected(Record(kind="ownership", subject=pair[0], object=pair[1], share_pct=Decimal("120")),
                     "share_pct", "less than or equal to 100")


def test_it_rejects_unknown_country_codes():
    with pytest.raises(ValidationError) as info:
        make_entity("Somewhere Ltd", country="ZZ")
    assert "ISO 3166-1" in " ".join(info.value.message_dict["country"])
    assert not Entity.objects.filter(name="Somewhere Ltd").exists()


def test_it_rejects_a_status_of_another_kind(pair):
    _assert_rejected(Record(kind="ban", subject=pair[0], object=pair[1], status="awarded"), "status", "in_force")
