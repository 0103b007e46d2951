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
        w(f"of the right proposals, subject and object the right way round: "
          f"{sum(p['direction'] for p in out.proposals if p['right'])}/{out.right}")
        w("\nby kind:  recalled/records  right/proposals")
        for kind in KINDS:
            gold = [g for g in out.gold if g["kind"] == kind]
            mine = [p for p in out.proposals if p["kind"] == kind]
            found = sum(1 for g in gold if g["key"] in out.found)
            w(f"  {kind:<14} {found:>3}/{len(gold):<3}      {sum(p['right'] for p in mine):>3}/{len(mine)}")
        w("\nmisses (kind: subject -> object):")
        for g in out.misses:
            w(f"  {g['kind']}: {g['subject']} -> {g['object']}  [{g['key']}]")
        if verbose_proposals:
            w("\nproposals:")
            for p in out.proposals:
                mark = "ok " if p["right"] else "-- "
                w(f"  {mark}{p['kind']}: {p['subject']['name']} -> {p['object']['name']} "
                  f"[{p['signal']}] “{p['quote'][:110]}”")
