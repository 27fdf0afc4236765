"""The alert writer: jobs de-duplicated in group commits (:class:`Ingestor`), attributed to
the ``incidenttui`` system user.

A request queues its job and awaits it; one writer thread (:mod:`..group_commit`) writes every
job queued meanwhile in one transaction and one commit (one fsync on SQLite), waiting
:data:`GATHER_SECONDS` for company when a job arrives alone. If a batch fails, each of its jobs
is retried alone, so one bad job cannot take the others down with it: a refused one answers
``refused``, one that keeps losing races or connections ``unavailable``, and a bug is raised
to its request. The requests of a batch are woken with one hand-off to the event loop.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from sqlmodel import Session

from incidenttui.domain import Refused, Role
from incidenttui.server import service
from incidenttui.server.alerts.dedup import Batch
from incidenttui.server.alerts.jobs import Job, Outcome
from incidenttui.server.audit import Origin
from incidenttui.server.db import Database
from incidenttui.server.group_commit import MAX_BATCH, GroupCommit, Ticket
from incidenttui.server.models import User

#: The user alert-made changes are attributed to.
SYSTEM_USER = "incidenttui"
#: How long the writer waits for company when a job arrives alone.
GATHER_SECONDS = float(os.environ.get("INCIDENTTUI_ALERT_GATHER_SECONDS", "0.002"))


def ensure_system_user(session: Session) -> None:
    """Create the ``incidenttui`` system user (no token: nobody can log in as it)."""
    if session.get(User, SYSTEM_USER) is None:
        user = User(id=SYSTEM_USER, display_name="incidenttui (alert ingestion)",
                    role=Role.RESPONDER.value, token_hash=None, active=True)
        session.add(user)
        service.record_directory(session, [user])


def _refusal(error: Exception) -> Outcome | None:
    return Outcome("refused", error.reason) if isinstance(error, Refused) else None


def _busy(_error: Exception) -> Outcome:
    return Outcome("unavailable", "The database is busy or unavailable; retry shortly.")


def _audit(writer: service.Writer, batch: Batch, job: Job, outcome: Outcome) -> None:
    """Audit what a job did to incidents (created, joined, acknowledged, resolved; a repeat
    that only counts is not a change worth an entry, and a storm makes thousands)."""
    if outcome.status != "ok" or not (outcome.created or outcome.joined or outcome.resolved
                                      or outcome.acknowledged or outcome.auto_resolved):
        return
    integration = batch.integration_for(job)
    name = f"integration {integration.id} ({job.kind})" if integration else job.kind
    origin = Origin(SYSTEM_USER, client=name)
    for result in outcome.incidents.values():
        action = "alert.create_incident" if result.created else "alert.update_incident"
        writer.audit(action, "incident", result.id, {"status": result.status, "alerts": {
            k: getattr(outcome, k) for k in ("created", "joined", "acknowledged", "resolved")
            if getattr(outcome, k)}}, origin=origin)


class Ingestor:
    """Writes alert jobs in group commits; ``notify`` runs after a commit that did something
    (the change feed's long-polls wake)."""

    def __init__(self, db: Database, notify: Callable[[], None] | None = None,
                 max_batch: int = MAX_BATCH, gather: float | None = None) -> None:
        self.notify = notify or (lambda: None)
        self._system_user_ready = False
        # Who the writes are attributed to (never added to a session; made once, as building
        # a table model costs about as much as a repeat).
        self._actor = User(id=SYSTEM_USER, display_name=SYSTEM_USER, role=Role.RESPONDER.value)
        self.commits: GroupCommit[Job, Outcome] = GroupCommit(
            db, self._write, answer=_refusal, busy=_busy, committed=self._committed,
            name="alert-writer", max_batch=max_batch,
            gather=GATHER_SECONDS if gather is None else gather)

    def submit(self, job: Job) -> Outcome:
        """Write ``job`` and return its outcome (blocking); re-raises an unexpected error."""
        return self.commits.submit(job)

    async def submit_async(self, job: Job) -> Outcome:
        """:meth:`submit` for the event loop: waits without holding a thread."""
        return await self.commits.submit_async(job)

    def write_batch(self, jobs: list[Job]) -> list[Ticket[Job, Outcome]]:
        """Write ``jobs`` now as one group commit (each ticket holds its job's outcome)."""
        return self.commits.write_batch(jobs)

    def _write(self, session: Session, jobs: list[Job]) -> Sequence[Outcome]:
        if not self._system_user_ready:
            ensure_system_user(session)
        writer = service.Writer(session, self._actor)
        batch = Batch(session, writer)
        batch.load(jobs)
        outcomes = [batch.run(job) for job in jobs]
        for job, outcome in zip(jobs, outcomes, strict=True):
            _audit(writer, batch, job, outcome)
        batch.finish()
        return outcomes

    def _committed(self, outcomes: list[Outcome]) -> None:
        self._system_user_ready = True
        if any(o.status == "ok" for o in outcomes):
            self.notify()
