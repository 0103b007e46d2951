from django.core.management.base import BaseCommand, CommandError

from apps.ingest.casestudy import DEFAULT_PATH, CaseStudyError, load_casestudy


class Command(BaseCommand):
    help = "Load (or update) a curated case study; idempotent. Default: the Nuctech case study."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(DEFAULT_PATH))
        parser.add_argument("--draft", action="store_true", help="Load without publishing.")

    def handle(self, *args, path, draft, **options):
        try:
            report = load_casestudy(path, publish=not draft)
        except CaseStudyError as exc:
            raise CommandError(str(exc)) from exc
        for bucket in ("created", "updated", "unchanged"):
            counts = getattr(report, bucket)
            if counts:
                self.stdout.write(f"{bucket}: " + ", ".join(f"{n} {what}" for what, n in sorted(counts.items())))
        self.stdout.write(self.style.SUCCESS("case study loaded" if report.changed else "case study already up to date"))
