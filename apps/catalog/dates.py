"""Partial dates that keep their precision: "2021", "2024-03", "2023-10-29".

They are stored as ISO 8601 prefixes (as FollowTheMoney does), which sort correctly as
strings and say exactly what the source said, no more.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.db import models

_PATTERN = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")

PRECISIONS = {4: "year", 7: "month", 10: "day"}


def parse_partial_date(value: str) -> tuple[int, int | None, int | None]:
    """Return (year, month, day) of a partial date, raising ValidationError if invalid."""
    match = _PATTERN.match(value or "")
    if not match:
        raise ValidationError(
            "%(value)r is not a date: use YYYY, YYYY-MM or YYYY-MM-DD.", code="invalid_date", params={"value": value}
        )
    year, month, day = (int(g) if g else None for g in match.groups())
    if not 1000 <= year <= 2999:
        raise ValidationError("%(value)r: year out of range.", code="invalid_date", params={"value": value})
    if month is not None and not 1 <= month <= 12:
        raise ValidationError("%(value)r: month must be 01-12.", code="invalid_date", params={"value": value})
    if day is not None:
        last = calendar.monthrange(year, month)[1]
        if not 1 <= day <= last:
            raise ValidationError(
                "%(value)r: day must be 01-%(last)02d in that month.",
                code="invalid_date",
                params={"value": value, "last": last},
            )
    return year, month, day


def precision(value: str) -> str:
    return PRECISIONS.get(len(value or ""), "")


def earliest(value: str) -> dt.date:
    year, month, day = parse_partial_date(value)
    return dt.date(year, month or 1, day or 1)


def latest(value: str) -> dt.date:
    year, month, day = parse_partial_date(value)
    month = month or 12
    return dt.date(year, month, day or calendar.monthrange(year, month)[1])


def ends_before_start(start: str, end: str) -> bool:
    """True when `end` certainly lies before `start` (precision taken into account)."""
    return bool(start and end) and latest(end) < earliest(start)


def validate_partial_date(value: str) -> None:
    if value:
        parse_partial_date(value)


def format_partial_date(value: str) -> str:
    """Human form keeping the precision: 2023, March 2024, 23 October 2023."""
    if not value:
        return ""
    year, month, day = parse_partial_date(value)
    if month is None:
        return str(year)
    name = calendar.month_name[month]
    return f"{name} {year}" if day is None else f"{day} {name} {year}"


class PartialDateField(models.CharField):
    """A CharField that only accepts YYYY, YYYY-MM or YYYY-MM-DD (or empty)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 10)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)
        self.validators.append(validate_partial_date)
