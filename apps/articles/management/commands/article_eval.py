"""Recall and precision of the article proposer on the case study (not part of the tests)."""
from django.core.management.base import BaseCommand

from apps.articles.evaluation import KINDS, article_evaluate


class Command(BaseCommand):
    help = ("Run the proposer on data/casestudy/sources/ and compare with the case study's contract, ban, loan, "
            "donation, investigation, ownership, role and court-case records. Writes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--verbose-proposals", action="store_true", help="List every proposal, right or wrong.")

    def handle(self, *args, verbose_proposals=False, **options):
        out = article_evaluate()
        w = self.stdout.write
        w(f"records compared: {len(out.gold)} ({', '.join(KINDS)})")
        w(f"proposals: {len(out.proposals)}, right: {out.right}")
        w(f"recall:    {len(out.found)}/{len(out.gold)} = {out.recall:.0%}  (target >= 60 %)")
        w(f"precision: {out.right}/{len(out.proposals)} = {out.precision:.0%}  (target >= 50 %)")
        w("\nmisses (kind: subject -> object):")
        for g in out.misses:
            w(f"  {g['kind']}: {g['subject']} -> {g['object']}  [{g['key']}]")
        if verbose_proposals:
            w("\nproposals:")
            for p in out.proposals:
                mark = "ok " if p["right"] else "-- "
                w(f"  {mark}{p['kind']}: {p['subject']['name']} -> {p['object']['name']} "
                  f"[{p['signal']}] “{p['quote'][:110]}”")
