"""Benchmark the duplicates page's query on a synthetic catalogue of its own (never dev or test data).

    manage.py duplicates_bench [--entities 100000 --pages 200]

Uses var/bench-duplicates/ (its own SQLite file), built once and reused while its size
matches (--rebuild forces a new one). Names are made-up words; about 3 % of the entities
are near-duplicates of another (a typo, another legal form, a transliterated spelling) in
the same country, and people share common first and last names (large blocks, skipped).
The blocking keys are written by `name_keys_refresh`, as for a bulk import.
Measures `duplicate_page` (the page's query: blocks, members, names, decisions, scores)
from random cursors and by following "next" links, and prints p50/p95 against the target
(p95 <= 1 s at 1M entities).
"""
from __future__ import annotations

import random
import string
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.management import BaseCommand, call_command

from apps.browse.management.commands.browse_bench import percentile

TARGET_MS = 1000.0
_SYLLABLES = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"] + ["tech", "tron", "ex", "on", "ar", "is"]
_FORMS = ["Ltd", "Co., Ltd.", "Company Limited", "GmbH", "Sp. z o.o.", "S.A.", "Inc", "LLC", "", "Group"]
_FIRST = ["John", "Maria", "Ivan", "Li", "Anna", "Peter", "Olga", "Ahmed", "Wei", "Sara"]
_LAST = ["Smith", "Ivanov", "Wang", "Kowalski", "Muller", "Rossi", "Garcia", "Chen", "Novak", "Popescu"]
_COUNTRIES = ["CN", "PL", "DE", "FR", "US", "GB", "RU", "UA", "RS", "NL", "IT", "ES"]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def _typo(rng: random.Random, word: str) -> str:
    i = rng.randrange(1, len(word))
    return word[:i] + rng.choice(string.ascii_lowercase) + word[i + 1:]


class Command(BaseCommand):
    help = "Benchmark the duplicates page's query (blocking) on a synthetic catalogue (own SQLite file)."

    def add_arguments(self, parser):
        parser.add_argument("--entities", type=int, default=100_000)
        parser.add_argument("--pages", type=int, default=200, help="measured pages")
        parser.add_argument("--dir", default=str(Path(settings.VAR_DIR) / "bench-duplicates"))
        parser.add_argument("--rebuild", action="store_true")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, **opts):
        from django.db import connections

        base = Path(opts["dir"])
        base.mkdir(parents=True, exist_ok=True)
        db_path = base / "bench.sqlite3"
        if opts["rebuild"]:
            for suffix in ("", "-wal", "-shm"):
                Path(str(db_path) + suffix).unlink(missing_ok=True)
        settings.DEBUG = False
        connections.close_all()
        for target in (settings.DATABASES["default"], connections.settings["default"],
                       connections["default"].settings_dict):
            target["NAME"] = str(db_path)
        call_command("migrate", verbosity=0, interactive=False)

        from apps.catalog.models import Entity

        have = Entity.objects.count()
        if have != opts["entities"]:
            if have:
                self.stderr.write(f"The benchmark store holds {have} entities; rerun with --rebuild.")
                return
            started = time.monotonic()
            self.build(opts["entities"], random.Random(opts["seed"]))
            self.stdout.write(f"Built {opts['entities']} entities and their blocking keys in "
                              f"{time.monotonic() - started:.0f} s")
        else:
            self.stdout.write(f"Reusing the benchmark store ({have} entities)")
        self.measure(opts)

    def build(self, n: int, rng: random.Random, batch: int = 5000) -> None:
        from django.db import models, transaction
        from django.utils import timezone

        from apps.catalog.models import Entity, NameKey
        from apps.catalog.services import name_keys_refresh
        from apps.catalog.text import normalize_name

        from django.db import connection

        # A bulk load: no fsync, a large page cache, and the blocking index built once at the
        # end (sorted) instead of row by row into a B-tree of millions.
        index = next(i for i in NameKey._meta.indexes if i.name == "name_key_block")
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-400000")
        with connection.schema_editor() as editor:
            editor.remove_index(NameKey, index)
        now = timezone.now()
        made: list[tuple[str, str, str]] = []  # (kind, name, country) of companies, for duplicates
        for start in range(0, n, batch):
            rows = []
            for _ in range(min(batch, n - start)):
                roll = rng.random()
                if roll < 0.03 and made:  # a near-duplicate of an earlier one
                    kind, name, country = rng.choice(made)
                    words = name.split()
                    how = rng.random()
                    if how < 0.4:
                        words[0] = _typo(rng, words[0])
                        name = " ".join(words)
                    elif how < 0.8:
                        name = f"{words[0]} {rng.choice(_FORMS)}".strip()
                    else:
                        name = name.upper()
                elif roll < 0.33:
                    kind, country = "person", rng.choice(_COUNTRIES)
                    name = f"{rng.choice(_FIRST)} {_word(rng)} {rng.choice(_LAST)}"
                else:
                    kind, country = rng.choice(["company"] * 6 + ["organization"]), rng.choice(_COUNTRIES)
                    name = " ".join([_word(rng)] + ([_word(rng)] if rng.random() < 0.4 else [])
                                    + [rng.choice(_FORMS)]).strip()
                    if len(made) < 200_000:
                        made.append((kind, name, country))
                rows.append(Entity(uuid=uuid.uuid4(), kind=kind, name=name, name_norm=normalize_name(name),
                                   country=country, workflow="published", version=1, published_at=now,
                                   identifiers={}))
            with transaction.atomic():
                created = models.QuerySet(model=Entity).bulk_create(rows, batch_size=batch)
                ids = [e.pk for e in created] if all(e.pk for e in created) else list(
                    Entity.objects.order_by("-id").values_list("id", flat=True)[:len(rows)])
                name_keys_refresh(entity_ids=ids, new=True)
            if (start // batch) % 20 == 0:
                self.stdout.write(f"  {start + len(rows)} entities")
        self.stdout.write("  indexing the blocking keys ...")
        with connection.schema_editor() as editor:
            editor.add_index(NameKey, index)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    def measure(self, opts) -> None:
        from apps.catalog.models import NameKey
        from apps.catalog.selectors.matching import duplicate_page

        rng = random.Random(opts["seed"])
        keys = NameKey.objects.count()
        self.stdout.write(f"{keys} blocking keys")
        duplicate_page()  # warm the connection and caches
        latencies, pairs, blocks = [], [], []
        cursor = ""
        for i in range(opts["pages"]):
            if i % 2 == 0:  # a random place in the key order (a page deep in the list) ...
                cursor = "".join(rng.choice(string.ascii_lowercase) for _ in range(3))
            started = time.perf_counter()
            page = duplicate_page(after=cursor)
            latencies.append((time.perf_counter() - started) * 1000)
            pairs.append(len(page.candidates))
            blocks.append(page.blocks_read)
            cursor = page.next_after  # ... then its "next" link
        p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
        self.stdout.write(f"duplicates page ({opts['entities']} entities, {len(latencies)} pages, "
                          f"{sum(pairs) / len(pairs):.0f} pairs and {sum(blocks) / len(blocks):.0f} blocks a page): "
                          f"p50 {p50:.0f} ms, p95 {p95:.0f} ms (target p95 <= {TARGET_MS:.0f} ms: "
                          f"{'met' if p95 <= TARGET_MS else 'MISSED'})")
