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
