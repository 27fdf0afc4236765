"""How the KPIs read for people: one wording for the KPI screen and ``incidenttui kpis``.

Plain text only (no colour needed: bars and sparklines are characters), every line at most
78 cells, so it reads the same at 80x24, over SSH and with ``NO_COLOR``. Standard library and
the pure domain only.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from incidenttui.domain.kpis import AGE_BANDS, sparkline
from incidenttui.present import percent, seconds

#: The KPI definitions, as the screen's help and the README say them.
DEFINITIONS = (
    "Window: incidents logged in [since, until); cancelled ones are counted apart and left "
    "out of every figure.",
    "MTTD: impact start -> detection. MTTA: logged -> first acknowledgement. MTTR: logged -> "
    "resolved, time on hold excluded. Each as mean, median and p90 (nearest rank).",
    "missing: incidents whose times for a figure are absent or run backwards (e.g. resolved "
    "without a resolved time); counted, never dropped. Running clocks are not missing.",
    "SLA response: of clocks stopped (acknowledged) or already breached, the share "
    "acknowledged within the target. SLA resolution: of incidents resolved, or open and "
    "already past the target (hold excluded), the share resolved within it.",
    "FCR (first-contact resolution): of resolved incidents, the share resolved by a level-1 "
    "team without functional escalation.",
    "Escalation: share functionally escalated (level > 1); management: share with "
    "management engaged (hierarchical). Reopen: of incidents ever resolved, the share "
    "reopened at least once.",
    "Backlog: every incident open now, by its age now, whatever the window. Trend: the 12 "
    "weeks before the window's end, oldest first.",
)


def _day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def bars(counts: dict[str, int], *, width: int = 40, limit: int = 10) -> list[str]:
    """``name  count  ####`` lines, the longest bar ``width`` characters; top ``limit``."""
    top = max(counts.values(), default=0)
    if not top:
        return ["  (none)"]
    return [f"  {name[:18]:<18} {count:>6} {'#' * max(1, round(width * count / top))}"
            for name, count in list(counts.items())[:limit]]


def _stat_line(name: str, stat: dict[str, Any], missing: int, extra: str = "") -> str:
    return (f"  {name:<5} {seconds(stat['mean']):>8} {seconds(stat['median']):>8} "
            f"{seconds(stat['p90']):>8} {stat['n']:>6} {missing:>8}{extra}")


def summary_lines(report: Any) -> list[str]:
    """The window's figures: durations, SLA per priority, rates, backlog."""
    w = report.window
    lines = [f"  {'':<5} {'mean':>8} {'median':>8} {'p90':>8} {'n':>6} {'missing':>8}",
             _stat_line("MTTD", w["mttd"], w["missing"]["mttd"]),
             _stat_line("MTTA", w["mtta"], w["missing"]["mtta"]),
             _stat_line("MTTR", w["mttr"], w["missing"]["mttr"], "  (hold excluded)"),
             "", f"  SLA met   {'response':>16} {'resolution':>16}",
             f"  {'all':<8}{percent(w['response_sla_pct']):>18} "
             f"{percent(w['resolution_sla_pct']):>16}"]
    for name, sla in w["sla_by_priority"].items():
        response, resolution = sla["response"], sla["resolution"]
        lines.append(f"  {name:<8}{percent(response['pct']):>9} of {response['counted']:>5} "
                     f"{percent(resolution['pct']):>7} of {resolution['counted']:>5}")
    lines += ["",
              f"  first-contact resolution {percent(w['first_contact_pct'])} of "
              f"{w['resolved']} resolved",
              f"  escalated {percent(w['escalation_pct'])} · management engaged "
              f"{percent(w['management_pct'])} · reopened {percent(w['reopen_pct'])}",
              "", "open backlog by age: " + " · ".join(
                  f"{label} {report.backlog[label]}" for label, _ in AGE_BANDS)]
    if report.backlog_missing:
        lines.append(f"  open without a logged time: {report.backlog_missing}")
    return lines


def trend_lines(report: Any) -> list[str]:
    """The last 12 weeks as sparklines, with the first and last week's values beside."""
    weeks = report.trend
    first, last = _day(weeks[0]["start"]), _day(weeks[-1]["start"])
    lines = [f"trend, 12 weeks from {first} (oldest → newest; · = none):"]
    for label, key, show in (("volume", "incidents", str),
                             ("MTTA median", "mtta_median", seconds),
                             ("MTTR median", "mttr_median", seconds),
                             ("resolution SLA", "resolution_sla_pct", percent)):
        values = [w[key] for w in weeks]
        lines.append(f"  {label:<15} {sparkline(values)}  {show(values[0]):>7} → "
                     f"{show(values[-1]):>7}   (week of {last})")
    return lines


def weekly_table(report: Any) -> list[str]:
    """The trend week by week (the CLI prints it below the sparklines)."""
    lines = [f"  {'week of':<11} {'n':>5} {'MTTA p50':>9} {'MTTR p50':>9} {'res SLA':>8}"]
    for w in report.trend:
        lines.append(f"  {_day(w['start']):<11} {w['incidents']:>5} "
                     f"{seconds(w['mtta_median']):>9} {seconds(w['mttr_median']):>9} "
                     f"{percent(w['resolution_sla_pct']):>8}")
    return lines


def by_table(report: Any) -> list[str]:
    """``--by``: one line per group, 78 columns."""
    head = (f"{report.by[:16]:<16}{'n':>5} {'MTTA p50':>8} {'MTTR p50':>8} {'MTTR p90':>8}"
            f"{'resp%':>6}{'res%':>6}{'FCR%':>6}{'esc%':>6}{'reop%':>6}")
    lines = [head]

    def p(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    for key, g in report.groups.items():
        lines.append(f"{key[:16]:<16}{g['incidents']:>5} {seconds(g['mtta']['median']):>8} "
                     f"{seconds(g['mttr']['median']):>8} {seconds(g['mttr']['p90']):>8}"
                     f"{p(g['response_sla_pct']):>6}{p(g['resolution_sla_pct']):>6}"
                     f"{p(g['first_contact_pct']):>6}{p(g['escalation_pct']):>6}"
                     f"{p(g['reopen_pct']):>6}")
    return lines


def title(report: Any) -> str:
    return (f"KPIs {_day(report.since)} → {_day(report.until)} · {report.window['incidents']}"
            f" incidents ({report.cancelled} cancelled left out) · local store")


def report_lines(report: Any, *, weekly: bool = False) -> list[str]:
    """Everything, for the screen (``weekly``: the CLI's week-by-week table too)."""
    # Asked for a table by group: it comes first, where the eye lands.
    lines = [f"by {report.by}:", *by_table(report), ""] if report.by else []
    lines += [*summary_lines(report), "", *trend_lines(report)]
    if weekly:
        lines += ["", *weekly_table(report)]
    for name in ("priority", "service", "category"):
        lines += ["", f"volume by {name}:", *bars(report.volume[name])]
    return lines


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def as_json(report: Any) -> dict[str, Any]:
    """The report as plain data (``--json``): times ISO-8601 UTC, durations in seconds."""
    return {"since": _iso(report.since), "until": _iso(report.until), "now": _iso(report.now),
            **report.window, "cancelled": report.cancelled, "volume": report.volume,
            "backlog": report.backlog, "backlog_missing_time": report.backlog_missing,
            "trend": [{**w, "start": _iso(w["start"])} for w in report.trend],
            "by": report.by, "groups": report.groups}


CSV_COLUMNS = ("group", "incidents", *(f"{k}_{s}" for k in ("mttd", "mtta", "mttr")
                                       for s in ("mean", "median", "p90")),
               "missing_mttd", "missing_mtta", "missing_mttr", "response_sla_pct",
               "resolution_sla_pct", "first_contact_pct", "escalation_pct", "management_pct",
               "reopen_pct")


def as_csv(report: Any) -> str:
    """One row for the window (``all``), then one per group when grouped; seconds."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for name, g in [("all", report.window), *report.groups.items()]:
        durations = [("" if g[k][s] is None else round(g[k][s], 1))
                     for k in ("mttd", "mtta", "mttr") for s in ("mean", "median", "p90")]
        rates = ["" if g[k] is None else g[k] for k in CSV_COLUMNS[-6:]]
        writer.writerow([name, g["incidents"], *durations,
                         *(g["missing"][k] for k in ("mttd", "mtta", "mttr")), *rates])
    return out.getvalue()
