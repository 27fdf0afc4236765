"""Random fault schedules: two real clients, random commands, faults, and the expected model.

One *schedule* (see :func:`run_schedule`) is fully determined by its seed, as far as timing
allows: the fault profile, the proxy's fault draws, each client's commands and sync pattern.

* Two clients (two store files, two users: ``rita`` and ``ray``) talk to a real server
  subprocess (shared by the schedules of one worker process) through a
  :class:`faultproxy.FaultProxy` of their own. Each runs random commands the domain allows in
  its local store at that moment (create, acknowledge, start, hold, resume, resolve, close,
  reopen, cancel, field changes, escalations, notes, settling a conflict), interleaved with
  ``sync_once()`` calls that may fail; now and then a sync runs in the background while
  commands keep coming, as in the app.
* A chaos task opens refusal windows, cuts every connection, and in some schedules SIGKILLs
  the server and restarts it on the same port and database.
* Then the faults stop; both clients sync until their outboxes are empty and once more to
  see each other's last changes; then :func:`check_schedule` compares the server (HTTP and
  its database) with the model built from what each client's store did:

  - every outbox entry was answered exactly once (confirmed, conflicted or refused) and the
    server's idempotency record agrees; the conflicts the store holds are exactly those;
    no entry was made against a version above the server's (a version from the future would
    pass every conflict check), and none was refused for one;
  - every create exists once; every note (and transition note) appears exactly once; status,
    escalation and field events match the confirmed commands one for one, per user; the
    incident's version equals one plus the number of writes that changed it;
  - a field conflict is only raised when someone else changed that field (counted as an
    anomaly; a failure with ``Env.strict_conflicts``, off while the open case in
    ``tests/reliability/test_own_edits.py`` stands);
  - both stores converge to the server's state: the same fields, version and timeline ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import shutil
import sqlite3
import threading
import time
import traceback
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from faultproxy import FaultPlan, FaultProxy  # type: ignore[import-not-found]
from reliability_server import (  # type: ignore[import-not-found]
    ServerDB,
    ServerGate,
    ServerProcess,
)
from servers import OTHER_RESPONDER, SERVICES, TEAMS, USERS  # type: ignore[import-not-found]

from incidenttui.domain import (
    Action,
    Category,
    EscalationKind,
    Refused,
    ResolutionCode,
    Status,
    legal_actions,
)
from incidenttui.domain.lifecycle import EDITABLE_STATUSES
from incidenttui.store import (
    AddNote,
    CreateIncident,
    Escalate,
    SettleConflict,
    Store,
    Transition,
    UpdateFields,
)
from incidenttui.sync.client import Answer, ApiClient, SyncError
from incidenttui.sync.engine import SyncEngine

#: (token role in ``seed()``'s tokens, user id) of the two clients.
CLIENTS = (("responder", USERS["responder"]), ("other", OTHER_RESPONDER))
ASSIGNEES = sorted({*USERS.values(), OTHER_RESPONDER})
#: Categories the clients use: not ``security``, whose incidents are restricted (only the
#: reporter would see them; visibility has its own tests, tests/server/test_restricted.py).
CATEGORIES = [c for c in Category if c is not Category.SECURITY]
PATCHABLE = ("title", "description", "category", "impact", "urgency", "team", "assignee",
             "service")
#: Incident fields both stores must hold exactly as the server does after the drain.
CONVERGED_FIELDS = (
    "number", "status", "title", "description", "category", "service", "impact", "urgency",
    "priority", "team", "assignee", "escalation_level", "management_engaged", "major",
    "reporter", "version", "reopen_count", "resolution_code", "resolution_note",
    "hold_seconds", "links", "field_versions", "created_at", "acknowledged_at",
    "resolved_at", "closed_at", "on_hold_since",
)
PATCH_EVENTS = ("field", "assignment", "priority")
KNOWN_EVENTS = {"created", "status", "note", "escalation", *PATCH_EVENTS}


# -- tracing what each store does ------------------------------------------------------------


@dataclass
class Queued:
    """One outbox entry the client made: by a command, a conflict's re-queue, or keep-mine."""

    key: str
    kind: str
    incident_id: str
    payload: dict[str, Any]
    origin: str  # execute | requeue | keep_mine | split
    parent: str | None = None
    base_version: int = 0


@dataclass
class Trace:
    queued: dict[str, Queued] = field(default_factory=dict)
    #: key -> (confirmed | conflicted | rejected, response body / fields / reason)
    outcome: dict[str, tuple[str, Any]] = field(default_factory=dict)
    #: key -> how many ConflictRecord rows the store should still hold for it
    conflict_rows: Counter[str] = field(default_factory=Counter)
    #: (key, incident id, field) of every field conflict the server reported
    field_conflicts: list[tuple[str, str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    settled_conflicts: int = 0


class TracingStore(Store):
    """The real store, watched: records which outbox entries appear and how each one leaves.

    Every override calls the real method unchanged; the lock only makes the before/after
    comparison of the outbox exact while the sync engine's thread and commands run at once.
    """

    def __init__(self, path: Path | str) -> None:
        super().__init__(path)
        self.trace = Trace()
        self._trace_lock = threading.Lock()
        # A plain read-only connection for the bookkeeping (cheaper than the ORM).
        self._peek = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30,
                                     check_same_thread=False, isolation_level=None)

    def close(self) -> None:
        self._peek.close()
        super().close()

    def _keys(self) -> dict[str, Queued]:
        rows = self._peek.execute(
            "SELECT key, kind, incident_id, payload, base_version FROM outbox").fetchall()
        return {key: Queued(key, kind, incident_id, json.loads(payload), "", None, base)
                for key, kind, incident_id, payload, base in rows}

    def peek_incident(self, incident_id: str) -> Any:
        """``id``, ``status`` and ``team`` of a stored incident (None: not in the store)."""
        row = self._peek.execute("SELECT id, status, team FROM incidents WHERE id = ?",
                                 (incident_id,)).fetchone()
        return None if row is None else SimpleNamespace(id=row[0], status=row[1], team=row[2])

    def _settle(self, key: str, outcome: str, detail: Any) -> None:
        if key in self.trace.outcome:
            self.trace.problems.append(f"outbox entry {key} was settled twice "
                                       f"({self.trace.outcome[key][0]}, then {outcome})")
        self.trace.outcome[key] = (outcome, detail)

    def _adopt(self, before: dict[str, Any], origin: str, parent: str | None) -> None:
        for key, entry in self._keys().items():
            if key not in before and key not in self.trace.queued:
                entry.origin, entry.parent = origin, parent
                self.trace.queued[key] = entry

    def execute(self, command: Any, now: datetime | None = None) -> Any:
        with self._trace_lock:
            before = self._keys()
            if isinstance(command, SettleConflict):
                return self._settle_conflict(command, now, before)
            result = super().execute(command, now)
            self._adopt(before, "execute", None)
            return result

    def _settle_conflict(self, command: SettleConflict, now: datetime | None,
                         before: dict[str, Queued]) -> Any:
        """A conflict settled through ``execute`` (under the trace lock)."""
        records = {c.id: c for c in self.conflicts()}
        result = super().execute(command, now)
        record = records.get(command.conflict_id)
        if record is not None:
            self.trace.conflict_rows[record.outbox_key] -= 1
            self.trace.settled_conflicts += 1
            self._adopt(before, "keep_mine", record.outbox_key)
        return result

    def confirm(self, key: str, response: Any) -> None:
        with self._trace_lock:
            before = self._keys()
            super().confirm(key, response)
            if key in before:
                self._settle(key, "confirmed", response)
            # Confirming rebases later changes; one whose fields someone else partly changed
            # is split, and its other fields go out under a new key.
            after = self._keys()
            for parent, entry in before.items():
                if parent in after and after[parent].payload != entry.payload:
                    self._adopt(before, "split", parent)

    def record_conflict(self, key: str, body: Any) -> None:
        with self._trace_lock:
            before = self._keys()
            super().record_conflict(key, body)
            if key not in before:
                return
            fields = sorted({str(c["field"]) for c in body.get("conflicts", [])})
            self._settle(key, "conflicted", fields)
            self.trace.conflict_rows[key] += len(fields)
            self.trace.field_conflicts += [(key, before[key].incident_id, f) for f in fields]
            self._adopt(before, "requeue", key)

    def reject(self, key: str, reason: str) -> None:
        with self._trace_lock:
            present = key in self._keys()
            super().reject(key, reason)
            if present:
                self._settle(key, "rejected", reason)
                self.trace.conflict_rows[key] += 1


class CountingApiClient(ApiClient):
    """The real client, counting requests and failures by kind."""

    def __init__(self, *args: Any, counter: Counter[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counter = counter

    async def call(self, method: str, path: str, **kwargs: Any) -> Answer:
        self.counter["requests"] += 1
        try:
            return await super().call(method, path, **kwargs)
        except SyncError as exc:
            self.counter[f"failed_{type(exc).__name__}"] += 1
            raise


# -- a schedule's shape ----------------------------------------------------------------------

INTENSITIES = {
    "light": FaultPlan(reject=0.01, delay=0.05, stall=0.005, reset_request=0.01,
                       reset_response=0.01, truncate=0.01),
    "medium": FaultPlan(reject=0.03, delay=0.10, stall=0.01, long_stall=0.002,
                        reset_request=0.03, reset_response=0.03, truncate=0.02),
    "heavy": FaultPlan(reject=0.06, delay=0.15, stall=0.02, long_stall=0.004,
                       reset_request=0.06, reset_response=0.06, truncate=0.05),
}


@dataclass(frozen=True)
class Profile:
    intensity: str
    plan: FaultPlan
    kills: int  # server SIGKILL + restart during the run
    refuse_windows: int
    drops: int  # cut every open connection at once
    commands: tuple[int, int]  # per client
    p_sync: float
    p_background: float

    def describe(self) -> str:
        return (f"{self.intensity} faults, {self.kills} server kill(s), {self.refuse_windows} "
                f"refusal window(s), {self.drops} connection drop(s), commands "
                f"{self.commands[0]}+{self.commands[1]}")


def draw_profile(rng: random.Random, min_commands: int, kill_rate: float) -> Profile:
    intensity = rng.choices(list(INTENSITIES), weights=[3, 4, 3])[0]
    base = INTENSITIES[intensity]
    plan = base.scaled(rng.uniform(0.6, 1.4))
    kills = (2 if rng.random() < 0.25 else 1) if rng.random() < kill_rate else 0
    half = (min_commands + 1) // 2
    commands = (rng.randint(half, half + 2), rng.randint(half, half + 2))
    return Profile(intensity=intensity, plan=plan, kills=kills,
                   refuse_windows=rng.randint(0, 3), drops=rng.randint(0, 2),
                   commands=commands, p_sync=rng.uniform(0.15, 0.4),
                   p_background=rng.uniform(0.0, 0.5))


# -- one client ------------------------------------------------------------------------------


class Client:
    def __init__(self, index: int, user: str, token: str, store_path: Path, base_url: str,
                 rng: random.Random, tag: str, timeout: float) -> None:
        self.index = index
        self.name = f"client{index}({user})"
        self.user = user
        self.rng = rng
        self.tag = tag
        self.store = TracingStore(store_path)
        self.requests: Counter[str] = Counter()
        # Plain HTTP on loopback: verify=False only skips loading the CA bundle (~40 ms).
        self.api = CountingApiClient(base_url, token, timeout=timeout, verify=False,
                                     counter=self.requests)
        self.engine = SyncEngine(self.store, self.api)
        self.stats: Counter[str] = Counter()  # touched on the event loop only
        self.commands: Counter[str] = Counter()  # touched in the command thread only
        self.created: list[str] = []
        self.background: asyncio.Task[bool] | None = None
        self.errors: list[str] = []

    async def sync(self) -> bool:
        self.stats["syncs"] += 1
        try:
            await self.engine.sync_once()
            return True
        except SyncError as exc:
            self.stats["syncs_failed"] += 1
            self.stats[f"sync_failed_{type(exc).__name__}"] += 1
            self.errors = [*self.errors[-4:], f"{type(exc).__name__}: {exc}"]
            return False

    async def wait_background(self) -> None:
        if self.background is not None:
            await self.background
            self.background = None

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.wait_background()
        await self.api.aclose()
        self.store.close()

    # -- commands --------------------------------------------------------------------------

    def _text(self, what: str) -> str:
        return f"{what} {self.tag} c{self.index} #{self.commands['attempted']} " \
               f"{uuid.uuid4().hex[:8]}"

    def choose(self, incident_ids: list[str]) -> tuple[str, Any]:
        """A command the local store should allow now (and, rarely, one it must refuse)."""
        rng = self.rng
        # What the user sees in the queue: id, status and team of the incidents in the store.
        incident = None
        for incident_id in rng.sample(incident_ids, len(incident_ids)):
            incident = self.store.peek_incident(incident_id)
            if incident is not None:
                break
        if len(self.created) < 2 or incident is None or \
                (len(self.created) < 4 and rng.random() < 0.05):
            command = CreateIncident.new(
                title=self._text("title"), description=rng.choice(["", "first seen at 09:12"]),
                service=rng.choice(sorted(SERVICES)), category=rng.choice(CATEGORIES).value,
                impact=rng.randint(1, 3), urgency=rng.randint(1, 3), major=rng.random() < 0.1)
            return "create", command
        conflicts = self.store.conflicts() if rng.random() < 0.05 else []
        if conflicts:
            record = rng.choice(conflicts)
            keep = record.field is not None and rng.random() < 0.5
            return ("keep_mine" if keep else "take_theirs"), record.id
        status = Status(incident.status)
        legal = legal_actions(status)
        if rng.random() < 0.04:  # a move the rules refuse: refused offline, nothing queued
            illegal = [a for a in Action if a not in legal]
            return "illegal", Transition(incident.id, action=rng.choice(illegal).value)
        options = [("note", 25)]
        if legal:
            options.append(("transition", 35))
        if status in EDITABLE_STATUSES:
            options.append(("patch", 22))
        if status.is_open:
            options.append(("escalate", 12))
        kind = rng.choices([o[0] for o in options], weights=[o[1] for o in options])[0]
        if kind == "note":
            return "note", AddNote(incident.id, text=self._text("note"))
        if kind == "transition":
            weights = [0.25 if a == Action.CANCEL else 0.5 if a == Action.CLOSE else 1.0
                       for a in legal]
            action = rng.choices(legal, weights=weights)[0]
            extra: dict[str, Any] = {}
            if action == Action.RESOLVE:
                extra = {"resolution_code": rng.choice(list(ResolutionCode)).value,
                         "resolution_note": "rolled back the deploy"}
            if rng.random() < 0.15:
                extra["note"] = self._text("move-note")
            return action.value, Transition(incident.id, action=action.value, **extra)
        if kind == "patch":
            names = rng.sample(PATCHABLE, rng.choice([1, 1, 2]))
            values = {name: self._value(name) for name in names}
            return "patch", UpdateFields(incident.id, values)
        if rng.random() < 0.3:
            return "escalate", Escalate(incident.id, escalation=EscalationKind.HIERARCHICAL.value,
                                        reason="customer-facing for an hour")
        team = rng.choice([t for t in sorted(TEAMS) if t != incident.team])
        to_user = rng.choice(ASSIGNEES) if rng.random() < 0.3 else None
        return "escalate", Escalate(incident.id, escalation=EscalationKind.FUNCTIONAL.value,
                                    reason="needs the experts", to_team=team, to_user=to_user)

    def _value(self, name: str) -> Any:
        rng = self.rng
        if name == "title":
            return f"{self.tag} title {rng.choice('ABC')}"
        if name == "description":
            return rng.choice(["", "one", "two", "three"])
        if name == "category":
            return rng.choice(CATEGORIES).value
        if name in ("impact", "urgency"):
            return rng.randint(1, 3)
        if name == "team":
            return rng.choice([*sorted(TEAMS), None])
        if name == "assignee":
            return rng.choice([*ASSIGNEES, None])
        return rng.choice(sorted(SERVICES))

    def step(self, incident_ids: list[str]) -> str | None:
        """Choose and run one command (in a worker thread); returns a created incident id."""
        self.commands["attempted"] += 1
        kind, command = self.choose(incident_ids)
        self.commands[f"cmd_{kind}"] += 1
        try:
            if kind in ("keep_mine", "take_theirs"):
                self.store.execute(SettleConflict(command, keep_mine=kind == "keep_mine"))
                self.commands["settled"] += 1
                return None
            self.store.execute(command)
        except Refused:
            self.commands["refused_local"] += 1
            return None
        self.commands["queued"] += 1
        if kind == "create":
            self.created.append(command.incident_id)
            return str(command.incident_id)
        return None


# -- the environment shared by schedules -----------------------------------------------------


@dataclass
class Env:
    server: ServerProcess
    db: ServerDB
    directory: list[dict[str, Any]]
    workdir: Path
    timeout: float = 1.0
    min_commands: int = 50
    kill_rate: float = 0.1
    #: Fail on a field conflict nobody else caused (else only count it in the figures).
    strict_conflicts: bool = False
    gate: ServerGate | None = None
    _template: Path | None = None

    def template_store(self) -> Path:
        """A closed store file holding the directory (teams, users, services) to copy."""
        if self._template is None:
            path = self.workdir / "template.db"
            path.unlink(missing_ok=True)
            store = Store(path)
            store.apply_changes(self.directory, 0)
            store.close()
            self._template = path
        return self._template


@dataclass
class ScheduleResult:
    seed: int
    profile: str
    failure: str | None
    figures: dict[str, Counter[str]]
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)


# -- one schedule ----------------------------------------------------------------------------


async def run_schedule(seed: int, env: Env) -> ScheduleResult:
    started = time.monotonic()
    rng = random.Random(seed)
    profile = draw_profile(rng, env.min_commands, env.kill_rate)
    proxy_rng = random.Random(rng.getrandbits(64))
    chaos_rng = random.Random(rng.getrandbits(64))
    client_rngs = [random.Random(rng.getrandbits(64)) for _ in CLIENTS]
    tag = f"s{seed}"
    workdir = env.workdir / f"schedule-{seed}-{uuid.uuid4().hex[:6]}"
    workdir.mkdir(parents=True)
    proxy = FaultProxy(("127.0.0.1", env.server.port), proxy_rng, profile.plan)
    await proxy.start()
    clients: list[Client] = []
    chaos_figures: Counter[str] = Counter()
    anomalies: Counter[str] = Counter()
    phases: dict[str, float] = {}
    failure: str | None = None
    try:
        cursor = await asyncio.to_thread(env.db.end_cursor)
        for index, ((role, user), client_rng) in enumerate(zip(CLIENTS, client_rngs,
                                                              strict=True)):
            # A fresh store that knows the directory and starts at the feed's end, so it pulls
            # only what happens from now on (not every earlier schedule's incidents).
            path = workdir / f"c{index}.db"
            await asyncio.to_thread(shutil.copyfile, env.template_store(), path)
            client = await asyncio.to_thread(
                Client, index, user, env.server.tokens[role], path, proxy.url, client_rng, tag,
                env.timeout)
            await asyncio.to_thread(client.store.set_meta, "cursor", cursor)
            clients.append(client)
        phases["setup"] = time.monotonic() - started
        incident_ids: list[str] = []
        progress = {"done": 0, "total": sum(profile.commands)}
        done = asyncio.Event()
        chaos = asyncio.create_task(
            _chaos(env, proxy, profile, chaos_rng, progress, done, chaos_figures))
        try:
            await asyncio.gather(*(
                _drive(c, n, profile, incident_ids, progress)
                for c, n in zip(clients, profile.commands, strict=True)))
        finally:
            done.set()
            await chaos
        phases["run"] = time.monotonic() - started
        proxy.set_plan(FaultPlan.passthrough())
        problems = await _drain(clients, env)
        phases["drain"] = time.monotonic() - started
        if not problems:
            assert env.gate is not None
            async with env.gate.shared():
                problems = await check_schedule(env, clients, anomalies)
        phases["check"] = time.monotonic() - started
        if problems:
            failure = "\n".join(f"  - {p}" for p in problems[:40])
            if len(problems) > 40:
                failure += f"\n  … and {len(problems) - 40} more"
    except Exception:
        failure = "the schedule crashed:\n" + traceback.format_exc()
    finally:
        figures = _figures(clients, proxy, chaos_figures, profile)
        figures["anomalies"] = anomalies
        await proxy.close()
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()
        if failure is None:
            shutil.rmtree(workdir, ignore_errors=True)
    if failure is not None:
        failure = (f"seed {seed} ({profile.describe()}) failed; replay with "
                   f"RELIABILITY_SEED={seed} (stores kept in {workdir}):\n{failure}")
    return ScheduleResult(seed, profile.describe(), failure, figures,
                          time.monotonic() - started, phases)


async def _drive(client: Client, commands: int, profile: Profile, incident_ids: list[str],
                 progress: dict[str, int]) -> None:
    rng = client.rng
    for _ in range(commands):
        if rng.random() < profile.p_sync:
            if client.background is None and rng.random() < profile.p_background:
                client.background = asyncio.create_task(client.sync())
            else:
                await client.wait_background()
                await client.sync()
        if client.background is not None and client.background.done():
            client.background.result()  # a crash (not a SyncError) must not go unseen
            client.background = None
        created = await asyncio.to_thread(client.step, list(incident_ids))
        if created is not None:
            incident_ids.append(created)
        progress["done"] += 1
        if rng.random() < 0.3:
            await asyncio.sleep(rng.uniform(0, 0.004))
    await client.wait_background()
    await client.sync()


async def _chaos(env: Env, proxy: FaultProxy, profile: Profile, rng: random.Random,
                 progress: dict[str, int], done: asyncio.Event, figures: Counter[str]) -> None:
    kill_at = sorted(rng.uniform(0.1, 0.85) for _ in range(profile.kills))
    windows, drops = profile.refuse_windows, profile.drops
    while not done.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), rng.uniform(0.03, 0.3))
        if done.is_set():
            return
        fraction = progress["done"] / max(1, progress["total"])
        if kill_at and fraction >= kill_at[0]:
            kill_at.pop(0)
            assert env.gate is not None
            async with env.gate.exclusive():
                env.server.kill()
                figures["server_kills"] += 1
                await asyncio.sleep(rng.uniform(0.0, 0.3))
                await asyncio.to_thread(env.server.start)
                figures["server_restarts"] += 1
        elif windows and rng.random() < 0.3:
            windows -= 1
            await proxy.refuse_for(rng.uniform(0.01, 0.15))
        elif drops and rng.random() < 0.2:
            drops -= 1
            figures["connection_drops"] += 1
            proxy.drop_connections()


async def _drain(clients: list[Client], env: Env, limit: float = 120.0) -> list[str]:
    """Sync both clients until both outboxes are empty, then once more each (each must see
    the other's last changes). Failures while another schedule restarts the server retry."""
    deadline = time.monotonic() + limit
    rounds = 0
    while True:
        rounds += 1
        ok = True
        for client in clients:
            await client.wait_background()
            ok = await client.sync() and ok
        pending = [await asyncio.to_thread(c.store.pending_count) for c in clients]
        if ok and not any(pending):
            break
        if time.monotonic() > deadline:
            return [f"the drain did not finish in {limit:.0f}s ({rounds} rounds): pending "
                    f"{pending}; last errors: {[c.errors for c in clients]}"]
        await asyncio.sleep(0.02 if ok else 0.1)
    for client in clients:
        client.stats["drain_rounds"] += rounds
        while not await client.sync():
            if time.monotonic() > deadline:
                return [f"{client.name}: the final sync kept failing: {client.errors}"]
            await asyncio.sleep(0.1)
    return []


# -- the expected model ----------------------------------------------------------------------


def _parse_time(value: Any) -> Any:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def _same(local: Any, server: Any) -> bool:
    local, server = _parse_time(local), _parse_time(server)
    if isinstance(local, float) or isinstance(server, float):
        return abs(float(local or 0) - float(server or 0)) < 1e-6
    return local == server


async def _server_details(env: Env, ids: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    headers = {"Authorization": f"Bearer {env.server.tokens['admin']}"}
    async with httpx.AsyncClient(base_url=env.server.base_url, headers=headers,
                                 timeout=30, verify=False) as http:
        for incident_id in ids:
            response = await http.get(f"/api/v1/incidents/{incident_id}")
            if response.status_code == 200:
                out[incident_id] = response.json()
    return out


def _changed_fields(event: dict[str, Any]) -> set[str]:
    """The editable fields a timeline event records as changed."""
    if event["kind"] in PATCH_EVENTS:
        return set(event["data"].get("fields", {}))
    if event["kind"] == "escalation":
        data = event["data"]
        fields = set()
        if data.get("kind") == "functional":
            fields |= {"team", "assignee"}
        if data.get("to_user") is not None:
            fields.add("assignee")
        return fields
    return set()


async def check_schedule(env: Env, clients: list[Client],
                         anomalies: Counter[str] | None = None) -> list[str]:
    problems: list[str] = []
    anomalies = anomalies if anomalies is not None else Counter()
    creates = {q.incident_id: (c, q) for c in clients for q in c.store.trace.queued.values()
               if q.kind == "create"}
    ids = sorted(creates)
    details = await _server_details(env, ids)
    counts = await asyncio.to_thread(env.db.count_incidents, ids)
    # Which write transaction added each field-change event (a patch may add several).
    write_of = await asyncio.to_thread(env.db.event_transactions, [
        e["id"] for d in details.values() for e in d["timeline"] if e["kind"] in PATCH_EVENTS])

    # 1. Every outbox entry was answered once, as the server's idempotency record says.
    for client in clients:
        trace = client.store.trace
        problems += [f"{client.name}: {p}" for p in trace.problems]
        outbox = {e.key for e in client.store.outbox()}
        if outbox:
            problems.append(f"{client.name}: {len(outbox)} entries still in the outbox")
        records = await asyncio.to_thread(env.db.idempotency, client.user, list(trace.queued))
        for key, queued in trace.queued.items():
            outcome = trace.outcome.get(key)
            what = f"{client.name}: {queued.kind} {key} ({queued.origin})"
            if outcome is None:
                problems.append(f"{what} left no answer: " + (
                    "still queued" if key in outbox else "LOST from the outbox unanswered"))
                continue
            record = records.get(key)
            if record is None:
                problems.append(f"{what} was settled as {outcome[0]} but the server has no "
                                "record of that key")
                continue
            status, body = record
            expected = {"confirmed": 200 <= status < 300,
                        "conflicted": status == 409 and '"conflicts"' in body,
                        "rejected": 400 <= status < 500 and '"conflicts"' not in body}
            if not expected[outcome[0]]:
                problems.append(f"{what}: the store settled it as {outcome[0]} but the server "
                                f"answered {status} {body[:200]}")
            if outcome[0] == "rejected" and "base_version" in str(outcome[1]):
                problems.append(f"{what}: refused for a base version from the future "
                                f"({queued.base_version}): {outcome[1]}")
            server_version = (details.get(queued.incident_id) or {}).get("version")
            if server_version is not None and queued.base_version > server_version:
                problems.append(f"{what}: made against version {queued.base_version}, above "
                                f"the server's {server_version} (versions only grow)")
            if queued.kind == "note" and outcome[0] != "confirmed":
                problems.append(f"{what}: a note was {outcome[0]} ({outcome[1]}); notes "
                                "never conflict")
        stray = set(trace.outcome) - set(trace.queued)
        if stray:
            problems.append(f"{client.name}: settled entries it never queued: {sorted(stray)}")
        held = Counter(c.outbox_key for c in client.store.conflicts())
        expected_rows = +trace.conflict_rows
        if held != expected_rows:
            problems.append(f"{client.name}: the store holds conflicts {dict(held)}, expected "
                            f"{dict(expected_rows)}")

    # 2. The server applied every confirmed change exactly once, and nothing else.
    for incident_id in ids:
        creator, _ = creates[incident_id]
        detail = details.get(incident_id)
        if detail is None or counts.get(incident_id) != 1:
            problems.append(f"incident {incident_id} (created by {creator.name}) exists "
                            f"{counts.get(incident_id, 0)} times on the server")
            continue
        timeline = detail["timeline"]
        label = f"{detail['ref']} ({incident_id[:8]})"
        ids_seen = Counter(e["id"] for e in timeline)
        if any(n > 1 for n in ids_seen.values()):
            problems.append(f"{label}: duplicate event ids on the timeline")
        created = [e for e in timeline if e["kind"] == "created"]
        if len(created) != 1 or created[0]["actor"] != creator.user:
            problems.append(f"{label}: {len(created)} created events (expected 1 by "
                            f"{creator.user})")
        odd = {e["kind"] for e in timeline} - KNOWN_EVENTS
        if odd:
            problems.append(f"{label}: unexpected event kinds {sorted(odd)}")
        expected_version = 1
        expected_notes: Counter[str] = Counter()
        bump_versions: list[int] = []
        for client in clients:
            trace = client.store.trace
            confirmed = [(trace.queued[k], detail_) for k, (o, detail_) in trace.outcome.items()
                         if o == "confirmed" and k in trace.queued
                         and trace.queued[k].incident_id == incident_id]
            mine = [e for e in timeline if e["actor"] == client.user]
            moves = Counter(q.payload["action"] for q, _ in confirmed if q.kind == "action")
            got_moves = Counter(e["data"].get("action") for e in mine if e["kind"] == "status")
            if moves != got_moves:
                problems.append(f"{label}: status events by {client.user} {dict(got_moves)} != "
                                f"confirmed moves {dict(moves)}")
            escalations = sum(q.kind == "escalate" for q, _ in confirmed)
            got_escalations = sum(e["kind"] == "escalation" for e in mine)
            if escalations != got_escalations:
                problems.append(f"{label}: {got_escalations} escalation events by "
                                f"{client.user}, {escalations} confirmed")
            notes = [q for q, _ in confirmed if q.kind == "note"]
            for q in notes:
                same = [e for e in timeline if e["id"] == q.payload["note_id"]]
                if len(same) != 1 or same[0]["text"] != q.payload["text"] \
                        or same[0]["actor"] != client.user:
                    problems.append(f"{label}: note {q.payload['note_id']} by {client.user} "
                                    f"appears {len(same)} times")
                expected_notes[q.payload["text"]] += 1
            for q, _ in confirmed:
                if q.kind == "action" and (q.payload.get("note") or "").strip():
                    expected_notes[q.payload["note"]] += 1
            patches = sum(q.kind == "patch" for q, _ in confirmed)
            patch_writes = len({write_of.get(e["id"], e["id"]) for e in mine
                                if e["kind"] in PATCH_EVENTS})
            if patch_writes > patches:
                problems.append(f"{label}: {patch_writes} field-change writes by {client.user}, "
                                f"only {patches} patches confirmed")
            expected_version += sum(moves.values()) + escalations + len(notes) + patch_writes
            bump_versions += [body["version"] for q, body in confirmed
                              if q.kind in ("action", "escalate") and isinstance(body, dict)]
        got_notes = Counter(e["text"] for e in timeline if e["kind"] == "note")
        if got_notes != expected_notes:
            missing = expected_notes - got_notes
            extra = got_notes - expected_notes
            problems.append(f"{label}: notes missing {dict(missing)}, extra {dict(extra)}")
        if detail["version"] != expected_version:
            problems.append(f"{label}: version {detail['version']}, expected {expected_version} "
                            "(1 + confirmed writes that changed it)")
        if len(set(bump_versions)) != len(bump_versions) or \
                any(v > detail["version"] for v in bump_versions):
            problems.append(f"{label}: confirmed moves/escalations answered versions "
                            f"{sorted(bump_versions)} (final {detail['version']})")

    # 3. A field conflict only arises when someone else changed that field.
    for client in clients:
        for key, incident_id, name in client.store.trace.field_conflicts:
            detail = details.get(incident_id)
            if detail is None:
                continue
            others = [e for e in detail["timeline"] if e["actor"] != client.user
                      and name in _changed_fields(e)]
            if not others:
                anomalies["false_field_conflicts"] += 1
                if env.strict_conflicts:
                    problems.append(f"{client.name}: patch {key} on {detail['ref']} conflicted "
                                    f"on {name!r}, which nobody else changed")

    # 4. Both stores converge to the server's state.
    for client in clients:
        for incident_id in ids:
            detail = details.get(incident_id)
            if detail is None:
                continue
            local = client.store.get(incident_id)
            if local is None:
                problems.append(f"{client.name}: {detail['ref']} missing from the store")
                continue
            diff = {name: (getattr(local, name), detail[name]) for name in CONVERGED_FIELDS
                    if not _same(getattr(local, name), detail[name])}
            if diff or local.pending:
                problems.append(f"{client.name}: {detail['ref']} differs from the server: "
                                f"{diff} pending={local.pending}")
            local_events = sorted(e.id for e in client.store.timeline(incident_id))
            server_events = sorted(e["id"] for e in detail["timeline"])
            if local_events != server_events:
                only_local = sorted(set(local_events) - set(server_events))
                only_server = sorted(set(server_events) - set(local_events))
                problems.append(f"{client.name}: {detail['ref']} timeline differs: "
                                f"{len(local_events)} local, {len(server_events)} on the "
                                f"server; only local {only_local[:3]}, only on the server "
                                f"{only_server[:3]}")
    return problems


# -- figures ---------------------------------------------------------------------------------


def _figures(clients: list[Client], proxy: FaultProxy, chaos: Counter[str],
             profile: Profile) -> dict[str, Counter[str]]:
    commands: Counter[str] = Counter()
    outbox: Counter[str] = Counter()
    requests: Counter[str] = Counter()
    syncs: Counter[str] = Counter()
    for client in clients:
        commands.update(client.commands)
        syncs.update(client.stats)
        requests.update(client.requests)
        trace = client.store.trace
        outbox["entries"] += len(trace.queued)
        outbox.update(f"origin_{q.origin}" for q in trace.queued.values())
        outbox.update(o for o, _ in trace.outcome.values())
        outbox["conflicts_settled_by_user"] += trace.settled_conflicts
    faults = Counter({k: v for k, v in proxy.stats.items()
                      if not k.startswith(("chunks_", "bytes_", "connections"))})
    faults.update(chaos)
    traffic = Counter({k: v for k, v in proxy.stats.items()
                       if k.startswith(("chunks_", "connections"))})
    return {"commands": commands, "outbox": outbox, "requests": requests, "syncs": syncs,
            "faults": faults, "traffic": traffic,
            "profiles": Counter({f"intensity_{profile.intensity}": 1,
                                 "with_server_kill": int(profile.kills > 0)})}


# -- many schedules --------------------------------------------------------------------------


async def run_many(seeds: list[int], env: Env, concurrency: int) -> list[ScheduleResult]:
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=max(8, 4 * concurrency),
                                                 thread_name_prefix="reliability"))
    env.gate = ServerGate()
    limit = asyncio.Semaphore(concurrency)

    async def one(seed: int) -> ScheduleResult:
        async with limit:
            return await run_schedule(seed, env)

    return list(await asyncio.gather(*(one(s) for s in seeds)))


def results_json(results: list[ScheduleResult]) -> str:
    return json.dumps([{"seed": r.seed, "profile": r.profile, "seconds": round(r.seconds, 2),
                        "failed": r.failure is not None} for r in results])
