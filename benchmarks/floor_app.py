"""The floor for the server benchmarks: the least a FastAPI endpoint can do for the same work.

    FLOOR_DB=sqlite:///path | postgresql://... uvicorn benchmarks.floor_app:app

Same framework, same server (uvicorn, one worker), same database file or PostgreSQL database
as our server, measured by the same load generator in the same run:

* ``GET /floor/changes?cursor=&limit=`` reads the same rows of our ``changes`` table with the
  raw driver and returns them as the same page shape (no auth, no ORM, no response model);
* ``POST /floor/notes/{number}`` validates a small pydantic body and inserts one row with its
  ``Idempotency-Key`` in one committed transaction (SQLite WAL with synchronous=FULL, as our
  server; PostgreSQL as configured for the run).

The ratio ours/floor is what our auth, ORM, domain rules, idempotency records, timeline and
change feed cost on top of the framework and the database.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Header
from pydantic import BaseModel, Field

URL = os.environ.get("FLOOR_DB", "")
IS_PG = URL.startswith("postgresql")
_local = threading.local()


def _conn() -> Any:
    conn = getattr(_local, "conn", None)
    if conn is None:
        if IS_PG:
            import psycopg

            conn = psycopg.connect(URL, autocommit=True)
        else:
            import sqlite3

            conn = sqlite3.connect(URL.removeprefix("sqlite:///"), isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=30000")
        _local.conn = conn
    return conn


def _setup() -> None:
    conn = _conn()
    conn.execute("CREATE TABLE IF NOT EXISTS floor_notes (key TEXT PRIMARY KEY, "
                 "number INTEGER NOT NULL, text TEXT NOT NULL)")


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    _setup()
    yield


app = FastAPI(lifespan=_lifespan)


class Note(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=20_000)]


@app.get("/floor/changes")
def changes(cursor: int = 0, limit: int = 500) -> dict[str, Any]:
    mark = "%s" if IS_PG else "?"
    rows = _conn().execute(
        f"SELECT seq, entity, entity_id, data FROM changes WHERE seq > {mark} ORDER BY seq "
        f"LIMIT {mark}", (cursor, limit + 1)).fetchall()
    items = [{"seq": r[0], "entity": r[1], "id": r[2],
              "data": r[3] if isinstance(r[3], dict) else json.loads(r[3])}
             for r in rows[:limit]]
    return {"changes": items, "cursor": items[-1]["seq"] if items else cursor,
            "more": len(rows) > limit}


@app.post("/floor/notes/{number}", status_code=201)
def note(number: int, body: Note,
         idempotency_key: Annotated[str, Header(alias="Idempotency-Key")]) -> dict[str, Any]:
    conn = _conn()
    mark = "%s" if IS_PG else "?"
    if IS_PG:
        conn.execute(f"INSERT INTO floor_notes (key, number, text) VALUES ({mark}, {mark}, "
                     f"{mark})", (idempotency_key, number, body.text))
    else:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO floor_notes (key, number, text) VALUES (?, ?, ?)",
                     (idempotency_key, number, body.text))
        conn.execute("COMMIT")
    return {"number": number, "text": body.text}
