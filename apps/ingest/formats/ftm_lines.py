"""FollowTheMoney JSON lines: the first format (apps.ingest.ftm reads and validates it)."""
from __future__ import annotations

from pathlib import Path

from apps.ingest import ftm
from apps.ingest.formats import Checked, check_rows

SUFFIX = ".jsonl"
NEEDS_MAPPING = False
PARSE_KEEPS = True  # parse() takes `keep`: a pass reads only the schemas it wants


def default_dataset(path: Path, options: dict) -> str:
    return path.name.split(".")[0]


def parse(path: Path, options: dict, keep=None):
    """The rows; `keep`: only those whose schema it accepts (see ftm.read_rows)."""
    return ftm.read_rows(path, keep)


def check(path: Path, options: dict) -> Checked:
    return check_rows(ftm.read_rows(path), not_this_format="not a FollowTheMoney file: ")
