"""Service-management KPIs: their definitions and arithmetic, in one pure module.

The store reads the facts of each incident in one scan (:data:`FIELDS`, times as seconds
since the epoch, UTC) and hands them to :func:`compute`; the screen, the CLI and the
benchmark all show what comes back. Definitions (also in the README and the KPI screen's
help):

- **window**: incidents logged in ``[since, until)``; cancelled ones are counted apart
  (``cancelled``) and left out of every figure: they were never real incidents.
- **MTTD** (time to detect): impact start → detection. **MTTA** (time to acknowledge):
  logged → first acknowledgement. **MTTR** (time to resolve): logged → resolved, time on
  hold excluded (:func:`work_seconds`). Each as mean, median and p90 (:func:`percentile`,
  nearest rank).
- **missing**: an incident whose status says a time must exist but it does not (acknowledged
  without ``acknowledged_at``, resolved without ``resolved_at``), or without a start or
  detection time, or whose times run backwards, is counted per figure under ``missing`` —
  never silently dropped. Incidents not yet acknowledged or resolved are not missing: they
  are still running.
- **SLA compliance** per priority: *response*: of the incidents whose response clock has
  stopped (acknowledged) or already breached while running, the share acknowledged within
  the target; *resolution*: of the incidents resolved, or still open and already past the
  target (hold excluded), the share resolved within the target.
- **first-contact resolution** (FCR): of the resolved incidents, the share resolved by a
  level-1 team (the service desk) without functional escalation (escalation level 1).
- **escalation rate**: the share functionally escalated (level above 1);
  **management rate**: the share with management engaged (hierarchical escalation).
- **reopen rate**: of the incidents ever resolved (resolved or closed now, or reopened), the
  share reopened at least once.
- **volume** by priority, service, category and team: incidents in the window.
- **backlog**: every incident open now, whatever the window, by its age now (band:
  :data:`AGE_BANDS`).
- **trend**: the last :data:`TREND_WEEKS` weeks before ``until``, week by week: volume,
  MTTA and MTTR medians, resolution SLA compliance.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from incidenttui.domain.enums import Priority
from incidenttui.domain.sla import DEFAULT_SLA, SlaTarget

#: What :func:`compute` reads of each incident, in this order (times: epoch seconds or None).
FIELDS = ("priority", "status", "service", "category", "team", "team_level", "created",
          "started", "detected", "acknowledged", "resolved", "hold_seconds", "on_hold_since",
          "escalation_level", "management_engaged", "reopen_count")
#: Statuses that say the work is done for now (resolved) or for good (closed).
RESOLVED = frozenset({"resolved", "closed"})
#: Statuses that say someone acknowledged the incident at some point.
ACKNOWLEDGED = frozenset({"acknowledged", "in_progress", "on_hold", "resolved", "closed"})
OPEN = frozenset({"new", "acknowledged", "in_progress", "on_hold"})
#: The backlog's age bands: (label, upper bound in seconds; None: no bound).
AGE_BANDS: tuple[tuple[str, float | None], ...] = (
    ("<4h", 4 * 3600.0), ("4-24h", 86_400.0), ("1-3d", 3 * 86_400.0),
    ("3-7d", 7 * 86_400.0), ("7-30d", 30 * 86_400.0), (">30d", None))
TREND_WEEKS = 12
WEEK = 7 * 86_400.0
#: What ``--by`` may group on.
GROUPS = ("service", "team", "category", "priority")


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank ``p``-th percentile (0 < p <= 100) of ``values`` (sorted or not):
    the smallest value with at least p% of the values at or below it. None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float | None:
    """The middle value (the mean of the two middle ones for an even count); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def work_seconds(created: float, resolved: float, hold_seconds: float) -> float:
    """Time to resolve: logged → resolved, less the time spent on hold."""
    return resolved - created - (hold_seconds or 0.0)


def first_contact(team_level: int | None, escalation_level: int) -> bool:
    """Resolved by a level-1 team without functional escalation."""
    return team_level == 1 and escalation_level == 1


def pct(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in percent, one decimal; None when there is no whole."""
    return round(100.0 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class Stat:
    """A duration figure: how many incidents it is over, and its mean, median and p90."""

    n: int
    mean: float | None
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Stat:
        return cls(len(values), sum(values) / len(values) if values else None,
                   median(values), percentile(values, 90))


@dataclass(frozen=True)
class Sla:
    """SLA compliance: how many clocks count (stopped or breached) and how many met."""

    counted: int
    met: int

    @property
    def pct(self) -> float | None:
        return pct(self.met, self.counted)


class _Acc:
    """Adds up one set of incidents (the window, a group, a week)."""

    __slots__ = ("acked", "cancelled", "ever_resolved", "escalated", "fcr", "managed",
                 "missing", "mtta", "mttd", "mttr", "n", "reopened", "resolution",
                 "resolved", "response")

    def __init__(self) -> None:
        self.n = self.cancelled = self.resolved = self.fcr = self.escalated = 0
        self.managed = self.ever_resolved = self.reopened = self.acked = 0
        self.mttd: list[float] = []
        self.mtta: list[float] = []
        self.mttr: list[float] = []
        self.missing: Counter[str] = Counter()
        # priority → [counted, met]
        self.response: dict[int, list[int]] = {}
        self.resolution: dict[int, list[int]] = {}

    def add(self, r: Sequence[Any], now: float, targets: Mapping[int, tuple[float, float]]
            ) -> None:
        (priority, status, _service, _category, _team, team_level, created, started,
         detected, acked, resolved, hold, on_hold_since, level, managed, reopens) = r
        self.n += 1
        response_target, resolution_target = targets[priority]
        if started is None or detected is None or detected < started:
            self.missing["mttd"] += 1
        else:
            self.mttd.append(detected - started)
        response = self.response.setdefault(priority, [0, 0])
        if acked is not None and acked >= created:
            self.mtta.append(acked - created)
            response[0] += 1
            response[1] += acked - created <= response_target
        elif status in ACKNOWLEDGED:
            self.missing["mtta"] += 1
        elif now - created > response_target:
            response[0] += 1  # still unacknowledged, already breached
        resolution = self.resolution.setdefault(priority, [0, 0])
        if status in RESOLVED:
            if resolved is None or work_seconds(created, resolved, hold) < 0:
                self.missing["mttr"] += 1
            else:
                taken = work_seconds(created, resolved, hold)
                self.mttr.append(taken)
                self.resolved += 1
                resolution[0] += 1
                resolution[1] += taken <= resolution_target
                self.fcr += first_contact(team_level, level)
        else:
            held = hold + (now - on_hold_since if on_hold_since is not None else 0.0)
            if now - created - held > resolution_target:
                resolution[0] += 1  # still open, already breached
        self.escalated += level > 1
        self.managed += bool(managed)
        if status in RESOLVED or reopens:
            self.ever_resolved += 1
            self.reopened += reopens > 0

    def summary(self) -> dict[str, Any]:
        """The figures of this set, as plain data (what ``--json`` prints)."""
        response = [sum(v[i] for v in self.response.values()) for i in (0, 1)]
        resolution = [sum(v[i] for v in self.resolution.values()) for i in (0, 1)]
        return {
            "incidents": self.n,
            "mttd": Stat.of(self.mttd).__dict__, "mtta": Stat.of(self.mtta).__dict__,
            "mttr": Stat.of(self.mttr).__dict__,
            "missing": {k: self.missing.get(k, 0) for k in ("mttd", "mtta", "mttr")},
            "response_sla_pct": pct(response[1], response[0]),
            "resolution_sla_pct": pct(resolution[1], resolution[0]),
            "sla_by_priority": {
                f"P{p}": {"response": Sla(*self.response.get(p, (0, 0))).__dict__
                          | {"pct": Sla(*self.response.get(p, (0, 0))).pct},
                          "resolution": Sla(*self.resolution.get(p, (0, 0))).__dict__
                          | {"pct": Sla(*self.resolution.get(p, (0, 0))).pct}}
                for p in sorted(set(self.response) | set(self.resolution))},
            "resolved": self.resolved,
            "first_contact_pct": pct(self.fcr, self.resolved),
            "escalation_pct": pct(self.escalated, self.n),
            "management_pct": pct(self.managed, self.n),
            "reopen_pct": pct(self.reopened, self.ever_resolved),
        }


@dataclass(frozen=True)
class KpiReport:
    """Everything the KPI screen and ``incidenttui kpis`` show (times in epoch seconds)."""

    since: float
    until: float
    now: float
    window: dict[str, Any]
    cancelled: int
    volume: dict[str, dict[str, int]]
    backlog: dict[str, int]
    backlog_missing: int
    trend: list[dict[str, Any]]
    by: str | None = None
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)


def _targets(policy: Mapping[Priority, SlaTarget]) -> dict[int, tuple[float, float]]:
    return {int(p): (t.response.total_seconds(), t.resolution.total_seconds())
            for p, t in policy.items()}


def _group_key(r: Sequence[Any], by: str) -> str:
    if by == "priority":
        return f"P{r[0]}"
    value = r[{"service": 2, "category": 3, "team": 4}[by]]
    return value if value else "(none)"


def age_band(age: float) -> str:
    """The backlog band of an open incident ``age`` seconds old."""
    for label, bound in AGE_BANDS:
        if bound is None or age < bound:
            return label
    return AGE_BANDS[-1][0]


def compute(rows: Iterable[Sequence[Any]], since: float, until: float, now: float, *,
            by: str | None = None, policy: Mapping[Priority, SlaTarget] = DEFAULT_SLA
            ) -> KpiReport:
    """The KPIs of ``rows`` (tuples in :data:`FIELDS` order; a row may be outside the window:
    it then counts for the backlog or the trend only). ``now``: the moment open clocks are
    read at (the end of the window when it lies in the past)."""
    if by is not None and by not in GROUPS:
        raise ValueError(f"cannot group KPIs by {by!r} (use one of {', '.join(GROUPS)})")
    targets = _targets(policy)
    at = min(now, until)
    window = _Acc()
    groups: dict[str, _Acc] = {}
    trend_start = until - TREND_WEEKS * WEEK
    weeks = [_Acc() for _ in range(TREND_WEEKS)]
    volume: dict[str, Counter[str]] = {name: Counter() for name in GROUPS}
    backlog: Counter[str] = Counter()
    backlog_missing = cancelled = 0
    for r in rows:
        status, created = r[1], r[6]
        if created is None:
            backlog_missing += status in OPEN  # no logged time: no age, no window
            continue
        if status in OPEN:
            backlog[age_band(now - created)] += 1
        if created >= until:
            continue
        if status == "cancelled":
            cancelled += since <= created
            continue
        if created >= trend_start:
            weeks[int((created - trend_start) // WEEK)].add(r, at, targets)
        if created < since:
            continue
        window.add(r, at, targets)
        for name in GROUPS:
            volume[name][_group_key(r, name)] += 1
        if by is not None:
            groups.setdefault(_group_key(r, by), _Acc()).add(r, at, targets)
    trend = []
    for index, week in enumerate(weeks):
        summary = week.summary()
        trend.append({"start": trend_start + index * WEEK, "incidents": week.n,
                      "mtta_median": summary["mtta"]["median"],
                      "mttr_median": summary["mttr"]["median"],
                      "resolution_sla_pct": summary["resolution_sla_pct"]})
    ordered = {name: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))
               for name, c in volume.items()}
    ordered["priority"] = dict(sorted(volume["priority"].items()))
    return KpiReport(
        since=since, until=until, now=at, window=window.summary(), cancelled=cancelled,
        volume=ordered, backlog={label: backlog.get(label, 0) for label, _ in AGE_BANDS},
        backlog_missing=backlog_missing, trend=trend, by=by,
        groups={key: acc.summary() for key, acc in sorted(
            groups.items(), key=lambda kv: (-kv[1].n, kv[0]))})


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None]) -> str:
    """One character per value, ``▁`` (lowest) to ``█`` (highest); ``·`` for no value. Shape
    only: the screen prints the first and last values beside it."""
    known = [v for v in values if v is not None]
    if not known:
        return "·" * len(values)
    low, high = min(known), max(known)
    span = high - low
    out = []
    for v in values:
        if v is None:
            out.append("·")
        else:
            out.append(SPARKS[round((v - low) / span * (len(SPARKS) - 1)) if span else 3])
    return "".join(out)
