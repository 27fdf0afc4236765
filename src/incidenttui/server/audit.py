"""The audit log: every change on the server, append-only and hash-chained.

Each entry's ``hash`` is ``sha256(prev_hash + canonical JSON of the entry)``, where the entry
is every column but the two hashes (its ``seq`` included, so entries cannot trade places), and
``prev_hash`` is the hash of the entry before (:data:`GENESIS` for the first). A one-row
``audit_head`` table holds the last ``seq`` and hash, updated in the same transaction as the
append, so that losing the newest entries shows too.

:func:`append` runs inside the caller's write transaction, so an entry commits if and only if
the change it describes does. Appends are serialised: on SQLite ``BEGIN IMMEDIATE``
(``Database.write()``) already admits one writer at a time; on PostgreSQL the append takes the
change feed's transaction-scoped advisory lock (:data:`~incidenttui.server.changes.FEED_LOCK_ID`,
re-entrant within a transaction, so a write that also records changes takes no second lock and
cannot deadlock against one that takes them the other way round).

What the chain proves, and what not. :func:`verify` finds any entry changed, removed, inserted
or moved by someone who did not also recompute every hash after it and the head: an edit by
hand in SQL, a restored partial backup, a deleted row, a truncated tail. The chain has no
secret, so an attacker with write access to the database *can* rewrite the log from some
entry on, with fresh hashes and a matching head, and :func:`verify` alone would not notice.
What they cannot do is make that rewrite agree with a head recorded outside the database
before it: keep ``VerifyResult.head`` (or an export) elsewhere — a ticket, a log shipper,
another machine — and pass it as ``anchor`` to :func:`verify`; any rewrite at or before the
anchored entry then fails.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Integer,
    and_,
    bindparam,
    case,
    insert,
    null,
    select,
    text,
    update,
)
from sqlmodel import Field, Session, SQLModel

from incidenttui.server.changes import FEED_LOCK_ID
from incidenttui.server.deferred import Deferred
from incidenttui.sqltypes import UTCDateTime, utcnow

#: The ``prev_hash`` of the first entry.
GENESIS = "0" * 64
#: Longest ``client`` kept (a user agent can be any length).
CLIENT_MAX = 200
_HEAD_ID = 1
#: Entries read per batch by :func:`verify` and :func:`export`.
BATCH = 1000


class AuditEntry(SQLModel, table=True):
    """One audited change: who, through which token and client, did what to which entity."""

    __tablename__ = "audit_log"

    seq: int = Field(sa_column=Column(BigInteger().with_variant(Integer, "sqlite"),
                                      primary_key=True, autoincrement=False))
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    actor: str | None = Field(default=None, max_length=64)
    token_id: str | None = Field(default=None, max_length=64)
    token_name: str | None = Field(default=None, max_length=200)
    client: str | None = Field(default=None, max_length=CLIENT_MAX)
    action: str = Field(max_length=64)
    entity: str = Field(max_length=32)
    entity_id: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The last entry's ``seq`` and ``hash`` (one row), so a cut-off tail shows."""

    __tablename__ = "audit_head"

    id: int = Field(default=_HEAD_ID, primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    hash: str = Field(max_length=64)


@dataclass(frozen=True)
class Origin:
    """Who makes a change: the user, the token they used and the client they came from."""

    actor: str | None
    token_id: str | None = None
    token_name: str | None = None
    client: str | None = None


@dataclass(frozen=True)
class Head:
    """A point in the chain: the entry ``seq`` and its hash (``0``/:data:`GENESIS`: empty)."""

    seq: int
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify` found: ``ok``, or the first ``seq`` that breaks and why."""

    ok: bool
    entries: int
    head: Head
    broken_at: int | None = None
    reason: str = ""


def canonical(value: Any) -> str:
    """The one JSON text of ``value``: sorted keys, no spaces, ASCII only."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)


def _content(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: entry[k] for k in ("seq", "at", "actor", "token_id", "token_name", "client",
                                  "action", "entity", "entity_id", "detail")}


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    """``sha256(prev_hash + canonical JSON of the entry's content)``, hex."""
    data = prev_hash + canonical(_content(entry))
    return hashlib.sha256(data.encode("ascii")).hexdigest()


_FIELDS = ("seq", "at", "actor", "token_id", "token_name", "client", "action", "entity",
           "entity_id", "detail", "prev_hash", "hash")


def as_record(entry: Any) -> dict[str, Any]:
    """An entry (an :class:`AuditEntry` or a row of its table) as plain JSON values: the
    hashed content and the two hashes."""
    record = {name: getattr(entry, name) for name in _FIELDS}
    record["at"] = record["at"].astimezone(UTC).isoformat(timespec="microseconds")
    return record


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": FEED_LOCK_ID})


class AuditTampered(RuntimeError):
    """The log cannot be appended to as it is: its head row is gone but entries remain."""


def _head_row(session: Session) -> AuditHead:
    head = session.get(AuditHead, _HEAD_ID, populate_existing=True)
    if head is None:
        # The migration makes the row. Rebuilding it from the entries would hide a cut-off
        # tail, so a log with entries and no head refuses appends (fails closed) instead.
        table = AuditEntry.__table__  # type: ignore[attr-defined]
        if session.execute(select(table.c.seq).limit(1)).first() is not None:
            raise AuditTampered("the audit log's head row is missing while the log has "
                                "entries; run 'incidenttui admin audit verify'")
        head = AuditHead(id=_HEAD_ID, seq=0, hash=GENESIS)
        session.add(head)
    return head


def append(session: Session, origin: Origin, action: str, entity: str,
           entity_id: str | None = None, detail: dict[str, Any] | None = None, *,
           at: datetime | None = None) -> AuditEntry:
    """Append one entry inside the caller's write transaction, and return it.

    ``action`` names what was done (``incident.create``, ``token.revoke``, ...), ``entity``
    and ``entity_id`` what it was done to, ``detail`` anything else (JSON values; it is
    stored as its canonical JSON reads back, so what is hashed is what is kept).
    Call it from ``Database.write()``: it serialises with every other writer (see the module
    docstring) until the transaction ends, so call it late in the transaction.
    Raises :class:`AuditTampered` when the head row is gone from a log with entries.
    """
    _lock(session)
    head = _head_row(session)
    client = origin.client[:CLIENT_MAX] if origin.client else origin.client
    at = at or utcnow()
    if at.tzinfo is None:
        raise ValueError("naive datetime given to the audit log")
    entry = AuditEntry(seq=head.seq + 1, at=at.astimezone(UTC), actor=origin.actor,
                       token_id=origin.token_id, token_name=origin.token_name, client=client,
                       action=action, entity=entity, entity_id=entity_id,
                       detail=json.loads(canonical(detail or {})), prev_hash=head.hash,
                       hash="")
    entry.hash = entry_hash(head.hash, as_record(entry))
    head.seq, head.hash = entry.seq, entry.hash
    session.add(entry)
    session.add(head)
    session.flush()
    return entry


#: An entry waiting to be appended: origin, action, entity, entity id, detail, time.
Pending = tuple[Origin, str, str, str | None, dict[str, Any] | None, datetime]


def append_many(session: Session, pending: Sequence[Pending],
                head: tuple[int, str] | None = None) -> tuple[int, str] | None:
    """Append ``pending`` entries in order, as :func:`append` would one by one, with one
    read and one update of the head and one insert (a batch of writes, server/writes.py);
    returns the new head ``(seq, hash)`` (None when nothing was appended).

    ``head``: the head's ``(seq, hash)`` as the caller knows it: read under the feed's lock
    (:data:`HEAD_QUERY`, so that it can be read in the same round trip as the lock is
    taken), or the head the caller itself wrote last. The head row is then updated only
    from exactly that head (a head that moved on sets a NULL ``seq``, which the column
    refuses), and the entries' ``seq`` are the table's key: if anyone appended since, the
    statements fail and the transaction cannot commit. The inserts ask for no answer and
    can be queued (server/pipeline.py).
    """
    if not pending:
        return None
    row_head: AuditHead | None = None
    if head is None:
        _lock(session)
        # A Core read (the ORM's load of the head row, with populate_existing, cost a fifth
        # of an alert batch); the ORM's :func:`_head_row` only when the row is missing.
        found = session.connection().execute(HEAD_QUERY).all()
        if found:
            head = (int(found[0][0]), found[0][1])
        else:
            row_head = _head_row(session)
            head = (row_head.seq, row_head.hash)
    given = head
    seq, prev = head
    rows = []
    for origin, action, entity, entity_id, detail, at in pending:
        if at.tzinfo is None:
            raise ValueError("naive datetime given to the audit log")
        row = {"seq": seq + 1, "at": at.astimezone(UTC), "actor": origin.actor,
               "token_id": origin.token_id, "token_name": origin.token_name,
               "client": origin.client[:CLIENT_MAX] if origin.client else origin.client,
               "action": action, "entity": entity, "entity_id": entity_id,
               "detail": json.loads(canonical(detail or {})), "prev_hash": prev}
        row["hash"] = entry_hash(prev, {**row, "at": row["at"].isoformat(
            timespec="microseconds")})
        rows.append(row)
        seq, prev = row["seq"], row["hash"]
    conn = session.connection()
    conn.execute(_INSERT_ENTRIES, rows)
    if row_head is None:
        conn.execute(_SET_HEAD, {"seq": seq, "hash": prev, "old_seq": given[0],
                                 "old_hash": given[1]})
        return seq, prev
    row_head.seq, row_head.hash = seq, prev
    session.add(row_head)
    session.flush()
    return seq, prev


_HEAD_TABLE = AuditHead.__table__  # type: ignore[attr-defined]
#: The head's ``(seq, hash)``: read under the feed's lock; no row when the log has no head.
HEAD_QUERY = select(_HEAD_TABLE.c.seq, _HEAD_TABLE.c.hash).where(_HEAD_TABLE.c.id == _HEAD_ID)
#: The head moved on from ``(old_seq, old_hash)``; from any other head, ``seq`` is set NULL
#: and the column refuses it (see :func:`append_many`).
_SET_HEAD = update(_HEAD_TABLE).where(_HEAD_TABLE.c.id == _HEAD_ID).values(
    seq=case((and_(_HEAD_TABLE.c.seq == bindparam("old_seq"),
                   _HEAD_TABLE.c.hash == bindparam("old_hash")), bindparam("seq")),
             else_=null()),
    hash=bindparam("hash"))
_INSERT_ENTRIES = insert(AuditEntry.__table__)  # type: ignore[attr-defined]


#: The entries of a transaction, appended at once or at its end (server/deferred.py).
_ENTRIES: Deferred[Pending] = Deferred("incidenttui.deferred_audit", append_many)


def record(session: Session, pending: Sequence[Pending]) -> None:
    """Append ``pending`` now, or at the end of the transaction after :func:`defer`."""
    _ENTRIES.add(session, pending)


def defer(session: Session) -> list[Pending]:
    """Collect this transaction's entries for one append at its end (:func:`write_deferred`);
    returns the list they collect in."""
    return _ENTRIES.start(session)


def write_deferred(session: Session) -> None:
    """Append the entries collected since :func:`defer` (call last)."""
    _ENTRIES.finish(session)


def take_deferred(session: Session) -> list[Pending]:
    """The entries collected since :func:`defer`, for :func:`append_many` with a head the
    caller read (collecting stops)."""
    return _ENTRIES.take(session)


def _records(session: Session) -> Iterator[dict[str, Any]]:
    """Every entry as :func:`as_record` makes it, oldest first, read in batches (plain rows,
    so the caller's session holds none of them)."""
    table = AuditEntry.__table__  # type: ignore[attr-defined]
    after = 0
    while True:
        rows = session.execute(select(table).where(table.c.seq > after)
                               .order_by(table.c.seq).limit(BATCH)).all()
        for row in rows:
            yield as_record(row)
        if len(rows) < BATCH:
            return
        after = rows[-1].seq


def check_chain(records: Iterable[dict[str, Any]], head: Head | None = None,
                anchor: Head | None = None) -> VerifyResult:
    """Check a chain of records (as :func:`as_record` makes them, in ``seq`` order) against
    the recorded ``head`` (None: none recorded) and an ``anchor`` kept elsewhere."""
    prev, expected_seq, count = GENESIS, 1, 0
    anchored = anchor is None or anchor.seq == 0

    def broken(seq: int, reason: str) -> VerifyResult:
        return VerifyResult(False, count, Head(expected_seq - 1, prev), seq, reason)

    for record in records:
        seq = record["seq"]
        if seq != expected_seq:
            if seq > expected_seq:
                return broken(expected_seq, f"entry {expected_seq} is missing (the next "
                                            f"entry is {seq})")
            return broken(seq, f"entry {seq} is out of order (expected {expected_seq})")
        if record["prev_hash"] != prev:
            return broken(seq, f"entry {seq} does not follow entry {seq - 1} (its prev_hash "
                               "differs): an entry before it was removed, added or changed")
        if entry_hash(prev, record) != record["hash"]:
            return broken(seq, f"entry {seq} was changed (its content does not match its hash)")
        if anchor is not None and seq == anchor.seq:
            if record["hash"] != anchor.hash:
                return broken(seq, f"entry {seq} differs from the anchor: the log was "
                                   "rewritten up to it")
            anchored = True
        prev, expected_seq, count = record["hash"], seq + 1, count + 1
    last = Head(expected_seq - 1, prev)
    if head is not None and (head.seq, head.hash) != (last.seq, last.hash):
        if head.seq > last.seq:
            return VerifyResult(False, count, last, last.seq + 1,
                                f"entries {last.seq + 1} to {head.seq} are missing (the head "
                                f"records {head.seq} entries)")
        if head.seq < last.seq:
            return VerifyResult(False, count, last, head.seq + 1,
                                f"entries after {head.seq} were added outside the log (the "
                                "head records fewer)")
        return VerifyResult(False, count, last, last.seq,
                            f"entry {last.seq} differs from the recorded head")
    if not anchored:
        assert anchor is not None
        return VerifyResult(False, count, last, last.seq + 1,
                            f"the anchor's entry {anchor.seq} is missing")
    return VerifyResult(True, count, last)


def _snapshot(session: Session) -> None:
    """Read the head and every batch from one snapshot, so appends committed meanwhile are
    neither half seen nor taken for entries added behind the head's back. SQLite's read
    transaction (``BEGIN``, WAL) already is one; PostgreSQL's default (READ COMMITTED) is not,
    so a fresh session's transaction is made REPEATABLE READ."""
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def head(session: Session) -> Head:
    """The recorded head (``Head(0, GENESIS)`` for an empty log)."""
    row = session.get(AuditHead, _HEAD_ID)
    return Head(0, GENESIS) if row is None else Head(row.seq, row.hash)


def verify(session: Session, anchor: Head | None = None) -> VerifyResult:
    """Check the whole log: each entry's hash, the links between them, the recorded head,
    and (if given) an ``anchor`` kept outside the database. Reads in batches; run it in one
    read transaction (``Database.read()``, fresh: on PostgreSQL its isolation is raised to
    REPEATABLE READ for a consistent view while others append)."""
    _snapshot(session)
    recorded = head(session)
    return check_chain(_records(session), recorded, anchor)


def export(session: Session, file: IO[str]) -> int:
    """Write the log to ``file`` as JSON lines, oldest first; return how many entries.

    Each line is :func:`as_record`'s dict; :func:`verify_export` checks such a file offline.
    Give it a fresh ``Database.read()`` session, as :func:`verify`.
    """
    _snapshot(session)
    count = 0
    for record in _records(session):
        file.write(canonical(record) + "\n")
        count += 1
    return count


def verify_export(lines: Iterable[str], anchor: Head | None = None) -> VerifyResult:
    """Check an export (no head to compare with, so a cut-off tail shows only against an
    ``anchor``)."""
    return check_chain((json.loads(line) for line in lines if line.strip()), None, anchor)
