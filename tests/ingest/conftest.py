from pathlib import Path

import pytest

from tests.personas import *  # noqa: F401,F403

# shared/ sits beside the repository (as in CI).
SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "ftm"
ZALA = SAMPLES / "opensanctions_zala_cluster.ftm.jsonl"


@pytest.fixture
def zala_path():
    if not ZALA.exists():
        pytest.skip("../shared/samples/ftm is not beside the repository")
    return ZALA


@pytest.fixture
def run_import(charlie):
    """run_import(path, user=charlie, dataset="zala", **options) -> the finished ImportJob."""
    from apps.ingest.services import import_job_create, import_job_run

    def run(path, *, user=None, dataset="zala", **options):
        job = import_job_create(user=user or charlie, path=path, dataset=dataset, publisher="OpenSanctions",
                                licence="CC BY-NC 4.0", url="https://www.opensanctions.org/", **options)
        return import_job_run(job=job)

    return run
