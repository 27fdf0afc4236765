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
from operator import itemgetter
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


def percentile(values: Sequence[float], p: float, *, ordered: bool = False) -> float | None:
    """The nearest-rank ``p``-th percentile (0 < p <= 100) of ``values``: the smallest value
    with at least p% of the values at or below it. None when empty. ``ordered``: the values
    are sorted already."""
    if not values:
        return None
    if not ordered:
        values = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(values)))
    return values[rank - 1]


def median(values: Sequence[float], *, ordered: bool = False) -> float | None:
    """The middle value (the mean of the two middle ones for an even count); None if empty.
    ``ordered``: the values are sorted already."""
    if not values:
        return None
    if not ordered:
        values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2.0


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
        ordered = sorted(values)  # once, for both ranks
        return cls(len(ordered), sum(ordered) / len(ordered) if ordered else None,
                   median(ordered, ordered=True), percentile(ordered, 90, ordered=True))


@dataclass(frozen=True)
class Sla:
    """SLA compliance: how many clocks count (stopped or breached) and how many met."""

    counted: int
    met: int

    @property
    def pct(self) -> float | None:
        return pct(self.met, self.counted)


#: One incident's figures (:func:`facts`): (priority, ttd, tta, ttr, response, resolution,
#: missing, fcr, escalated, managed, ever resolved, reopened). ``response`` and ``resolution``
#: are 0 (does not count), 1 (counts, breached) or 2 (counts, met); ``missing`` is a bit
#: set (MISSING_BITS); durations are None when not measured.
Facts = tuple[int, float | None, float | None, float | None, int, int, int, bool, bool, bool,
              bool, bool]
MISSING_BITS = {"mttd": 1, "mtta": 2, "mttr": 4}


def facts(r: Sequence[Any], now: float, targets: Mapping[int, tuple[float, float]]) -> Facts:
    """What one incident (a row in :data:`FIELDS` order) adds to the figures, by the
    definitions above; clocks still running are read at ``now``."""
    (priority, status, _service, _category, _team, team_level, created, started,
     detected, acked, resolved, hold, on_hold_since, level, managed, reopens) = r
    response_target, resolution_target = targets[priority]
    missing = 0
    if started is None or detected is None or detected < started:
        ttd = None
        missing = 1
    else:
        ttd = detected - started
    tta = None
    if acked is not None and acked >= created:
        tta = acked - created
        response = 2 if tta <= response_target else 1
    elif status in ACKNOWLEDGED:
        missing |= 2
        response = 0
    else:  # still unacknowledged: counts once breached
        response = 1 if now - created > response_target else 0
    ttr = None
    fcr = False
    done = status in RESOLVED
    if done:
        taken = None if resolved is None else work_seconds(created, resolved, hold)
        if taken is None or taken < 0:
            missing |= 4
            resolution = 0
        else:
            ttr = taken
            resolution = 2 if taken <= resolution_target else 1
            fcr = first_contact(team_level, level)
    else:  # still open: counts once breached (hold excluded, a running hold too)
        held = hold + (now - on_hold_since if on_hold_since is not None else 0.0)
        resolution = 1 if now - created - held > resolution_target else 0
    return (priority, ttd, tta, ttr, response, resolution, missing, fcr, level > 1,
            bool(managed), done or reopens > 0, reopens > 0)


class _Acc:
    """Adds up one set of incidents (the window, a group, a week) from their :func:`facts`,
    kept as a list and summed in bulk (comprehensions: this runs for 100,000 incidents)."""

    __slots__ = ("facts",)

    def __init__(self) -> None:
        self.facts: list[Facts] = []

    @property
    def n(self) -> int:
        return len(self.facts)

    def add(self, f: Facts) -> None:
        self.facts.append(f)

    def _sla(self, column: int) -> dict[int, list[int]]:
        """priority → [counted, met] for the response (4) or resolution (5) clock."""
        out: dict[int, list[int]] = {}
        # Counter counts in C: (priority, state) pairs, state 1 breached or 2 met.
        for (priority, state), n in Counter(map(itemgetter(0, column), self.facts)).items():
            if state:
                counts = out.setdefault(priority, [0, 0])
                counts[0] += n
                counts[1] += n if state == 2 else 0
        return out

    def summary(self) -> dict[str, Any]:
        """The figures of this set, as plain data (what ``--json`` prints)."""
        facts = self.facts
        by_priority = {"response": self._sla(4), "resolution": self._sla(5)}
        response, resolution = ([sum(v[i] for v in by_priority[clock].values()) for i in (0, 1)]
                                for clock in ("response", "resolution"))
        durations = {name: [f[column] for f in facts if f[column] is not None]
                     for name, column in (("mttd", 1), ("mtta", 2), ("mttr", 3))}
        masks = [f[6] for f in facts if f[6]]
        resolved = len(durations["mttr"])
        ever = [f[11] for f in facts if f[10]]

        def sla(clock: str, priority: int) -> dict[str, Any]:
            counted, met = by_priority[clock].get(priority, (0, 0))
            return {"counted": counted, "met": met, "pct": pct(met, counted)}

        return {
            "incidents": len(facts),
            **{name: Stat.of(values).__dict__ for name, values in durations.items()},
            "missing": {name: sum(1 for m in masks if m & bit)
                        for name, bit in MISSING_BITS.items()},
            "response_sla_pct": pct(response[1], response[0]),
            "resolution_sla_pct": pct(resolution[1], resolution[0]),
            "sla_by_priority": {
                f"P{p}": {"response": sla("response", p), "resolution": sla("resolution", p)}
                for p in sorted(set(by_priority["response"]) | set(by_priority["resolution"]))},
            "resolved": resolved,
            "first_contact_pct": pct(sum(1 for f in facts if f[3] is not None and f[7]),
                                     resolved),
            "escalation_pct": pct(sum(1 for f in facts if f[8]), len(facts)),
            "management_pct": pct(sum(1 for f in facts if f[9]), len(facts)),
            "reopen_pct": pct(sum(ever), len(ever)),
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


#: Where each grouping's value is in a row (priority is labelled P1…P5 at the end).
_GROUP_COLUMN = {"priority": 0, "service": 2, "category": 3, "team": 4}


def _label(by: str, value: Any) -> str:
    if by == "priority":
        return f"P{value}"
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
    in_window = window.facts.append
    groups: dict[Any, _Acc] = {}
    group_column = _GROUP_COLUMN[by] if by is not None else None
    trend_start = until - TREND_WEEKS * WEEK
    weeks = [_Acc() for _ in range(TREND_WEEKS)]
    rows_in_window: list[Sequence[Any]] = []
    window_rows = rows_in_window.append
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
        if created < trend_start and created < since:
            continue  # an open incident older than the window and the trend: backlog only
        f = facts(r, at, targets)
        if created >= trend_start:
            weeks[int((created - trend_start) // WEEK)].facts.append(f)
        if created < since:
            continue
        in_window(f)
        window_rows(r)
        if group_column is not None:
            key = r[group_column]
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Acc()
            group.add(f)
    trend = []
    for index, week in enumerate(weeks):
        summary = week.summary()
        trend.append({"start": trend_start + index * WEEK, "incidents": week.n,
                      "mtta_median": summary["mtta"]["median"],
                      "mttr_median": summary["mttr"]["median"],
                      "resolution_sla_pct": summary["resolution_sla_pct"]})
    # Counted by the raw value in C (this runs over 100,000 rows), labelled once.
    volume = {name: Counter(map(itemgetter(_GROUP_COLUMN[name]), rows_in_window))
              for name in GROUPS}
    ordered = {name: dict(sorted(((_label(name, k), v) for k, v in c.items()),
                                 key=lambda kv: (-kv[1], kv[0])))
               for name, c in volume.items()}
    ordered["priority"] = {_label("priority", k): v
                           for k, v in sorted(volume["priority"].items())}
    return KpiReport(
        since=since, until=until, now=at, window=window.summary(), cancelled=cancelled,
        volume=ordered, backlog={label: backlog.get(label, 0) for label, _ in AGE_BANDS},
        backlog_missing=backlog_missing, trend=trend, by=by,
        groups={key: acc.summary() for key, acc in sorted(
            ((_label(by, k), acc) for k, acc in groups.items()) if by is not None else (),
            key=lambda kv: (-kv[1].n, kv[0]))})


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None]) -> str:
    """One character per value, ``▁`` (lowest) to ``█`` (highest); ``·`` for no value; all
    equal: ``▄`` (``▁`` when all zero). Shape only: the first and last values go beside it."""
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
            level = round((v - low) / span * (len(SPARKS) - 1)) if span else (3 if high else 0)
            out.append(SPARKS[level])
    return "".join(out)
