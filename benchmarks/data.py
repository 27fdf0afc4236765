"""Synthetic incidents for the benchmarks, and stores built from them.

Every benchmark that needs N incidents uses the same deterministic generator, so the stock
baselines (DataTable, raw sqlite3, raw httpx) and our code hold exactly the same rows.
A snapshot has the shape of the API's ``IncidentOut`` (what the change feed carries), so a
store is filled through ``Store.apply_changes``: the same path a first pull takes.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

#: Bump when the generator changes, so cached stores are rebuilt.
GENERATOR_VERSION = 3

SERVICES = ("storefront", "checkout", "payments", "search", "catalog", "accounts",
            "order-management", "erp-sync", "cdn")
TEAMS = ("service-desk", "platform", "payments-experts", "network", "security")
USERS = ("amira.haddad", "tom.becker", "lucia.moreno", "jonas.weber", "priya.nair",
         "mateo.rossi", "daniel.okafor", "elena.petrova", "lars.nielsen", "noah.fischer")
CATEGORIES = ("availability", "performance", "security", "data", "network", "software_bug",
              "third_party", "capacity", "other")
SYMPTOMS = ("timeouts", "errors", "latency", "failing", "degraded", "unreachable", "slow",
            "5xx spike", "queue backlog", "certificate expiry", "stale cache", "lag")
COMPONENTS = ("payment gateway", "login page", "search index", "product images", "basket",
              "order export", "price feed", "stock sync", "TLS edge", "webhook consumer",
              "mobile app", "invoice job", "fraud rules", "DNS resolver", "CDN purge")
WORDS = ("customers", "report", "since", "deploy", "rollback", "vendor", "region", "eu-west",
         "retry", "alert", "dashboard", "runbook", "partial", "intermittent", "checkout",
         "refund", "warehouse", "kafka", "postgres", "redis", "nginx", "kubernetes", "pod")
#: Status mix of a real queue's history: most incidents are finished.
STATUSES = (("new", 8), ("acknowledged", 6), ("in_progress", 10), ("on_hold", 3),
            ("resolved", 18), ("closed", 50), ("cancelled", 5))
PRIORITY = {(1, 1): 1, (1, 2): 2, (1, 3): 3, (2, 1): 2, (2, 2): 3, (2, 3): 4,
            (3, 1): 3, (3, 2): 4, (3, 3): 5}
#: The clock the data set is timed against (fixed, so every run builds the same rows).
EPOCH = datetime(2025, 11, 1, 12, 0, tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def snapshots(n: int, seed: int = 1, first_number: int = 1001) -> list[dict[str, Any]]:
    """``n`` IncidentOut-shaped JSON dicts, numbered from ``first_number``, oldest first."""
    rng = random.Random(seed)
    statuses = [s for s, w in STATUSES for _ in range(w)]
    out = []
    span = timedelta(days=365).total_seconds()
    for i in range(n):
        created = EPOCH - timedelta(seconds=span * (n - i) / n + rng.random() * 60)
        impact, urgency = rng.randint(1, 3), rng.randint(1, 3)
        status = rng.choice(statuses)
        service = rng.choice(SERVICES)
        ack = created + timedelta(minutes=rng.uniform(1, 120)) \
            if status not in ("new", "cancelled") else None
        resolved = ack + timedelta(hours=rng.uniform(0.2, 72)) \
            if status in ("resolved", "closed") and ack else None
        closed = resolved + timedelta(days=3) if status == "closed" and resolved else None
        updated = closed or resolved or ack or created
        number = first_number + i
        out.append({
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "number": number, "ref": f"INC-{number}",
            "title": f"{service.capitalize()}: {rng.choice(COMPONENTS)} "
                     f"{rng.choice(SYMPTOMS)} ({rng.choice(WORDS)})",
            "description": " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30))),
            "service": service, "category": rng.choice(CATEGORIES),
            "impact": impact, "urgency": urgency, "priority": PRIORITY[(impact, urgency)],
            "status": status,
            "team": rng.choice(TEAMS), "assignee": rng.choice(USERS) if ack else None,
            "escalation_level": rng.choice((1, 1, 1, 2, 2, 3)),
            "management_engaged": False, "major": rng.random() < 0.01,
            "reporter": rng.choice(USERS),
            "created_at": _iso(created), "updated_at": _iso(updated),
            "detected_at": _iso(created), "started_at": _iso(created - timedelta(minutes=5)),
            "acknowledged_at": _iso(ack), "resolved_at": _iso(resolved),
            "closed_at": _iso(closed),
            "on_hold_since": _iso(updated) if status == "on_hold" else None,
            "hold_seconds": 0.0, "reopen_count": 1 if rng.random() < 0.03 else 0,
            "resolution_code": "fixed" if resolved else None,
            "resolution_note": "Restarted the pods; error rate back to normal." if resolved
            else None,
            "links": [], "version": 1 + (status != "new") + (resolved is not None),
            "field_versions": {},
        })
    return out


def feed_changes(snaps: list[dict[str, Any]], first_seq: int = 1) -> list[dict[str, Any]]:
    """The change-feed entries (``ChangeOut`` dicts) carrying ``snaps``."""
    return [{"seq": first_seq + i, "entity": "incident", "id": s["id"], "data": s}
            for i, s in enumerate(snaps)]


def feed_cursor(db_url: str, seq: int) -> str:
    """A change-feed cursor token at ``seq`` of the server database ``db_url`` (white-box:
    the server's own key, server/cursors.py), for a client or a request that starts there."""
    from incidenttui.server.cursors import load_codec
    from incidenttui.server.db import Database

    db = Database(db_url)
    try:
        return load_codec(db).encode(seq)
    finally:
        db.dispose()


def fill_store(path: Path, snaps: list[dict[str, Any]], page: int = 500) -> None:
    """Write ``snaps`` into a new store at ``path`` through ``Store.apply_changes``, one
    change-feed page (the sync engine's page size) per transaction, as a first pull does
    (the search index filled with the last page)."""
    from incidenttui.store import Store

    store = Store(path)
    try:
        changes = feed_changes(snaps)
        for start in range(0, len(changes), page):
            chunk = changes[start:start + page]
            store.apply_changes(chunk, chunk[-1]["seq"], first_pull=True,
                                caught_up=start + page >= len(changes))
        store.set_meta("user", "amira.haddad")
    finally:
        store.close()


#: Stores above this size are built by replicating the store of this size (see below).
BUILD_LIMIT = 10_000


def cached_store(cache_dir: Path, n: int) -> Path:
    """A store holding ``n`` synthetic incidents, built once per cache directory.

    Up to :data:`BUILD_LIMIT` incidents the store is filled through ``Store.apply_changes``
    (about 6 s per 10,000 here). Bigger stores take that store's rows ``n / BUILD_LIMIT``
    times with new ids and numbers (and ``base`` snapshots to match), and rebuild the search
    index with the store's own layout-1 statements: the same rows, only faster to make than
    through the sync path (which the sync benchmark measures). Later runs reuse the files.
    The app writes to a store it opens: give it a copy (:func:`copy_store`).
    """
    path = cache_dir / f"store-v{GENERATOR_VERSION}-{store_code_digest()}-{n}.db"
    if path.exists():
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building")
    for leftover in cache_dir.glob(tmp.name + "*"):
        leftover.unlink()
    for stale in cache_dir.glob(f"store-*-{n}.db"):
        stale.unlink()  # made by other store code
    if n <= BUILD_LIMIT:
        fill_store(tmp, snapshots(n))
    else:
        if n % BUILD_LIMIT:
            raise ValueError(f"stores above {BUILD_LIMIT} must be a multiple of it")
        shutil.copyfile(cached_store(cache_dir, BUILD_LIMIT), tmp)
        _replicate(tmp, n // BUILD_LIMIT)
    conn = sqlite3.connect(tmp)
    # One self-contained file (no -wal beside it), so it can be copied and opened read-only.
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    tmp.rename(path)
    return path


def store_code_digest() -> str:
    """A digest of the code that decides what a store file holds: a cached store is rebuilt
    when that code changes."""
    import hashlib

    import incidenttui.store as package

    digest = hashlib.sha256()
    for source in sorted(Path(package.__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:10]


def _replicate(path: Path, times: int) -> None:
    from incidenttui.store.store import SEARCH_REBUILD

    conn = sqlite3.connect(path, isolation_level=None)
    columns = [r[1] for r in conn.execute("PRAGMA table_info(incidents)")]
    base_count = conn.execute("SELECT count(*) FROM incidents").fetchone()[0]
    conn.execute("BEGIN")
    for k in range(1, times):
        # A new id per copy: the first 8 hex digits of the UUID become the copy number.
        new_id = f"printf('%08x', {k}) || substr(id, 9)"
        new_number = f"number + {k * base_count}"
        exprs = {"id": new_id, "number": new_number,
                 "base": f"json_set(base, '$.id', {new_id}, '$.number', {new_number}, "
                         f"'$.ref', 'INC-' || ({new_number}))"}
        select = ", ".join(exprs.get(c, c) for c in columns)
        conn.execute(f"INSERT INTO incidents ({', '.join(columns)}) SELECT {select} "
                     f"FROM incidents WHERE rowid <= {base_count}")
    for statement in SEARCH_REBUILD:  # the search index, rebuilt as a store upgrade does
        conn.execute(statement)
    conn.execute("COMMIT")
    conn.close()


def copy_store(source: Path, directory: Path) -> Path:
    """A private copy of a cached store (the app opens its store for writing)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / source.name
    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return target
