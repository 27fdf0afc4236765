"""Severity policy: an alert's severity, and the impact and urgency it gives a new incident.

Severity (Events v2 ``payload.severity``; Alertmanager's ``severity`` label, with common
aliases such as ``page`` or ``warn``; missing or unknown counts as ``warning``) gives impact
and urgency: critical 1/1 (P1), error 2/1 (P2), warning 2/2 (P3), info 3/3 (P5), which an
integration may override per severity. Alertmanager labels ``impact`` and ``urgency`` (1–3)
override both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from incidenttui.domain import Refused
from incidenttui.server.alerts.jobs import AlertIn

#: The severities of Events v2, most severe first.
SEVERITIES = ("critical", "error", "warning", "info")
#: severity -> (impact, urgency); P1, P2, P3 and P5 by the ITIL matrix.
DEFAULT_SEVERITY_MAP: dict[str, tuple[int, int]] = {
    "critical": (1, 1), "error": (2, 1), "warning": (2, 2), "info": (3, 3)}
#: What an Alertmanager alert without a known ``severity`` label counts as.
DEFAULT_SEVERITY = "warning"
#: Severity label values that teams commonly use, mapped onto the four.
SEVERITY_ALIASES = {
    "crit": "critical", "page": "critical", "fatal": "critical", "emergency": "critical",
    "high": "error", "err": "error", "major": "error",
    "warn": "warning", "medium": "warning", "minor": "warning", "average": "warning",
    "low": "info", "information": "info", "informational": "info", "notice": "info",
    "none": "info", "ok": "info",
}


class _HasSeverityMap(Protocol):
    severity_map: dict[str, Any]


def normalise_severity(value: str | None) -> str | None:
    """``critical``/``error``/``warning``/``info`` for ``value`` (aliases allowed), or None."""
    if not value:
        return None
    value = value.strip().lower()
    if value in SEVERITIES:
        return value
    return SEVERITY_ALIASES.get(value)


def alert_severity(alert: AlertIn) -> str:
    """The alert's severity: its own, else its ``severity`` label, else the default."""
    return (normalise_severity(alert.severity)
            or normalise_severity(alert.labels.get("severity")) or DEFAULT_SEVERITY)


def severity_targets(integration: _HasSeverityMap) -> dict[str, tuple[int, int]]:
    """The integration's severity → (impact, urgency) mapping: the defaults, overridden."""
    targets = dict(DEFAULT_SEVERITY_MAP)
    for name, value in (integration.severity_map or {}).items():
        if name in targets and isinstance(value, Mapping):
            targets[name] = (int(value["impact"]), int(value["urgency"]))
    return targets


def impact_urgency(integration: _HasSeverityMap, alert: AlertIn) -> tuple[int, int]:
    """A new incident's impact and urgency for ``alert``: by its severity and the
    integration's mapping, unless its ``impact``/``urgency`` labels say otherwise."""
    impact, urgency = severity_targets(integration)[alert_severity(alert)]
    return (_level(alert.labels.get("impact"), impact),
            _level(alert.labels.get("urgency"), urgency))


def check_severity_map(severity_map: Mapping[str, Mapping[str, int]] | None
                       ) -> dict[str, dict[str, int]]:
    """An integration's overrides as stored; raises :class:`Refused` naming ``severity_map``
    for an unknown severity or an impact/urgency outside 1..3."""
    mapping: dict[str, dict[str, int]] = {}
    for severity, target in (severity_map or {}).items():
        if severity not in SEVERITIES:
            raise Refused(f"Unknown severity {severity!r}: use one of {', '.join(SEVERITIES)}.",
                          "severity_map")
        impact, urgency = int(target["impact"]), int(target["urgency"])
        if not (1 <= impact <= 3 and 1 <= urgency <= 3):
            raise Refused("Impact and urgency run from 1 (high) to 3 (low).", "severity_map")
        mapping[severity] = {"impact": impact, "urgency": urgency}
    return mapping


def _level(value: str | None, default: int) -> int:
    if value is not None and str(value).strip() in ("1", "2", "3"):
        return int(str(value).strip())
    return default
