import io

import pytest
from django.core.management import CommandError, call_command

from apps.catalog.models import Record

pytestmark = pytest.mark.django_db


def test_the_benchmark_imports_a_synthetic_file_and_prints_its_figures():
    out = io.StringIO()

    call_command("ingest_bench", "--n", "30", stdout=out)

    text = out.getvalue()
    assert "objects/s" in text and "0 refused" in text and "peak memory" in text
    assert Record.objects.filter(kind__in=["ownership", "role", "ban"]).count() == 20
    with pytest.raises(CommandError, match="already holds entities"):
        call_command("ingest_bench", "--n", "30", stdout=io.StringIO())


def test_the_benchmark_times_the_match_proposals_against_a_catalogue_it_loads_first():
    from apps.ingest.models import ImportJob

    out = io.StringIO()

    call_command("ingest_bench", "--n", "60", "--catalogue", "60", stdout=out)

    text = out.getvalue()
    assert "catalogue before the timed import: 24 entities" in text  # 20 and 4 sanction authorities
    assert "match proposals:" in text and "per CPU second" in text and "load average" in text
    assert sorted(ImportJob.objects.values_list("dataset", "status")) == [("bench", "done"), ("bench-base", "done")]
