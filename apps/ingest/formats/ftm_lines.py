"""FollowTheMoney JSON lines: the first format (apps.ingest.ftm reads and validates it)."""
from __future__ import annotations

from pathlib import Path

from apps.ingest import ftm
from apps.ingest.formats import Checked, FormatRefused

SUFFIX = ".jsonl"
NEEDS_MAPPING = False


def default_dataset(path: Path, options: dict) -> str:
    return path.name.split(".")[0]


def parse(path: Path, options: dict):
    return ftm.read_rows(path)


def check(path: Path, options: dict) -> Checked:
    try:
        total, ids, refused = ftm.scan(path)
    except ftm.NotFtM as exc:
        raise FormatRefused(str(exc)) from exc
    return Checked(total, ids, refused)
