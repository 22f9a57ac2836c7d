"""UTC on the way in and out: SQLite hands back naive datetimes even for timezone-aware columns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def utc(value: datetime) -> datetime:
    """An aware UTC datetime; naive values are taken as UTC (that is how they were stored)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    return utc(value).isoformat() if value is not None else None


UtcTime = Annotated[datetime, AfterValidator(utc)]
"""A datetime field of an API schema: always sent with its offset, so no browser guesses the zone."""
