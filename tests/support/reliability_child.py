"""A client process for the SIGKILL tests: random commands and syncs until it is killed.

    python reliability_child.py STORE SERVER_URL TOKEN SEED MODE
    python reliability_child.py zygote

The zygote imports everything once, then forks one client per line of JSON it reads on stdin
(``{"out": FILE, "args": [STORE, URL, TOKEN, SEED, MODE]}``) and answers ``PID <pid>``: a
forked client is a whole process of its own (its own SQLite connections, opened after the
fork), so SIGKILL hits it exactly as it would hit a client started from scratch, without
paying a second of imports per kill. The zygote ignores SIGCHLD, so killed clients are reaped
at once.

MODE ``write`` queues commands without pause; ``sync`` queues a few, then syncs, and again.
It reports on stdout, one line each, flushed at once:

* ``READY``
* ``INTENT <kind> <incident_id> <note_id>`` before a command (``-`` where there is none);
* ``COMMITTED <key> <kind> <incident_id> <note_id>`` after ``Store.execute`` returned, i.e. the
  change is committed locally (its outbox key read back from the store);
* ``SYNC`` before ``sync_once()`` and ``SYNCED <ok|error>`` after it.

Every patch sets a fresh title, so each applied write bumps the incident's version once and
adds one timeline event: the parent can then count the writes the server applied.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import sys
import traceback
import uuid

#: The description of every incident the child creates (it never changes it).
MARK = "made by reliability_child"


def say(*words: object) -> None:
    sys.stdout.write(" ".join(str(w) for w in words) + "\n")
    sys.stdout.flush()


async def main(store_path: str, url: str, token: str, seed: int, mode: str) -> None:
    from incidenttui.domain import Refused, Status, legal_actions
    from incidenttui.store import AddNote, CreateIncident, Store, Transition, UpdateFields
    from incidenttui.sync.client import ApiClient, SyncError
    from incidenttui.sync.engine import SyncEngine

    rng = random.Random(seed)
    store = Store(store_path)
    peek = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, isolation_level=None)
    engine = SyncEngine(store, ApiClient(url, token, timeout=5, verify=False))
    say("READY")

    def last_key() -> str:
        row = peek.execute("SELECT key FROM outbox ORDER BY seq DESC LIMIT 1").fetchone()
        return row[0] if row else "-"

    def command() -> tuple[str, object, str | None]:
        # Only its own incidents (the store also caches everyone else's).
        incidents = [i for i in store.list()
                     if i.description == MARK and Status(i.status).is_open]
        if not incidents or rng.random() < 0.1:
            return "create", CreateIncident.new(title=f"kill test {uuid.uuid4().hex[:8]}",
                                                description=MARK, service="checkout"), None
        incident = rng.choice(incidents)
        roll = rng.random()
        if roll < 0.5:
            note = AddNote(incident.id, text=f"note {uuid.uuid4().hex}")
            return "note", note, note.note_id
        if roll < 0.75:
            return "patch", UpdateFields(incident.id, {"title": f"t {uuid.uuid4().hex[:10]}"}
                                         ), None
        actions = [a for a in legal_actions(Status(incident.status))
                   if a.value not in ("cancel", "close", "resolve")]
        if not actions:
            note = AddNote(incident.id, text=f"note {uuid.uuid4().hex}")
            return "note", note, note.note_id
        return "action", Transition(incident.id, action=rng.choice(actions).value), None

    while True:
        for _ in range(rng.randint(1, 6) if mode == "sync" else 1000):
            kind, cmd, note_id = command()
            incident_id = cmd.incident_id  # type: ignore[attr-defined]
            say("INTENT", kind, incident_id, note_id or "-")
            try:
                store.execute(cmd)  # type: ignore[arg-type]
            except Refused:
                continue
            say("COMMITTED", last_key(), kind, incident_id, note_id or "-")
        say("SYNC")
        try:
            await engine.sync_once()
            say("SYNCED", "ok")
        except SyncError:
            say("SYNCED", "error")


def zygote() -> None:
    import json
    import os
    import signal

    import incidenttui.store.store  # noqa: F401  (the imports a client needs, done once)
    import incidenttui.sync.engine  # noqa: F401

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    say("ZYGOTE")
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            try:
                fd = os.open(request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(fd, 1)
                os.close(fd)
                sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                path, server, token, seed, mode = request["args"]
                asyncio.run(main(path, server, token, int(seed), mode))
            except BaseException:
                traceback.print_exc(file=sys.stdout)
                say("CRASH")
            finally:
                os._exit(1)
        say("PID", pid)


if __name__ == "__main__":
    if sys.argv[1:] == ["zygote"]:
        zygote()
    else:
        path, server, token, seed, mode = sys.argv[1:6]
        asyncio.run(main(path, server, token, int(seed), mode))
