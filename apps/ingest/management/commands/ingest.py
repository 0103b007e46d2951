"""manage.py ingest PATH --format ftm|ocds|bods|csv [--mapping FILE] [--dataset --publisher --licence --url
--publish --user]"""
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.ingest.formats import NAMES
from apps.ingest.models import ImportJob
from apps.ingest.selectors import import_job_summary
from apps.ingest.services import import_job_create, import_job_run


class Command(BaseCommand):
    help = ("Import a published dataset file (FollowTheMoney JSON lines, OCDS, BODS 0.4, or a CSV list with a "
            "mapping; .gz accepted) and print the summary.")

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--format", default="ftm", choices=list(NAMES))
        parser.add_argument("--mapping",
                            help="The mapping file of a CSV list (e.g. data/mappings/us_fcc_covered_list.yml).")
        parser.add_argument("--dataset", help="The dataset's name (default: the file name; 'ocds' for OCDS; a "
                                              "list's mapping names its own).")
        parser.add_argument("--publisher", default="")
        parser.add_argument("--licence", default="")
        parser.add_argument("--url", default="")
        parser.add_argument("--publish", action="store_true",
                            help="Publish what is imported, under the usual publishing rules (needs a reviewer).")
        parser.add_argument("--user", help="Who imports (default: the first superuser).")

    def handle(self, *args, **options):
        users = get_user_model().objects.filter(is_active=True)
        user = (users.filter(username=options["user"]).first() if options["user"]
                else users.filter(is_superuser=True).order_by("pk").first())
        if user is None:
            raise CommandError("No such user: pass --user NAME (an editor or above), or create an admin first "
                               "(manage.py createsuperuser).")
        path = Path(options["path"])
        dataset = options["dataset"] or ""  # the format names its default (the file's name, the OCDS prefix, ...)
        try:
            job = import_job_create(user=user, path=path, dataset=dataset, fmt=options["format"],
                                    publisher=options["publisher"], licence=options["licence"], url=options["url"],
                                    publish=options["publish"], mapping=options["mapping"])
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError("; ".join(getattr(exc, "messages", [str(exc)]))) from exc
        job = import_job_run(job=job)
        self.stdout.write(import_job_summary(job=job))
        if job.status != ImportJob.Status.DONE or job.rows_refused:
            raise CommandError(f"{job.original_name}: {job.rows_refused} row(s) refused" if job.status ==
                               ImportJob.Status.DONE else f"{job.original_name}: {job.get_status_display().lower()}")
