"""Security playbooks as data: per kind of security incident, a checklist in the order
containment → eradication → recovery → communication, plus the evidence to keep.

Pure. The defaults below can be replaced from a file or ``admin apply`` through
:func:`playbook_from_dict`, which checks the same rules. :func:`progress` reads the set of
checked item ids.

Checking an item is a timeline note in one structured form, the same for everyone who writes
or reads a timeline (client, server, scripts)::

    [playbook] ddos/mitigate done: Enable upstream mitigation (CDN, scrubbing, rate limits)

:func:`check_text` writes it, :func:`parse_check` reads it back, :func:`checked_steps` finds
when each step was first checked. It is a plain note, so every server accepts and syncs it
and older clients show it as it is.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class PlaybookKind(StrEnum):
    """The kinds of security incident with a playbook."""

    DATA_BREACH = "data_breach"
    DDOS = "ddos"
    COMPROMISED_CREDENTIAL = "compromised_credential"
    FRAUD = "fraud"
    MALWARE = "malware"


class Phase(StrEnum):
    """The response phases, in the order they are worked."""

    CONTAINMENT = "containment"
    ERADICATION = "eradication"
    RECOVERY = "recovery"
    COMMUNICATION = "communication"


PHASE_ORDER: tuple[Phase, ...] = tuple(Phase)
_STEP_ID = r"[a-z0-9][a-z0-9_-]{0,63}"
_ID = re.compile(rf"^{_STEP_ID}$")


@dataclass(frozen=True)
class Step:
    """One checklist item."""

    id: str
    phase: Phase
    text: str


@dataclass(frozen=True)
class Playbook:
    """The checklist and evidence list of one kind of security incident."""

    kind: PlaybookKind
    title: str
    steps: tuple[Step, ...]
    evidence: tuple[str, ...] = ()
    #: a personal-data breach starts the 72-hour notification clock (domain/breach.py)
    personal_data: bool = False

    def step(self, step_id: str) -> Step:
        """The step ``step_id``; ValueError naming the playbook if there is none."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise ValueError(f"the {self.kind.value} playbook has no step {step_id!r}")


@dataclass(frozen=True)
class Progress:
    """How far an incident is through its playbook."""

    done: int
    total: int
    by_phase: dict[Phase, tuple[int, int]]
    next_step: Step | None

    @property
    def complete(self) -> bool:
        return self.done == self.total

    @property
    def label(self) -> str:
        return f"{self.done}/{self.total}"


def progress(playbook: Playbook, checked: Iterable[str]) -> Progress:
    """Progress from the ids of the checked steps (ids of no step are ignored: a playbook
    edited since keeps its old checks harmlessly)."""
    ticked = set(checked)
    by_phase = {phase: (sum(1 for s in playbook.steps if s.phase is phase and s.id in ticked),
                        sum(1 for s in playbook.steps if s.phase is phase))
                for phase in PHASE_ORDER}
    done = sum(1 for s in playbook.steps if s.id in ticked)
    upcoming = next((s for s in playbook.steps if s.id not in ticked), None)
    return Progress(done, len(playbook.steps), by_phase, upcoming)


def _steps(phase_texts: Mapping[Phase, list[tuple[str, str]]]) -> tuple[Step, ...]:
    return tuple(Step(i, phase, text) for phase in PHASE_ORDER
                 for i, text in phase_texts.get(phase, []))


C, E, R, M = Phase.CONTAINMENT, Phase.ERADICATION, Phase.RECOVERY, Phase.COMMUNICATION

DEFAULT_PLAYBOOKS: dict[PlaybookKind, Playbook] = {p.kind: p for p in (
    Playbook(PlaybookKind.DATA_BREACH, "Personal-data breach", _steps({
        C: [("isolate", "Isolate the affected systems and stop the exfiltration path"),
            ("revoke-access", "Revoke the access used (accounts, keys, sessions)")],
        E: [("root-cause", "Find and remove the root cause (vulnerability, misconfiguration)"),
            ("scope", "Establish which records and data subjects are affected")],
        R: [("restore", "Restore systems from known-good state and monitor them"),
            ("verify-fix", "Verify the fix with a test or scan")],
        M: [("notify-authority", "Notify the supervisory authority within 72 hours"),
            ("notify-subjects", "Inform affected data subjects where the risk is high"),
            ("stakeholders", "Brief management, legal and customer support")],
    }), ("access logs of the affected systems", "list of affected records",
         "timeline of discovery and awareness", "copies of notifications sent"),
        personal_data=True),
    Playbook(PlaybookKind.DDOS, "Denial of service", _steps({
        C: [("mitigate", "Enable upstream mitigation (CDN, scrubbing, rate limits)"),
            ("block", "Block or challenge the attacking sources")],
        E: [("vector", "Identify the attack vector and close amplification sources")],
        R: [("scale-back", "Return capacity and rules to normal, watching for recurrence")],
        M: [("status-page", "Update the public status page"),
            ("provider", "Report to the hosting provider / ISP")],
    }), ("traffic captures or flow logs", "mitigation provider reports")),
    Playbook(PlaybookKind.COMPROMISED_CREDENTIAL, "Compromised credential", _steps({
        C: [("revoke", "Revoke or rotate the credential everywhere it is used"),
            ("sessions", "End sessions and tokens issued with it")],
        E: [("how-leaked", "Find how it leaked (repository, log, phishing) and remove it"),
            ("misuse", "Check the audit logs for misuse while it was exposed")],
        R: [("reissue", "Issue a new credential through a secret manager")],
        M: [("owners", "Tell the owners of affected systems")],
    }), ("where the credential was exposed", "audit log extract for the exposure window")),
    Playbook(PlaybookKind.FRAUD, "Fraud", _steps({
        C: [("freeze", "Freeze the affected accounts, orders or payouts")],
        E: [("pattern", "Identify the fraud pattern and block it in the rules")],
        R: [("reverse", "Reverse or refund fraudulent transactions")],
        M: [("payment-provider", "Inform the payment provider"),
            ("customers", "Contact affected customers")],
    }), ("transaction records", "account activity logs")),
    Playbook(PlaybookKind.MALWARE, "Malware", _steps({
        C: [("quarantine", "Quarantine infected hosts from the network")],
        E: [("remove", "Remove the malware and its persistence; patch the entry point"),
            ("sweep", "Sweep other hosts for the same indicators")],
        R: [("rebuild", "Rebuild or restore hosts from clean images")],
        M: [("report", "Report indicators to the security team and vendors")],
    }), ("disk and memory images of an infected host", "indicators of compromise")),
)}


def playbook_from_dict(data: Mapping[str, Any]) -> Playbook:
    """A playbook from plain data (a file, ``admin apply``)::

        {"kind": "ddos", "title": "...", "personal_data": false,
         "steps": [{"id": "mitigate", "phase": "containment", "text": "..."}, ...],
         "evidence": ["..."]}

    Refused (ValueError, in words): an unknown kind or phase, a step id that is not a slug
    or appears twice, blank text, no steps, or steps out of the phase order.
    """
    try:
        kind = PlaybookKind(data["kind"])
    except (KeyError, ValueError):
        raise ValueError(f"unknown playbook kind {data.get('kind')!r}: use one of "
                         f"{', '.join(k.value for k in PlaybookKind)}") from None
    title = str(data.get("title") or "").strip()
    if not title:
        raise ValueError(f"the {kind.value} playbook needs a title")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ValueError(f"the {kind.value} playbook needs a list of steps")
    steps: list[Step] = []
    for raw in raw_steps:
        if not isinstance(raw, Mapping):
            raise ValueError(f"each step of the {kind.value} playbook must be a table")
        step_id, text = str(raw.get("id", "")), str(raw.get("text") or "").strip()
        if not _ID.match(step_id):
            raise ValueError(f"step id {step_id!r}: lower-case letters, digits, '-', '_'")
        if any(s.id == step_id for s in steps):
            raise ValueError(f"step id {step_id!r} appears twice")
        try:
            phase = Phase(raw.get("phase"))
        except ValueError:
            raise ValueError(f"step {step_id!r}: unknown phase {raw.get('phase')!r}") from None
        if not text:
            raise ValueError(f"step {step_id!r} needs a text")
        if steps and PHASE_ORDER.index(phase) < PHASE_ORDER.index(steps[-1].phase):
            raise ValueError(f"step {step_id!r} ({phase.value}) comes after a "
                             f"{steps[-1].phase.value} step: keep the order "
                             f"{' → '.join(p.value for p in PHASE_ORDER)}")
        steps.append(Step(step_id, phase, text))
    evidence = tuple(str(e).strip() for e in data.get("evidence") or () if str(e).strip())
    return Playbook(kind, title, tuple(steps), evidence, bool(data.get("personal_data")))


def playbook_to_dict(playbook: Playbook) -> dict[str, Any]:
    """The plain data :func:`playbook_from_dict` reads."""
    return {"kind": playbook.kind.value, "title": playbook.title,
            "personal_data": playbook.personal_data,
            "steps": [{"id": s.id, "phase": s.phase.value, "text": s.text}
                      for s in playbook.steps],
            "evidence": list(playbook.evidence)}


# -- checking a step: a timeline note in one structured form --------------------------------

#: Every check note begins with this.
CHECK_PREFIX = "[playbook] "
#: The step whose check records the breach notification (stops the 72-hour clock).
NOTIFY_STEP = "notify-authority"
_CHECK = re.compile(rf"^\[playbook\] ([a-z_]+)/({_STEP_ID}) done\b")


def check_text(playbook: Playbook, step_id: str) -> str:
    """The note that checks ``step_id`` (ValueError for a step the playbook lacks)."""
    step = playbook.step(step_id)
    return f"{check_prefix(playbook.kind.value, step.id)}: {step.text}"


def check_prefix(kind: str, step_id: str) -> str:
    """How every check note of ``kind``/``step_id`` begins (a store may select notes by it,
    then read each with :func:`parse_check`)."""
    return f"{CHECK_PREFIX}{kind}/{step_id} done"


def parse_check(text: str | None) -> tuple[str, str] | None:
    """``(kind, step_id)`` of a check note; None for any other text."""
    match = _CHECK.match(text or "")
    return (match.group(1), match.group(2)) if match else None


def checked_steps(events: Iterable[Any], kind: PlaybookKind | str) -> dict[str, dt.datetime]:
    """When each step of ``kind`` was first checked, from timeline events (anything with
    ``kind``, ``text`` and ``at``): only notes count; a naive time is taken as UTC."""
    done: dict[str, dt.datetime] = {}
    wanted = PlaybookKind(kind).value
    for event in events:
        if getattr(event, "kind", None) != "note":
            continue
        parsed = parse_check(event.text)
        if parsed is not None and parsed[0] == wanted:
            at = event.at if event.at.tzinfo else event.at.replace(tzinfo=dt.UTC)
            if parsed[1] not in done or at < done[parsed[1]]:
                done[parsed[1]] = at
    return done


#: Words that pick a playbook kind, tried in this order (lower-case substrings).
KEYWORDS: tuple[tuple[PlaybookKind, tuple[str, ...]], ...] = (
    (PlaybookKind.DATA_BREACH, ("data breach", "personal data", "exfiltrat", "gdpr",
                                "data exposed", "data leak")),
    (PlaybookKind.DDOS, ("ddos", "denial of service", "flood", "botnet", "bot traffic")),
    (PlaybookKind.FRAUD, ("fraud", "chargeback", "carding")),
    (PlaybookKind.MALWARE, ("malware", "ransomware", "virus", "trojan", "cryptominer")),
    (PlaybookKind.COMPROMISED_CREDENTIAL, ("leaked", "api key", "credential", "password",
                                           "token", "secret", "admin login",
                                           "account takeover")),
)


def choose_kind(category: str | None, title: str = "", description: str = "",
                explicit: str | None = None) -> PlaybookKind | None:
    """The playbook kind of an incident: ``explicit`` when it names one; else, for an
    incident in the security category, the first kind whose :data:`KEYWORDS` appear in its
    title, else in its description; else None."""
    if explicit:
        try:
            return PlaybookKind(explicit)
        except ValueError:
            pass
    if category != "security":
        return None
    for text in (title.lower(), description.lower()):
        for kind, words in KEYWORDS:
            if any(w in text for w in words):
                return kind
    return None
