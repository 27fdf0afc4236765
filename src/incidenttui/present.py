"""How incident values read for people: one wording for the app and the scripting CLI.

SLA clocks, durations, percentages, statuses and references are written here and nowhere
else, so ``incidenttui show`` and the detail screen say the same thing about the same clock.
Standard library and the pure domain only: the queue's first paint draws its cells from here
before SQLModel or httpx are imported.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from incidenttui.domain.enums import Status
from incidenttui.domain.refs import ref

__all__ = ["STATUS_LONG", "STATUS_SHORT", "age", "breach_marker", "breach_text", "clock_text",
           "duration", "forgotten_text",
           "percent", "ref", "seconds", "sla_cell", "status_long", "status_short"]

#: Four letters or fewer, for the queue's narrow status column.
STATUS_SHORT: dict[Status, str] = {
    Status.NEW: "NEW", Status.ACKNOWLEDGED: "ACK", Status.IN_PROGRESS: "WIP",
    Status.ON_HOLD: "HOLD", Status.RESOLVED: "RSLV", Status.CLOSED: "CLSD",
    Status.CANCELLED: "CNCL",
}
#: A word or two, for titles.
STATUS_LONG: dict[Status, str] = {
    Status.NEW: "new", Status.ACKNOWLEDGED: "acked", Status.IN_PROGRESS: "working",
    Status.ON_HOLD: "on hold", Status.RESOLVED: "resolved", Status.CLOSED: "closed",
    Status.CANCELLED: "cancelled",
}


def status_short(status: str) -> str:
    """``ACK`` for acknowledged (an unknown status from a newer server: as it is)."""
    return STATUS_SHORT.get(status, status)  # type: ignore[call-overload]


def status_long(status: str) -> str:
    """``acked`` for acknowledged (an unknown status: as it is)."""
    return STATUS_LONG.get(status, status)  # type: ignore[call-overload]


def duration(delta: timedelta) -> str:
    """A short duration: ``45s``, ``12m``, ``3h05m``, ``2d04h``; negative gets ``-``."""
    total = int(delta.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    if total < 60:
        return f"{sign}{total}s"
    minutes = total // 60
    if minutes < 60:
        return f"{sign}{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{sign}{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{sign}{days}d{hours:02d}h"


def seconds(value: float | None) -> str:
    """A duration given in seconds (a KPI mean); ``-`` when there is none."""
    return "-" if value is None else duration(timedelta(seconds=value))


def percent(value: float | None) -> str:
    """``97.5%``; ``-`` when there is nothing to take a share of."""
    return "-" if value is None else f"{value:.1f}%"


def age(created: datetime, now: datetime) -> str:
    """How long ago ``created`` was."""
    return duration(now - created)


def sla_cell(due: datetime | None, now: datetime, *, paused: bool = False) -> tuple[str, bool]:
    """The SLA of a list line and whether it is breached: ``19m`` to breach; ``!3h05m`` since
    the breach (it stands out without colour); ``paused`` on hold; ``-`` when none runs."""
    if due is None:
        return ("paused" if paused else "-"), False
    left = due - now
    if left.total_seconds() < 0:
        return "!" + duration(-left), True
    return duration(left), False


def escalation_cell(due: datetime | None, now: datetime) -> str:
    """The queue's countdown to the next automatic escalation, in at most four characters:
    ``4m``, ``3h``, ``2d`` (whole units, rounded down; the escalation screen has it to the
    minute); ``<1m`` (the queue repaints about once a minute, so no seconds that would stand
    still); ``due`` when the server is about to move it (or will once it is reachable);
    empty when none is coming."""
    if due is None:
        return ""
    seconds = int((due - now).total_seconds())
    if seconds <= 0:
        return "due"
    if seconds < 60:
        return "<1m"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86_400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86_400}d"


class ClockLike(Protocol):
    """What :func:`clock_text` reads of a :class:`~incidenttui.domain.sla.Clock`."""

    @property
    def remaining(self) -> timedelta: ...

    @property
    def breached(self) -> bool: ...

    stopped: bool
    paused: bool


def clock_text(clock: ClockLike) -> str:
    """One SLA clock in words: ``3h05m left`` (``(paused)`` on hold), ``BREACHED 2h03m ago``
    while it runs past its target, ``met`` or ``BREACHED`` once it has stopped."""
    if clock.stopped:
        return "BREACHED" if clock.breached else "met"
    if clock.breached:
        return f"BREACHED {duration(-clock.remaining)} ago"
    return f"{duration(clock.remaining)} left" + (" (paused)" if clock.paused else "")


def forgotten_text(number: int | None, dropped: int = 0, series: str | None = None) -> str:
    """What the user is told once when the server took an incident out of their sight."""
    text = f"{ref(number, series)} is no longer visible to you; its local copy was removed"
    if dropped:
        text += f" ({dropped} unsent change{'' if dropped == 1 else 's'} dropped)"
    return text


def breach_marker(aware_at: datetime | None, notified_at: datetime | None,
                  now: datetime) -> str:
    """The queue's mark of a personal-data breach still to notify: ``GDPR 2d13h`` left of
    the 72 hours, ``GDPR !3h05m`` overdue (stands out without colour); empty once notified
    or when there is no breach."""
    if aware_at is None or notified_at is not None:
        return ""
    left = aware_at + timedelta(hours=72) - now
    if left.total_seconds() < 0:
        return f"GDPR !{duration(-left)}"
    return f"GDPR {duration(left)}"


def breach_text(clock: Any) -> str:
    """The detail screen's line of a breach clock (domain/breach.py's BreachClock)."""
    deadline = clock.deadline.strftime("%Y-%m-%d %H:%M UTC")
    if clock.stopped:
        return f"GDPR Art. 33: {clock.label} (deadline was {deadline})"
    if clock.overdue:
        return f"GDPR Art. 33: OVERDUE — {clock.label} (deadline {deadline})"
    return f"GDPR Art. 33: {clock.label} (deadline {deadline})"


def policy_lines(view: Any) -> list[str]:
    """An incident's escalation policy (a ``store.escalation.EscalationView``) in a few
    lines: the policy and where the incident is, each level with who it reaches now, and
    the time left before the next automatic move."""
    clock, policy = view.clock, view.policy
    loop = f", pass {clock.position.loop + 1}" if clock.position.loop else ""
    # "policy level", never a bare "level": the incident's support line (ITIL L1-L3, its
    # team) is another thing, shown beside it as "support line L1".
    lines = [f"Escalation policy {policy.name}: at policy level {clock.position.level} of "
             f"{len(policy.levels)}{loop}"]
    for level in view.levels:
        mark = "▶" if level.number == clock.position.level else " "
        reached = ", ".join(f"{target}: {who} on call" if who and target.startswith(
            "schedule ") else target for target, who in level.targets)
        lines.append(f" {mark} {level.number}. {duration(timedelta(seconds=level.timeout))}"
                     f"  {reached}")
    if view.next_move is not None and view.left is not None:
        kind = "re-escalates" if view.next_move.kind.value == "reescalate" else "escalates"
        when = "now (overdue)" if view.left.total_seconds() <= 0 else \
            f"in {duration(view.left)}"
        lines.append(f"{kind} to policy level {view.next_move.to_level} {when}")
    else:
        lines.append("no automatic escalation coming (acknowledged, on hold, closed or the "
                     "policy's last level)")
    return lines


def maintenance_line(windows: Any, now: datetime) -> str:
    """One line for the queue: the maintenance windows running now, and those starting
    within a day ("" when there are none)."""
    running, soon = [], []
    for w in windows:
        finish = min(w.ends_at, w.ended_at) if w.ended_at else w.ends_at
        names = ", ".join(w.services)
        if w.starts_at <= now < finish:
            running.append(f"{names} until {finish.astimezone(UTC):%H:%M} UTC")
        elif now < w.starts_at <= now + timedelta(days=1):
            soon.append(f"{names} from {w.starts_at.astimezone(UTC):%H:%M} UTC")
    parts = []
    if running:
        parts.append("Maintenance (alerts held, SLA paused): " + "; ".join(running))
    if soon:
        parts.append("planned: " + "; ".join(soon))
    return " · ".join(parts)
