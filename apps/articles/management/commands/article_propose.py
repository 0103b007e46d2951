"""Read one article file and print its mentions and proposed records as JSON (writes nothing),
or with --save store it with its proposals waiting for review on its article page."""
import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.articles.analysis import text_analyse
from apps.articles.reading import DocumentError, read_document


class Command(BaseCommand):
    help = "Propose records from an article (text, HTML or PDF file): prints {\"mentions\": [...], \"proposals\": [...]}."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--url", default="")
        parser.add_argument("--title", default="")
        parser.add_argument("--publisher", default="")
        parser.add_argument("--author", default="")
        parser.add_argument("--date", default="", help="Publication date: YYYY, YYYY-MM or YYYY-MM-DD.")
        parser.add_argument("--language", default="")
        parser.add_argument("--json", action="store_true", help="Print JSON (the default output).")
        parser.add_argument("--save", action="store_true",
                            help="Store the source and its proposals (waiting for review) as USER.")
        parser.add_argument("--drafts", action="store_true",
                            help="With --save: also make every proposal that matches no existing record a draft "
                                 "record citing its quote (they wait in the review queue).")
        parser.add_argument("--user", default="", help="With --save: the editor, reviewer or admin adding it.")

    def handle(self, *args, path, save=False, drafts=False, user="", **opts):
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"{path}: no such file.")
        try:
            document = read_document(file.read_bytes(), filename=file.name)
        except DocumentError as exc:
            raise CommandError(str(exc)) from exc
        overrides = {"url": opts["url"], "title": opts["title"], "publisher": opts["publisher"],
                     "author": opts["author"], "published": opts["date"], "language": opts["language"]}
        if not save:
            result = text_analyse(text=document.text, language=overrides["language"] or document.language)
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False, indent=1))
            return
        from apps.articles.services import article_create, article_proposals_draft

        account = get_user_model().objects.filter(username=user).first() if user else None
        if account is None:
            raise CommandError("--save needs --user USERNAME: an editor, reviewer or admin.")
        try:
            article = article_create(user=account, document=document, overrides=overrides)
            if drafts:
                article_proposals_draft(user=account, article=article)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(f"{file.name}: {'; '.join(getattr(exc, 'messages', [str(exc)]))}") from exc
        proposals = [{"kind": p.kind, "subject": p.subject_name, "object": p.object_name, "date": p.date or None,
                      "amount": None if p.amount is None else str(p.amount), "currency": p.currency or None,
                      "quote": p.quote, "start": p.start, "end": p.end, "state": p.state,
                      "record": str(p.record.uuid) if p.record_id else None}
                     for p in article.proposals.all()]
        self.stdout.write(json.dumps({"source": str(article.source.uuid), "mentions": article.mentions,
                                      "proposals": proposals}, ensure_ascii=False, indent=1))
