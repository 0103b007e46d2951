"""A synthetic FollowTheMoney file for the import benchmark (manage.py ingest_bench)."""
from __future__ import annotations

import json
import random
from pathlib import Path

from faker import Faker

COUNTRIES = ["cn", "ru", "pl", "de", "rs", "lt", "us", "gb", "fr", "ua"]
AUTHORITIES = [("us", "Office of Foreign Assets Control"), ("gb", "Office of Financial Sanctions Implementation"),
               ("au", "Department of Foreign Affairs and Trade"), ("ua", "National Security and Defense Council")]


def ftm_synthesize(path: Path, n: int, seed: int = 9, prefix: str = "") -> dict[str, int]:
    """About `n` objects: entities (60 % companies, 30 % people, 10 % public bodies) and two
    relationships per entity on average (ownership, directorship, sanction). Streams to disk;
    the same `seed` writes the same file. `prefix`: before every id (two files of other ids).
    Returns the count of rows by schema."""
    rng, fake = random.Random(seed), Faker()
    Faker.seed(seed)
    entities = max(3, n // 3)
    counts = {"Company": 0, "Person": 0, "PublicBody": 0, "Ownership": 0, "Directorship": 0, "Sanction": 0}
    companies, people = [], []
    with open(path, "w", encoding="utf-8") as out:
        def write(schema, props, ident):
            out.write(json.dumps({"id": prefix + ident, "schema": schema, "properties": props}, ensure_ascii=False) + "\n")
            counts[schema] += 1

        for i in range(entities):
            roll, country = rng.random(), rng.choice(COUNTRIES)
            if roll < 0.6:
                ident = f"co-{i}"
                write("Company", {"name": [fake.company()], "country": [country],
                                  "registrationNumber": [str(rng.randrange(10**9))]}, ident)
                companies.append(ident)
            elif roll < 0.9:
                ident = f"pe-{i}"
                write("Person", {"name": [fake.name()], "country": [country],
                                 "birthDate": [fake.date_of_birth().isoformat()]}, ident)
                people.append(ident)
            else:
                write("PublicBody", {"name": [f"{fake.city()} {rng.choice(['Customs', 'Police', 'Ministry'])}"],
                                     "country": [country]}, f"pb-{i}")
        for i in range(entities * 2):
            kind = rng.random()
            if kind < 0.45 and len(companies) > 1:
                owner, asset = rng.sample(companies, 2)
                write("Ownership", {"owner": [prefix + owner], "asset": [prefix + asset], "percentage": [str(rng.randrange(1, 101))],
                                    "startDate": [f"{rng.randrange(1995, 2024)}"]}, f"ow-{i}")
            elif kind < 0.8 and people and companies:
                write("Directorship", {"director": [prefix + rng.choice(people)], "organization": [prefix + rng.choice(companies)],
                                       "role": ["Director"]}, f"di-{i}")
            elif companies:
                country, authority = rng.choice(AUTHORITIES)
                write("Sanction", {"entity": [prefix + rng.choice(companies)], "authority": [authority], "country": [country],
                                   "startDate": [f"{rng.randrange(2014, 2025)}-0{rng.randrange(1, 10)}-1{rng.randrange(0, 9)}"],
                                   "program": ["Synthetic program"]}, f"sa-{i}")
    return counts


def synthesize(path: Path, *, n: int, seed: int = 9) -> dict[str, int]:
    return ftm_synthesize(path, n, seed)
