"""The import pages: an editor uploads a file, the worker runs the job, the page follows it."""
import pytest
from django.urls import reverse

from apps.catalog.models import Record
from apps.ingest.models import ImportJob
from tests.conftest import wait_for


def _upload(client, path, **fields):
    with open(path, "rb") as handle:
        return client.post(reverse("ingest:job_new"), {"file": handle, "format": "ftm", "dataset": "zala",
                                                       "publisher": "OpenSanctions", "licence": "CC BY-NC 4.0",
                                                       **fields})


@pytest.mark.django_db(transaction=True)
def test_an_editor_uploads_a_file_and_watches_the_job_finish(zala_path, as_user, alice, worker):
    client = as_user(alice)

    response = _upload(client, zala_path)

    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("ingest:job", args=[job.uuid])
    page = client.get(response.url)
    assert b'id="import-bar"' in page.content and b"<progress" in page.content
    wait_for(lambda: ImportJob.objects.get().status == "done", timeout=180, message="the import job")
    partial = client.get(response.url, HTTP_HX_REQUEST="true")
    text = partial.content.decode()
    assert "hx-trigger" not in text  # finished: the page stops polling
    assert "Rows read: 91 of 91" in text and "<td>58</td>" in text and "Dangling references" in text
    assert Record.objects.filter(workflow="draft").count() == 58


@pytest.mark.django_db
def test_a_queued_job_can_be_cancelled_and_the_page_polls_until_then(zala_path, as_user, alice, run_import):
    from apps.ingest.services import import_job_create

    job = import_job_create(user=alice, path=zala_path, dataset="zala")
    client = as_user(alice)
    assert 'hx-trigger="every 1s"' in client.get(reverse("ingest:job", args=[job.uuid])).content.decode()

    client.post(reverse("ingest:job_cancel", args=[job.uuid]))

    job.refresh_from_db()
    assert job.status == "cancelled"
    from apps.ingest.services import import_job_run

    assert import_job_run(job=job).status == "cancelled" and not Record.objects.exists()


@pytest.mark.django_db
def test_only_curators_reach_the_import_pages_and_uploads_have_a_limit(zala_path, as_user, dave, alice, settings):
    assert as_user(None).get(reverse("ingest:job_new")).status_code == 302
    assert as_user(dave).get(reverse("ingest:job_new")).status_code == 403
    settings.VENDORGRAPH_IMPORT_UPLOAD_MAX = 1000

    response = _upload(as_user(alice), zala_path)

    assert response.status_code == 200 and "upload limit" in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_a_reviewer_publishes_the_batch_and_a_cite_names_the_dataset_file_and_line(zala_path, run_import, as_user,
                                                                                   alice, bob):
    job = run_import(zala_path, user=alice)
    client = as_user(bob)

    client.post(reverse("ingest:job_publish", args=[job.uuid]))

    assert not Record.objects.exclude(workflow="published").exists()
    ban = Record.objects.filter(kind="ban", start="2023-02-24", subject__country="AU").first()
    text = as_user(None).get(reverse("citations:cite_record", args=[ban.uuid]), {"format": "text"}).content.decode()
    line = ban.citations.get().locator
    assert "OpenSanctions" in text and "licence CC BY-NC 4.0" in text and f"SHA-256 {job.file_sha256}" in text
    assert f"retrieved {job.created_at:%Y-%m-%d}" in text and f"Quote ({line}):" in text


@pytest.mark.django_db
def test_an_editor_cannot_publish_a_batch(zala_path, run_import, as_user, alice):
    job = run_import(zala_path, user=alice)

    as_user(alice).post(reverse("ingest:job_publish", args=[job.uuid]))

    assert not Record.objects.filter(workflow="published").exists()


@pytest.mark.django_db
def test_a_sanction_missing_from_a_newer_export_shows_as_ended_with_its_line(zala_path, run_import, as_user, bob,
                                                                            tmp_path):
    import json

    from apps.ingest.models import ImportedItem

    run_import(zala_path, user=bob, publish=True)
    lines = zala_path.read_text(encoding="utf-8").splitlines()
    gone = next(n for n, line in enumerate(lines) if json.loads(line)["schema"] == "Sanction")
    newer = tmp_path / "newer.jsonl"
    newer.write_text("\n".join(line for n, line in enumerate(lines) if n != gone) + "\n", encoding="utf-8")
    run_import(newer, user=bob)
    record = ImportedItem.objects.get(external_id=json.loads(lines[gone])["id"]).record

    page = as_user(None).get(f"/records/{record.uuid}/").content.decode()

    assert "Ended: no longer listed in zala since" in page and f"line {gone + 1}" in page
    assert "dataset, CC BY-NC 4.0, retrieved" in page


@pytest.mark.django_db
def test_a_trusted_datasets_later_imports_publish_directly_as_the_reviewer_who_trusted_it(
        zala_path, run_import, as_user, alice, bob, tmp_path):
    job = run_import(zala_path, user=alice)
    as_user(alice).post(reverse("ingest:job_trust", args=[job.uuid]), {"trusted": "1"})
    assert not Record.objects.filter(workflow="published").exists()  # an editor cannot trust
    as_user(bob).post(reverse("ingest:job_trust", args=[job.uuid]), {"trusted": "1"})
    newer = tmp_path / "newer.jsonl"
    newer.write_text(zala_path.read_text(encoding="utf-8").replace('"percentage": ["49"]', '"percentage": ["60"]'),
                     encoding="utf-8")

    run_import(newer, user=alice)

    assert not Record.objects.exclude(workflow="published").exists()
    assert Record.history.filter(history_change_reason__startswith="published", history_user=bob).count() == 58


@pytest.mark.django_db
def test_a_reviewer_publishes_only_the_chosen_rows_with_the_entities_they_name(zala_path, run_import, as_user,
                                                                               alice, bob):
    from apps.catalog.models import Entity
    from apps.ingest.models import ImportedItem

    job = run_import(zala_path, user=alice)
    client = as_user(bob)
    page = client.get(reverse("ingest:job", args=[job.uuid])).content.decode()
    assert "This import's batch" in page and "Publish the chosen rows" in page
    ban = Record.objects.filter(kind="ban", start="2023-02-24", subject__country="AU").first()
    item = ImportedItem.objects.get(record=ban)
    assert f'value="{item.pk}"' in page or "Next" in page  # listed on a page of the batch

    client.post(reverse("ingest:job_publish", args=[job.uuid]), {"scope": "chosen", "item": [item.pk]})

    ban.refresh_from_db()
    assert ban.workflow == "published"
    assert {ban.subject.workflow, ban.object.workflow} == {"published"}
    assert Record.objects.filter(workflow="published").count() == 1
    assert Record.objects.filter(workflow="draft").count() == 57
    assert Entity.objects.filter(workflow="published").count() == 2
    messages = client.get(reverse("ingest:job", args=[job.uuid])).content.decode()
    assert "Published the chosen rows." in messages


@pytest.mark.django_db
def test_publishing_chosen_rows_needs_a_choice_and_a_reviewer(zala_path, run_import, as_user, alice, bob):
    job = run_import(zala_path, user=alice)

    response = as_user(bob).post(reverse("ingest:job_publish", args=[job.uuid]), {"scope": "chosen"}, follow=True)
    assert "Choose at least one row" in response.content.decode()
    from apps.ingest.models import ImportedItem

    item = ImportedItem.objects.filter(last_job=job).exclude(record=None).first()
    as_user(alice).post(reverse("ingest:job_publish", args=[job.uuid]), {"scope": "chosen", "item": [item.pk]})
    assert not Record.objects.filter(workflow="published").exists()
