"""A security incident's playbook and breach clock as the client derives them today.

Pure (standard library and the domain only; the queue's stdlib reader uses it). The server
does not send a playbook kind, checked steps, ``aware_at`` or ``notified_at`` yet, so:

* **Which playbook**: a ``playbook`` field of the server's snapshot when there is one;
  else, for an incident in the security category, the first kind whose keywords
  (:data:`KEYWORDS`) appear in its title, else in its description. No match: no playbook.
* **Checked steps** are timeline notes in the domain's structured form
  (``[playbook] ddos/mitigate done: <step text>``; :mod:`incidenttui.domain.playbooks`
  writes and parses it: :func:`~incidenttui.domain.playbooks.check_text`,
  :func:`~incidenttui.domain.playbooks.checked_steps`).
* **The 72-hour clock** (domain/breach.py) runs for a personal-data breach: a snapshot's
  ``aware_at`` (and ``notified_at``) when the server sends them; else when the playbook is
  one with ``personal_data`` (the data-breach kind), from the moment the incident was
  detected (else logged), stopped by checking the ``notify-authority`` step (the check
  note's time is the notification's).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from incidenttui.domain.breach import BreachClock, breach_clock
from incidenttui.domain.playbooks import (
    DEFAULT_PLAYBOOKS,
    NOTIFY_STEP,
    Playbook,
    checked_steps,
    choose_kind,
)


def _time(value: Any) -> dt.datetime | None:
    # dt.datetime, not a bare name: a test's frozen clock replaces modules' ``datetime``.
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, str) and value:
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None


@dataclass(frozen=True)
class SecurityView:
    """What the screens show of a security incident: its playbook, checks and clock."""

    playbook: Playbook | None
    checked: dict[str, dt.datetime]
    breach: BreachClock | None


def security_view(incident: Any, events: Iterable[Any], now: dt.datetime) -> SecurityView:
    """The playbook, checked steps and breach clock of ``incident`` (a stored incident:
    ``category``, ``title``, ``description``, ``detected_at``, ``created_at``, ``base``)."""
    base: Mapping[str, Any] = getattr(incident, "base", None) or {}
    kind = choose_kind(incident.category, incident.title or "",
                       getattr(incident, "description", "") or "", base.get("playbook"))
    playbook = DEFAULT_PLAYBOOKS.get(kind) if kind is not None else None
    checked = checked_steps(events, kind) if kind is not None else {}
    return SecurityView(playbook, checked, breach_of(
        base, playbook, checked, incident.detected_at or incident.created_at, now))


def breach_times(base: Mapping[str, Any], playbook: Playbook | None,
                 checked: Mapping[str, dt.datetime], detected: dt.datetime | None
                 ) -> tuple[dt.datetime, dt.datetime | None] | None:
    """``(aware_at, notified_at)`` of a personal-data breach; None when it is none."""
    aware = _time(base.get("aware_at"))
    notified = _time(base.get("notified_at"))
    if aware is None and playbook is not None and playbook.personal_data:
        aware = _time(detected)
        notified = checked.get(NOTIFY_STEP)
    if aware is None:
        return None
    if notified is not None and notified < aware:
        notified = aware  # a clock skew between clients: the notification still counts
    return aware, notified


def breach_of(base: Mapping[str, Any], playbook: Playbook | None,
              checked: Mapping[str, dt.datetime], detected: dt.datetime | None,
              now: dt.datetime) -> BreachClock | None:
    """The 72-hour clock at ``now``, or None when the incident is no personal-data breach."""
    times = breach_times(base, playbook, checked, detected)
    if times is None:
        return None
    return breach_clock(times[0], now if now.tzinfo else now.replace(tzinfo=dt.UTC), times[1])
