"""Writers to one SQLite file queue on a lock beside it, across processes and threads."""

from __future__ import annotations

import fcntl
import os
import threading

from sqlalchemy import text

from incidenttui.server.db import Database


def _taken(path: os.PathLike[str]) -> bool:
    """Whether another open file description holds the lock (as another process would)."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_a_write_holds_the_lock_until_it_ends(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'server.db'}")
    try:
        assert db.writer_lock is not None
        lock_path = tmp_path / "server.db-writer.lock"
        with db.write() as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
            assert _taken(lock_path)
            with db.write():  # re-entrant in the same thread, and still held after
                pass
            assert _taken(lock_path)
        assert not _taken(lock_path)
    finally:
        db.dispose()


def test_writers_in_two_threads_take_turns(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'server.db'}")
    try:
        with db.write() as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
        inside, release, done = threading.Event(), threading.Event(), threading.Event()
        order: list[str] = []

        def first() -> None:
            with db.write() as session:
                session.execute(text("INSERT INTO t VALUES (1)"))
                order.append("first")
                inside.set()
                release.wait(30)

        def second() -> None:
            inside.wait(30)
            with db.write() as session:
                session.execute(text("INSERT INTO t VALUES (2)"))
                order.append("second")
            done.set()

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        inside.wait(30)
        assert not done.is_set() and order == ["first"]
        release.set()
        for thread in threads:
            thread.join(30)
        assert order == ["first", "second"]
        with db.read() as session:
            assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 2
    finally:
        db.dispose()

