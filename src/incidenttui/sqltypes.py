"""Column types shared by the server's database and the client's store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.types import DateTime, TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC and always returns timezone-aware UTC datetimes.

    SQLite keeps no time zone, so without this the same column would come back naive there and
    aware on PostgreSQL.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Now, timezone-aware UTC, at microsecond precision."""
    return datetime.now(UTC)
