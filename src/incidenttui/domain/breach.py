"""The personal-data breach notification clock (GDPR Art. 33): the supervisory authority is
to be notified within 72 hours of the moment the team became aware of the breach.

Pure: the caller gives the times (timezone-aware UTC) and ``now``; recording the notification
stops the clock. The server keeps ``aware_at`` and ``notified_at`` on the incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

#: GDPR Art. 33(1): "without undue delay and, where feasible, not later than 72 hours".
NOTIFY_WITHIN = timedelta(hours=72)


@dataclass(frozen=True)
class BreachClock:
    """The notification clock of one breach at one moment."""

    aware_at: datetime
    deadline: datetime
    notified_at: datetime | None
    now: datetime

    @property
    def stopped(self) -> bool:
        """The notification is recorded."""
        return self.notified_at is not None

    @property
    def remaining(self) -> timedelta:
        """Time left to notify; negative once overdue. Frozen when notified."""
        end = self.notified_at if self.notified_at is not None else self.now
        return self.deadline - end

    @property
    def overdue(self) -> bool:
        """The deadline passed before the notification (or, without one, before ``now``)."""
        return self.remaining < timedelta(0)

    @property
    def label(self) -> str:
        """A few words for the queue and the detail screen."""
        if self.notified_at is not None:
            late = " late" if self.overdue else ""
            return f"notified{late} after {_hours(self.notified_at - self.aware_at)}"
        if self.overdue:
            return f"notification overdue by {_hours(-self.remaining)}"
        return f"notify within {_hours(self.remaining)}"


def _hours(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def breach_clock(aware_at: datetime, now: datetime,
                 notified_at: datetime | None = None) -> BreachClock:
    """The clock from ``aware_at``; stopped at ``notified_at`` once recorded.

    Refused (ValueError): a naive datetime, or a notification before the awareness.
    """
    for value in (aware_at, now, notified_at):
        if value is not None and value.tzinfo is None:
            raise ValueError("breach clock times must be timezone-aware")
    if notified_at is not None and notified_at < aware_at:
        raise ValueError("the notification cannot come before the team became aware")
    return BreachClock(aware_at, aware_at + NOTIFY_WITHIN, notified_at, now)
