"""The client killed with SIGKILL during a write and during a sync, then reopened.

A child process (``tests/support/reliability_child.py``, and the ``incidenttui`` CLI verbs)
works on a store through a proxy that slows every exchange down a little, and is killed at a
random moment, many times over the same store. After each kill the store must pass
``PRAGMA integrity_check``, every change the child reported as committed must still be in the
outbox or be answered on the server, and nothing may be half-written (pending events without
their outbox entry, an incident whose pending count disagrees with its outbox entries). At the
end the outbox is synced empty and the server must hold each change exactly once.

``RELIABILITY_KILLS`` sets the iterations of the child (default 40; the CLI gets one for every
ten, as each CLI start costs a second); ``RELIABILITY_KILL_SEED`` replays a run (it is printed
in the figures).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from faultproxy import FaultPlan, ThreadedFaultProxy  # type: ignore[import-not-found]
from reliability_server import ServerDB, ServerProcess  # type: ignore[import-not-found]
from reliability_stats import FIGURES, env_int  # type: ignore[import-not-found]

from incidenttui.domain import Status
from incidenttui.store import Store
from incidenttui.sync.client import ApiClient, SyncError
from incidenttui.sync.engine import SyncEngine

CHILD = Path(__file__).parent.parent / "support" / "reliability_child.py"
MARK = "made by reliability_child"  # reliability_child.MARK: its incidents' description
KILLS = env_int("RELIABILITY_KILLS", 40)
KILL_SEED = env_int("RELIABILITY_KILL_SEED", random.SystemRandom().randrange(1, 10**9))
#: Every exchange a few ms slower, some much slower, so kills land inside syncs.
SLOW = FaultPlan(delay=0.5, delay_ms=(1.0, 8.0), stall=0.02, stall_ms=(10.0, 60.0))


@pytest.fixture(scope="module")
def slow_proxy(reliability_server: ServerProcess) -> Iterator[ThreadedFaultProxy]:
    with ThreadedFaultProxy(("127.0.0.1", reliability_server.port),
                            random.Random(KILL_SEED), SLOW) as proxy:
        yield proxy


class Child:
    """A process whose stdout lines are collected by a thread as they come (the CLI)."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True,
                                     env={**os.environ, **(env or {})})

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.communicate(timeout=30)


class Zygote:
    """``reliability_child.py zygote``: forks ready-made clients on request."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, str(CHILD), "zygote"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdin is not None
        line = self.proc.stdout.readline()
        assert line.startswith("ZYGOTE"), f"the zygote did not start: {line!r}"

    def fork(self, out: Path, args: list[str]) -> ForkedChild:
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"out": str(out), "args": args}) + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().split()
        assert answer and answer[0] == "PID", f"the zygote answered {answer!r}"
        return ForkedChild(int(answer[1]), out)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


class ForkedChild:
    """A client forked by the zygote; it reports to the file ``out`` line by line."""

    def __init__(self, pid: int, out: Path) -> None:
        self.pid = pid
        self.out = out

    def lines(self) -> list[str]:
        try:
            text = self.out.read_text(errors="replace")
        except FileNotFoundError:
            return []
        return text.split("\n")[:-1]  # complete lines only

    def alive(self) -> bool:
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] != "Z"

    def wait_for(self, word: str, count: int = 1, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.lines()
            if any(line.startswith("CRASH") for line in lines):
                raise AssertionError("the client crashed:\n" + "\n".join(lines[-30:]))
            if sum(line.split(" ", 1)[0] == word for line in lines) >= count:
                return True
            if not self.alive():
                return False
            time.sleep(0.002)
        return False

    def phase(self) -> str:
        markers = [line.split(" ", 1)[0] for line in self.lines()
                   if line.startswith(("SYNC", "INTENT", "COMMITTED"))]
        if not markers:
            return "startup"
        return "sync" if markers[-1] == "SYNC" else "write"

    def kill(self) -> list[str]:
        was_alive = self.alive()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while self.alive():  # the zygote reaps it; then its files and locks are released
            assert time.monotonic() < deadline, f"client {self.pid} did not die"
            time.sleep(0.001)
        lines = self.lines()
        assert was_alive, "the client exited by itself:\n" + "\n".join(lines[-30:])
        return lines


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    z = Zygote()
    try:
        yield z
    finally:
        z.close()


def sound_store(path: Path, context: str) -> dict[str, Any]:
    """Reopen the store; check it is intact and nothing in it is half-written."""
    store = Store(path)
    try:
        assert store.integrity_check() == "ok", f"{context}: integrity_check failed"
        outbox = store.outbox()
        keys = {e.key for e in outbox}
        assert len(keys) == len(outbox), f"{context}: duplicate outbox keys"
        per_incident = Counter(e.incident_id for e in outbox)
        incidents = store.list()
        by_id = {i.id: i for i in incidents}
        for incident_id, count in per_incident.items():
            row = by_id.get(incident_id)
            assert row is not None, f"{context}: outbox entries for {incident_id}, no incident"
            assert row.pending == count, (f"{context}: {incident_id} shows {row.pending} "
                                          f"pending, the outbox holds {count}")
        for row in incidents:
            if row.id not in per_incident:
                assert row.pending == 0, f"{context}: {row.id} pending={row.pending}, none queued"
                assert row.base is not None, f"{context}: {row.id} never confirmed, not queued"
        pending_events = {}
        for row in incidents:
            for event in store.timeline(row.id):
                if event.pending:
                    assert event.outbox_key in keys, (
                        f"{context}: pending event {event.id} ({event.kind}) of {row.id} "
                        f"belongs to no outbox entry")
                    pending_events[event.id] = event
        for entry in outbox:
            if entry.kind == "note":
                note_id = entry.payload["note_id"]
                assert note_id in pending_events, f"{context}: queued note {note_id} not shown"
        assert re.fullmatch(r"[0-9]+|c1\.[A-Za-z0-9_-]+", store.cursor), store.cursor
        conflicts = {c.outbox_key: c for c in store.conflicts()}
        return {"outbox": {e.key: e for e in outbox}, "conflicts": conflicts,
                "incidents": by_id,
                "notes": {e.text for e in pending_events.values() if e.kind == "note"}}
    finally:
        store.close()


def check_reported(state: dict[str, Any], reported: dict[str, tuple[str, str, str]],
                   records: dict[str, tuple[int, str]], context: str) -> Counter[str]:
    """Every change reported committed is still queued or was answered by the server."""
    tally: Counter[str] = Counter()
    for key, (kind, incident_id, _note) in reported.items():
        if key in state["outbox"]:
            tally["still_queued"] += 1
            if key in records:
                tally["applied_not_yet_confirmed"] += 1
            continue
        assert key in records, (f"{context}: {kind} {key} on {incident_id} was committed, is "
                                "no longer in the outbox, and the server never saw it: LOST")
        status, body = records[key]
        if 200 <= status < 300:
            tally["confirmed"] += 1
        else:
            assert key in state["conflicts"], (f"{context}: {kind} {key} refused by the server "
                                               f"({status}) but no conflict kept: {body[:200]}")
            tally["refused_and_kept"] += 1
    return tally


async def drain(path: Path, base_url: str, token: str) -> None:
    store = Store(path)
    client = ApiClient(base_url, token, timeout=10, verify=False)
    try:
        for _ in range(20):
            try:
                await SyncEngine(store, client).sync_once()
            except SyncError:
                await asyncio.sleep(0.2)
                continue
            if not store.pending_count():
                return
        raise AssertionError(f"could not sync the outbox empty: {store.pending_count()} left")
    finally:
        await client.aclose()
        store.close()


def server_writes(server: ServerProcess, user: str) -> Counter[str]:
    """Per incident: how many writes (creates apart) the server answered 2xx for ``user``."""
    writes: Counter[str] = Counter()
    for status, body in ServerDB(server.db_path).query(
            "SELECT status_code, body FROM idempotency_keys WHERE user_id = ? AND "
            "status_code BETWEEN 200 AND 299", [user]):
        data = json.loads(body)
        if "incident_id" in data:  # a note
            writes[data["incident_id"]] += 1
        elif status != 201:  # 201 with an incident: the create itself
            writes[data["id"]] += 1
    return writes


def check_server_totals(server: ServerProcess, user: str, incident_ids: list[str],
                        committed: set[str], intended: set[str], by: str,
                        context: str) -> Counter[str]:
    """Nothing lost, nothing applied twice: every write bumped the version once and added one
    event; every committed note (by ``id`` or ``text``) is there once; no note twice, and no
    note nobody wrote."""
    writes = server_writes(server, user)
    headers = {"Authorization": f"Bearer {server.tokens['admin']}"}
    tally: Counter[str] = Counter()
    missing = set(committed)
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as http:
        for incident_id in incident_ids:
            response = http.get(f"/api/v1/incidents/{incident_id}")
            assert response.status_code == 200, f"{context}: {incident_id} missing on the server"
            detail = response.json()
            timeline = detail["timeline"]
            assert detail["version"] == len(timeline) == 1 + writes[incident_id], (
                f"{context}: {detail['ref']} version {detail['version']}, {len(timeline)} "
                f"events, {writes[incident_id]} writes answered: something applied twice or "
                "not at all")
            notes = Counter(e[by] for e in timeline if e["kind"] == "note")
            twice = [t for t, n in notes.items() if n > 1]
            assert not twice, f"{context}: notes applied twice: {twice}"
            stray = set(notes) - intended
            assert not stray, f"{context}: notes nobody wrote: {stray}"
            tally["server_events"] += len(timeline)
            tally["server_notes"] += len(notes)
            missing -= set(notes)
    assert not missing, f"{context}: committed notes LOST: {sorted(missing)}"
    return tally


@pytest.mark.timeout(900)
def test_client_killed_during_writes_and_syncs(reliability_server: ServerProcess,
                                               slow_proxy: ThreadedFaultProxy,
                                               zygote: Zygote, scratch: Path) -> None:
    rng = random.Random(KILL_SEED)
    context = f"kill seed {KILL_SEED} (replay with RELIABILITY_KILL_SEED={KILL_SEED})"
    FIGURES.note("sigkill", context)
    path = scratch / "sigkill" / "store.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    user, token = "cora", reliability_server.tokens["commander"]
    db = ServerDB(reliability_server.db_path)
    reported: dict[str, tuple[str, str, str]] = {}
    intended_notes: set[str] = set()
    committed_notes: set[str] = set()
    tally: Counter[str] = Counter()
    applied_unconfirmed: set[str] = set()
    started = time.monotonic()
    for iteration in range(KILLS):
        mode = "write" if iteration % 2 == 0 else "sync"
        child = zygote.fork(path.parent / f"child-{iteration}.out",
                            [str(path), slow_proxy.url, token, str(rng.randrange(10**9)), mode])
        assert child.wait_for("READY"), f"{context}: the child did not start"
        if mode == "write":
            child.wait_for("COMMITTED", rng.randint(0, 6), timeout=30)
            time.sleep(rng.uniform(0.0, 0.01))
        else:
            child.wait_for("SYNC", 1, timeout=60)
            time.sleep(rng.uniform(0.0, 0.4))
        phase = child.phase()
        lines = child.kill()
        tally[f"killed_during_{phase}"] += 1
        for line in lines:
            words = line.split()
            if words[0] == "COMMITTED":
                key, kind, incident_id, note_id = words[1:5]
                reported[key] = (kind, incident_id, note_id)
            elif words[0] == "INTENT" and words[1] == "note":
                intended_notes.add(words[3])
        committed_notes |= {note for kind, _, note in reported.values() if kind == "note"}
        where = f"{context}, iteration {iteration} (killed during {phase})"
        state = sound_store(path, where)
        records = db.idempotency(user, reported)
        seen = check_reported(state, reported, records, where)
        tally["outbox_entries_verified_after_kills"] += seen["still_queued"]
        applied_unconfirmed |= {k for k in state["outbox"] if k in records}
        committed_notes |= {e.payload["note_id"] for e in state["outbox"].values()
                            if e.kind == "note"}
    tally["kills"] = KILLS
    tally["changes_reported_committed"] = len(reported)
    tally["applied_on_server_but_unconfirmed_at_a_kill"] = len(applied_unconfirmed)
    # Back online: the outbox drains, and the server holds every change exactly once.
    asyncio.run(drain(path, reliability_server.base_url, token))
    state = sound_store(path, f"{context}, after the drain")
    assert not state["outbox"], f"{context}: the outbox did not drain"
    records = db.idempotency(user, reported)
    tally_after = check_reported(state, reported, records, f"{context}, after the drain")
    assert tally_after["still_queued"] == 0
    tally["confirmed_in_the_end"] = tally_after["confirmed"]
    tally["refused_by_the_server_and_kept_as_conflicts"] = tally_after["refused_and_kept"]
    store = Store(path)
    try:  # the store also holds other tests' incidents (the feed carries everything)
        incident_ids = [i.id for i in store.list() if i.description == MARK]
    finally:
        store.close()
    assert incident_ids, f"{context}: the child created nothing"
    tally.update(check_server_totals(reliability_server, user, incident_ids, committed_notes,
                                     intended_notes, "id", context))
    FIGURES.add("sigkill (child process)", tally)
    FIGURES.time("sigkill (child process)", time.monotonic() - started)


def _cli(args: list[str], env: dict[str, str]) -> Child:
    return Child([sys.executable, "-m", "incidenttui", *args], env)


@pytest.mark.timeout(900)
def test_cli_killed_mid_verb(reliability_server: ServerProcess,
                             slow_proxy: ThreadedFaultProxy, scratch: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(KILL_SEED + 1)
    context = f"kill seed {KILL_SEED} (replay with RELIABILITY_KILL_SEED={KILL_SEED})"
    data_dir = scratch / "cli-data"
    env = {"INCIDENTTUI_DATA_DIR": str(data_dir), "INCIDENTTUI_SERVER": slow_proxy.url,
           "INCIDENTTUI_TOKEN": reliability_server.tokens["admin"]}
    monkeypatch.setenv("INCIDENTTUI_DATA_DIR", str(data_dir))
    from incidenttui.store import store_path_for

    path = store_path_for(slow_proxy.url)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "incidenttui", "create", "--title",
                           "cli kill test", "--service", "checkout"],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    whole = time.monotonic() - started  # how long one verb takes here, start to finish
    store = Store(path)
    incident_id = store.list()[0].id
    store.close()
    tally: Counter[str] = Counter()
    intended_notes: set[str] = set()
    committed_notes: set[str] = set()
    teams = ["service-desk", "platform", "network", "security"]
    for iteration in range(max(3, KILLS // 10)):
        store = Store(path)
        incident = store.get(incident_id)
        store.close()
        assert incident is not None
        status = Status(incident.status)
        roll = rng.random()
        if roll < 0.45:
            text = f"cli note {iteration} {rng.randrange(10**9)}"
            intended_notes.add(text)
            args = ["note", incident_id, text]
        elif roll < 0.7:
            args = ["assign", incident_id, "--team",
                    rng.choice([t for t in teams if t != incident.team])]
        else:
            verbs = {Status.NEW: ["ack", "start"], Status.ACKNOWLEDGED: ["start"],
                     Status.IN_PROGRESS: ["hold"], Status.ON_HOLD: ["resume"]}
            args = [rng.choice(verbs.get(status, ["sync"])), incident_id]
            if args[0] == "sync":
                args = ["sync"]
        child = _cli(args, env)
        time.sleep(rng.uniform(0.3, 1.1) * whole)
        tally["killed" if child.proc.poll() is None else "finished_before_the_kill"] += 1
        child.kill()
        tally[f"verb_{args[0]}"] += 1
        state = sound_store(path, f"{context}, CLI iteration {iteration} ({args[0]})")
        committed_notes |= state["notes"]
    # The server is back (it never left): `incidenttui sync` catches up; exit 0 = all sent.
    for _ in range(10):
        done = subprocess.run([sys.executable, "-m", "incidenttui", "sync"],
                              env={**os.environ, **env}, capture_output=True, text=True,
                              timeout=120)
        if done.returncode == 0:
            break
    assert done.returncode == 0, f"{context}: `incidenttui sync` did not drain: {done.stdout}"
    state = sound_store(path, f"{context}, after the CLI sync")
    assert not state["outbox"]
    store = Store(path)
    try:
        local_notes = {e.text for e in store.timeline(incident_id) if e.kind == "note"}
    finally:
        store.close()
    committed_notes |= local_notes & intended_notes
    tally.update(check_server_totals(reliability_server, "adam", [incident_id],
                                     committed_notes, intended_notes, "text", context))
    FIGURES.add("sigkill (CLI verbs)", tally)
    FIGURES.time("sigkill (CLI verbs)", time.monotonic() - started)
