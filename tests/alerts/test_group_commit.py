"""The general group commit (server/group_commit.py), with a write path of its own: jobs
queued together share one transaction, each result reaches its own caller, a failing job is
written alone without taking the others down, lost races are retried, and bugs reach the
caller."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from incidenttui.server.db import Database
from incidenttui.server.group_commit import GroupCommit


class Refusal(Exception):
    pass


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'gc.sqlite'}")
    with database.write() as session:
        session.execute(text("CREATE TABLE rows (job INTEGER PRIMARY KEY)"))
    yield database
    database.dispose()


def rows(db: Database) -> list[int]:
    with db.read() as session:
        return [r[0] for r in session.execute(text("SELECT job FROM rows ORDER BY job"))]


class Recorder:
    """A write path: inserts each job's number, refuses negative ones, fails on 13."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.committed: list[list[str]] = []

    def write(self, session: Session, jobs: list[int]) -> list[str]:
        self.batches.append(list(jobs))
        for job in jobs:
            if job < 0:
                raise Refusal(f"no {job}")
            if job == 13:
                raise RuntimeError("unlucky")
            session.execute(text("INSERT INTO rows (job) VALUES (:job)"), {"job": job})
        return [f"wrote {job}" for job in jobs]

    def commits(self, db: Database, **options) -> GroupCommit[int, str]:  # type: ignore[no-untyped-def]
        return GroupCommit(db, self.write, answer=lambda e: str(e) if isinstance(
            e, Refusal) else None, committed=self.committed.append, **options)


class HeldFirstBatch(Recorder):
    """Holds its first batch until the other jobs are queued behind it, so the test does not
    depend on how the machine schedules the submitting threads (a loaded CI runner started
    one of six threads after the gather window had closed)."""

    def __init__(self, jobs: int) -> None:
        super().__init__()
        self.jobs = jobs
        self.commits_: GroupCommit[int, str] | None = None

    def commits(self, db: Database, **options) -> GroupCommit[int, str]:  # type: ignore[no-untyped-def]
        self.commits_ = super().commits(db, **options)
        return self.commits_

    def write(self, session: Session, jobs: list[int]) -> list[str]:
        if not self.batches:
            assert self.commits_ is not None
            waiting = self.jobs - len(jobs)
            deadline = time.monotonic() + 10
            while self.commits_._queue.qsize() < waiting and time.monotonic() < deadline:
                time.sleep(0.005)
        return super().write(session, jobs)


def test_jobs_queued_together_share_one_commit_and_get_their_own_results(db):
    path = HeldFirstBatch(6)
    commits = path.commits(db, gather=0.05)
    results: dict[int, str] = {}
    barrier = threading.Barrier(6)

    def submit(job: int) -> None:
        barrier.wait()
        results[job] = commits.submit(job)

    threads = [threading.Thread(target=submit, args=(job,)) for job in range(1, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == {job: f"wrote {job}" for job in range(1, 7)}
    assert len(path.batches) <= 2 and sorted(sum(path.batches, [])) == list(range(1, 7))
    assert rows(db) == list(range(1, 7))
    assert sorted(sum(path.committed, [])) == sorted(results.values())


def test_a_refused_or_failing_job_is_written_alone_and_the_others_commit(db):
    path = Recorder()
    tickets = path.commits(db).write_batch([1, -2, 3, 13, 4])
    assert [t.result for t in tickets[:3]] == ["wrote 1", "no -2", "wrote 3"]
    with pytest.raises(RuntimeError, match="unlucky"):
        tickets[3].outcome()
    assert tickets[4].outcome() == "wrote 4"
    assert all(t.done.is_set() for t in tickets)
    assert rows(db) == [1, 3, 4]
    # The batch, then each job alone.
    assert path.batches == [[1, -2, 3, 13, 4], [1], [-2], [3], [13], [4]]


def test_lost_races_are_retried_then_answered_busy(db):
    calls: list[int] = []

    def flaky(session: Session, jobs: list[int]) -> list[str]:
        calls.append(len(jobs))
        if len(calls) < 3:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return ["ok"] * len(jobs)

    assert GroupCommit(db, flaky).submit(1) == "ok"
    assert calls == [1, 1, 1]

    def always(session: Session, jobs: list[int]) -> list[str]:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    busy = GroupCommit(db, always, busy=lambda e: "busy", attempts=2)
    assert busy.submit(1) == "busy"
    with pytest.raises(OperationalError):
        GroupCommit(db, always, attempts=1).submit(1)


def test_awaiting_callers_are_woken_without_holding_a_thread(db):
    path = Recorder()
    commits = path.commits(db)

    async def main() -> list[str]:
        return list(await asyncio.gather(*(commits.submit_async(j) for j in range(20, 30))))

    assert asyncio.run(main()) == [f"wrote {j}" for j in range(20, 30)]
    assert rows(db) == list(range(20, 30))
