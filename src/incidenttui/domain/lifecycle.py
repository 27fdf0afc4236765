"""The incident lifecycle: one table of legal moves, and what each move changes.

The server and the client both call :func:`check_action` and :func:`action_effects`, so a
move refused offline is refused for the same reason online.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from incidenttui.domain.enums import Action, EscalationKind, Status


class RefusalKind(StrEnum):
    """Why a change is refused; the server answers each kind with its own HTTP status."""

    #: The input itself is wrong (a blank title, an unknown team, a version from the future).
    INVALID = "invalid"
    #: The input is fine but the incident's state does not allow it (a lifecycle move).
    STATE = "state"
    #: Something the change names does not exist.
    NOT_FOUND = "not_found"
    #: The caller's role may not make this change (the permission matrix).
    FORBIDDEN = "forbidden"


class Refused(Exception):
    """A move the rules do not allow; ``reason`` is written for a responder to read."""

    def __init__(self, reason: str, field: str | None = None,
                 kind: RefusalKind = RefusalKind.INVALID) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.kind = kind


@dataclass(frozen=True)
class Move:
    """One row of the lifecycle table."""

    action: Action
    sources: frozenset[Status]
    target: Status
    verb: str
    hint: str


def _move(action: Action, sources: set[Status], target: Status, verb: str, hint: str) -> Move:
    return Move(action, frozenset(sources), target, verb, hint)


S = Status
#: The lifecycle: new → acknowledged → in_progress ⇄ on_hold → resolved → closed;
#: resolved → in_progress (reopen); new/acknowledged → cancelled.
MOVES: dict[Action, Move] = {
    m.action: m
    for m in (
        _move(Action.ACKNOWLEDGE, {S.NEW}, S.ACKNOWLEDGED, "acknowledge",
              "only a new incident needs acknowledging"),
        _move(Action.START, {S.NEW, S.ACKNOWLEDGED}, S.IN_PROGRESS, "start work on",
              "work starts on a new or acknowledged incident"),
        _move(Action.HOLD, {S.IN_PROGRESS}, S.ON_HOLD, "put on hold",
              "only an incident in progress can be put on hold"),
        _move(Action.RESUME, {S.ON_HOLD}, S.IN_PROGRESS, "resume",
              "only an incident on hold can be resumed"),
        _move(Action.RESOLVE, {S.ACKNOWLEDGED, S.IN_PROGRESS, S.ON_HOLD}, S.RESOLVED, "resolve",
              "acknowledge a new incident before resolving it"),
        _move(Action.CLOSE, {S.RESOLVED}, S.CLOSED, "close",
              "only a resolved incident can be closed"),
        _move(Action.REOPEN, {S.RESOLVED}, S.IN_PROGRESS, "reopen",
              "only a resolved incident can be reopened; after closing, open a new incident"
              " and link it"),
        _move(Action.CANCEL, {S.NEW, S.ACKNOWLEDGED}, S.CANCELLED, "cancel",
              "only a new or acknowledged incident can be cancelled; resolve it instead"),
    )
}

#: Statuses in which an incident's fields may still be edited.
EDITABLE_STATUSES = frozenset({S.NEW, S.ACKNOWLEDGED, S.IN_PROGRESS, S.ON_HOLD, S.RESOLVED})
#: The highest functional escalation level (L3: vendor / security specialists).
MAX_ESCALATION_LEVEL = 3


def legal_actions(status: Status | str) -> list[Action]:
    """The lifecycle moves allowed from ``status``, in table order."""
    status = Status(status)
    return [a for a, m in MOVES.items() if status in m.sources]


def can_take(status: Status | str, action: Action | str) -> bool:
    """Whether ``action`` is a legal move from ``status`` (:func:`check_action` says why not)."""
    return Status(status) in MOVES[Action(action)].sources


def is_open(status: Status | str) -> bool:
    """Whether someone still has work to do on an incident in ``status``."""
    return Status(status).is_open


#: Statuses in which someone still has work to do, in lifecycle order.
OPEN_STATUSES: tuple[Status, ...] = tuple(s for s in Status if s.is_open)
#: Statuses in which the work is done (resolved may still reopen).
DONE_STATUSES: tuple[Status, ...] = tuple(s for s in Status if not s.is_open)


def is_editable(status: Status | str) -> bool:
    """Whether an incident in ``status`` may still have its fields changed."""
    return Status(status) in EDITABLE_STATUSES


def check_action(status: Status | str, action: Action | str) -> Status:
    """Return the status ``action`` leads to from ``status``, or raise :class:`Refused`."""
    status, action = Status(status), Action(action)
    move = MOVES[action]
    if status in move.sources:
        return move.target
    if status == move.target:
        raise Refused(f"The incident is already {status.label}.", "status", RefusalKind.STATE)
    if status in (S.CLOSED, S.CANCELLED):
        hint = "it is finished; open a new incident and link it"
    elif status == S.RESOLVED and action in (Action.RESOLVE, Action.CANCEL):
        hint = "it is already resolved; reopen it first" if action == Action.RESOLVE else \
            "it is already resolved; close it instead"
    else:
        hint = move.hint
    raise Refused(f"Cannot {move.verb} an incident that is {status.label}: {hint}.", "status",
                  RefusalKind.STATE)


class LifecycleFields(Protocol):
    """The fields of an incident that lifecycle moves read."""

    status: str
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    on_hold_since: datetime | None
    hold_seconds: float
    reopen_count: int


def action_effects(incident: LifecycleFields, action: Action | str, now: datetime,
                   resolution_code: str | None = None,
                   resolution_note: str | None = None) -> dict[str, Any]:
    """The field updates that ``action`` makes on ``incident`` at ``now``.

    Raises :class:`Refused` for an illegal move or a resolve without code and note.
    """
    action = Action(action)
    target = check_action(incident.status, action)
    changes: dict[str, Any] = {"status": target}
    if target not in (S.NEW, S.CANCELLED) and incident.acknowledged_at is None:
        changes["acknowledged_at"] = now
    if incident.on_hold_since is not None and target != S.ON_HOLD:
        held = (now - incident.on_hold_since).total_seconds()
        changes["hold_seconds"] = incident.hold_seconds + max(0.0, held)
        changes["on_hold_since"] = None
    if action == Action.HOLD:
        changes["on_hold_since"] = now
    elif action == Action.RESOLVE:
        if not (resolution_code or "").strip():
            raise Refused("A resolution code is required to resolve.", "resolution_code")
        if not (resolution_note or "").strip():
            raise Refused("A resolution note is required to resolve.", "resolution_note")
        changes.update(resolved_at=now, resolution_code=resolution_code.strip(),
                       resolution_note=resolution_note.strip())
    elif action in (Action.CLOSE, Action.CANCEL):
        changes["closed_at"] = now
    elif action == Action.REOPEN:
        changes.update(resolved_at=None, resolution_code=None, resolution_note=None,
                       reopen_count=incident.reopen_count + 1)
    return changes


def check_editable(status: Status | str) -> None:
    """Raise :class:`Refused` if an incident in ``status`` may no longer be edited."""
    status = Status(status)
    if status not in EDITABLE_STATUSES:
        raise Refused(f"The incident is {status.label}; its fields can no longer change.",
                      "status", RefusalKind.STATE)


class TeamLevel(Protocol):
    """What escalation target rules read of a team."""

    @property
    def id(self) -> str: ...

    @property
    def level(self) -> int: ...


_Team = TypeVar("_Team", bound=TeamLevel)


def escalation_targets(teams: Iterable[_Team], current_team: str | None,
                       level: int) -> list[_Team]:
    """The teams a functional escalation may go to from ``current_team`` at ``level``.

    Equal or more expertise only (never the current team), the next level up first, then
    the other higher levels, then peers at the same level; by id within each."""
    allowed = [t for t in teams if t.id != current_team and t.level >= level]
    return sorted(allowed, key=lambda t: (t.level <= level, abs(t.level - level - 1), t.id))


def escalation_effects(status: Status | str, kind: EscalationKind | str, level: int,
                       current_team: str | None, target_team: str | None, reason: str,
                       target_level: int | None = None) -> dict[str, Any]:
    """The field updates of an escalation, or :class:`Refused` with the reason.

    Functional escalation hands the incident to a more expert team and raises its level (to
    the target team's level when that is higher); hierarchical escalation engages management
    and leaves the owning team as it is.
    """
    status, kind = Status(status), EscalationKind(kind)
    if not status.is_open:
        raise Refused(f"The incident is {status.label}; only open incidents can be escalated.",
                      "status", RefusalKind.STATE)
    if not (reason or "").strip():
        raise Refused("A reason is required to escalate.", "reason")
    if kind == EscalationKind.HIERARCHICAL:
        return {}
    if not target_team:
        raise Refused("Functional escalation needs a target team.", "to_team")
    if target_team == current_team:
        raise Refused(f"The incident is already with {target_team}.", "to_team")
    if target_level is not None and target_level < level:
        raise Refused(f"{target_team} is L{target_level}, below the incident's L{level}: "
                      "functional escalation goes to equal or more expertise.", "to_team")
    new_level = max(level + 1, target_level or 0)
    if level >= MAX_ESCALATION_LEVEL and (target_level or 0) <= level:
        new_level = level
    return {"team": target_team, "assignee": None,
            "escalation_level": min(new_level, MAX_ESCALATION_LEVEL)}
