"""The store file: durable (WAL, synchronous=FULL), reopened with its data and outbox, shared
by two instances (threads or processes) without "database is locked", and refused clearly
when a newer incidenttui wrote it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from hostile import change_page, incident_snapshot

from incidenttui.store import (
    AddNote,
    CreateIncident,
    IncidentFilter,
    QueueReader,
    Store,
    StoreError,
    Transition,
    store_path_for,
)


def test_reopening_keeps_incidents_timeline_outbox_conflicts_and_cursor(store_path: Path):
    store = Store(store_path)
    store.set_meta("user", "rita")
    snap = incident_snapshot(number=1100, ref="INC-1100", title="Payment gateway timeouts")
    page = change_page([("incident", snap)], start=41)
    store.apply_changes(page["changes"], page["cursor"])
    created = store.execute(CreateIncident.new(title="Offline one", service="checkout"))
    store.execute(Transition(snap["id"], action="acknowledge"))
    store.execute(AddNote(snap["id"], text="gateway vendor paged"))
    store.execute(AddNote(snap["id"], text="will be refused"))
    store.reject(store.outbox()[-1].key, "Role 'viewer' may not respond.")
    before = ([(e.key, e.kind, e.payload, e.base_version) for e in store.outbox()],
              [i.model_dump() for i in store.list()],
              [e.model_dump() for e in store.timeline(snap["id"])],
              [c.model_dump() for c in store.conflicts()])
    store.close()

    again = Store(store_path)
    after = ([(e.key, e.kind, e.payload, e.base_version) for e in again.outbox()],
             [i.model_dump() for i in again.list()],
             [e.model_dump() for e in again.timeline(snap["id"])],
             [c.model_dump() for c in again.conflicts()])
    assert after == before
    assert again.cursor == "42" and again.user_id == "rita"
    assert again.get("INC-1100").status == "acknowledged"
    assert again.get(created.id).number is None
    assert again.list(IncidentFilter(text="vendor"))[0].id == snap["id"]
    assert again.integrity_check() == "ok"
    again.close()


def test_wal_and_full_synchronous_on_every_connection(store: Store, store_path: Path):
    store.execute(CreateIncident.new(title="t", service="s"))
    with sqlite3.connect(store_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # synchronous and busy_timeout are per connection: look at the store's own.
    for engine in (store._write_engine, store._read_engine):
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_one_store_file_per_server_under_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("INCIDENTTUI_DATA_DIR", str(tmp_path / "data"))
    a = store_path_for("https://incidents.example.com")
    b = store_path_for("https://incidents.example.com:8443")
    assert a != b and a.parent == b.parent == tmp_path / "data" / "stores"
    assert store_path_for("https://incidents.example.com") == a
    s = Store.for_server("https://incidents.example.com")
    assert s.path == a and a.exists()
    s.close()


def test_two_store_objects_write_concurrently(store_path: Path):
    first, second = Store(store_path), Store(store_path)
    base = first.execute(CreateIncident.new(title="Shared", service="checkout"))
    errors: list[BaseException] = []
    per_thread = 25

    def writer(store: Store, tag: str) -> None:
        try:
            for n in range(per_thread):
                store.execute(AddNote(base.id, text=f"{tag} {n}"))
                store.list(IncidentFilter(text=tag))
        except BaseException as exc:  # noqa: BLE001 - report any failure, locked or not
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s, tag))
               for s, tag in ((first, "alpha"), (second, "bravo"), (first, "charlie"),
                              (second, "delta"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    notes = [e.text for e in first.timeline(base.id) if e.kind == "note"]
    assert len(notes) == 4 * per_thread
    assert first.pending_count() == second.pending_count() == 1 + 4 * per_thread
    assert second.get(base.id).pending == 1 + 4 * per_thread
    assert first.integrity_check() == "ok"
    first.close()
    second.close()


CHILD = textwrap.dedent("""
    import sys
    from incidenttui.store import AddNote, Store
    store = Store(sys.argv[1])
    print("ready", flush=True)
    sys.stdin.readline()
    for n in range(int(sys.argv[3])):
        store.execute(AddNote(sys.argv[2], text=f"child {n}"))
    print("done", flush=True)
""")


def test_a_second_process_writes_the_same_file_at_the_same_time(store_path: Path):
    store = Store(store_path)
    base = store.execute(CreateIncident.new(title="Shared", service="checkout"))
    count = 30
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(store_path), base.id,
                              str(count)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "ready"
        child.stdin.write("go\n")
        child.stdin.flush()
        for n in range(count):
            store.execute(AddNote(base.id, text=f"parent {n}"))
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    assert "locked" not in err and out.strip() == "done"
    texts = [e.text for e in store.timeline(base.id) if e.kind == "note"]
    assert sorted(texts) == sorted([f"parent {n}" for n in range(count)]
                                   + [f"child {n}" for n in range(count)])
    # Each writer's changes stay in the order it made them.
    queued = [e.payload["text"] for e in store.outbox()[1:]]
    for who in ("parent", "child"):
        assert [t for t in queued if t.startswith(who)] == [f"{who} {n}" for n in range(count)]
    assert store.pending_count() == 1 + 2 * count
    assert store.integrity_check() == "ok"
    store.close()


def test_a_store_from_a_newer_layout_is_refused_and_left_alone(store_path: Path):
    store = Store(store_path)
    store.execute(CreateIncident.new(title="keep me", service="checkout"))
    store.close()
    with sqlite3.connect(store_path) as conn:
        conn.execute("PRAGMA user_version=99")
    before = store_path.read_bytes()
    with pytest.raises(StoreError, match=r"newer incidenttui.*upgrade"):
        Store(store_path)
    with sqlite3.connect(store_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 99
        assert conn.execute("SELECT title FROM incidents").fetchone()[0] == "keep me"
    assert store_path.read_bytes() == before


def test_the_queue_reader_sees_what_the_store_wrote(store: Store, store_path: Path):
    """The app's first paint reads with the standard library alone; same rows, same order,
    same search."""
    for n, (title, impact) in enumerate((("Disk full", 1), ("Cert expiring", 2),
                                         ("Disk slow", 3))):
        store.execute(CreateIncident.new(title=title, service="checkout", impact=impact,
                                         urgency=1, description=f"#{n}"))
    reader = QueueReader(store_path)
    try:
        for flt in (IncidentFilter(), IncidentFilter(text="disk"), IncidentFilter(
                sort="newest"), IncidentFilter(priorities=(1, 2), text="disk")):
            assert reader.query_ids(flt) == store.query_ids(flt)
        rows = reader.rows(store.query_ids(IncidentFilter()))
        assert {r.title for r in rows.values()} == {"Disk full", "Cert expiring", "Disk slow"}
        assert all(r.ref == "INC-pending" and r.pending == 1 for r in rows.values())
    finally:
        reader.close()
    assert QueueReader(store_path.parent / "missing.db").query_ids(IncidentFilter()) == []
