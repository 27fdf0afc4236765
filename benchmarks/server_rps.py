"""Server throughput: requests per second for the change feed and for actions, on SQLite and
PostgreSQL, under ``wrk``.

The load generator is ``wrk`` (Debian's package, C, epoll): one thread and 8 connections, so
it costs a fraction of a core and leaves the rest of the 2-core machine to the server (a
Python asyncio generator tops out near 1,000 requests/s here and would measure itself). A Lua
script gives every POST its own ``Idempotency-Key`` and picks the incident; the acknowledge
script gives every request a different incident (each can be acknowledged once).

Our server runs as operators run it: ``incidenttui server --db URL`` (uvicorn, one worker).
The baseline is :mod:`benchmarks.floor_app` on the same uvicorn, the same database and the
same generator, run right after ours: the least FastAPI can do for the same request.

* change feed: ``GET /api/v1/changes?cursor=C&limit=100`` (a page of 100 incident
  snapshots, as a catching-up client reads it), against the floor's raw read of the same rows;
* note: ``POST /api/v1/incidents/{n}/notes`` (idempotency record, timeline event, feed
  entry), against the floor's one-row insert;
* acknowledge: ``POST /api/v1/incidents/{n}/acknowledge`` on a new incident (lifecycle rule,
  incident update, timeline event, feed entries), against the same floor insert.

PostgreSQL is a private cluster started the way the tests start it (tests/support/pgcluster.py:
``initdb`` into a temporary directory, run as the ``postgres`` OS user, fsync off — so its
writes are not durable, unlike SQLite's synchronous=FULL; say so when comparing the two).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import (
    ROOT,
    Context,
    Row,
    bench_env,
    free_port,
    rate,
    ratio,
    stop_process,
    wait_for_port,
)
from benchmarks.data import snapshots
from benchmarks.servers import ServerProcess, all_new, postgres, seed_server

N_INCIDENTS = 20_000
CONNECTIONS = 8
#: The bench user's role: one who works every incident, the restricted (security-category)
#: ones among the synthetic data too, so every write lands (a responder would get 404s for
#: them) and every feed row is theirs to read.
ROLE = "security"

LUA_POST = r"""
-- Every request a fresh Idempotency-Key; the incident number walks through [first, last].
local counter, id = 0, 0
local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  token, path, first, count, nthreads, kind = args[1], args[2], tonumber(args[3]),
    tonumber(args[4]), tonumber(args[5]), args[6]
end
function request()
  counter = counter + 1
  -- threads take turns, so no two requests ever act on the same incident
  local n = first + ((counter - 1) * nthreads + (id - 1)) % count
  local body = nil
  if kind == "note" then
    body = '{"text":"wrk note ' .. id .. '-' .. counter .. ': pods restarted, watching"}'
  end
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "wrk-" .. kind .. "-" .. id .. "-" .. counter .. "-" .. first,
  }
  return wrk.format("POST", string.gsub(path, "{n}", tostring(n)), headers, body)
end
"""


def wrk(url: str, seconds: float, headers: dict[str, str] | None = None,
        script: Path | None = None, script_args: list[str] | None = None) -> dict[str, Any]:
    cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    if script is not None:
        cmd += ["-s", str(script)]
    cmd.append(url)
    if script_args:
        cmd += ["--", *script_args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    if rps is None:
        raise RuntimeError(f"wrk failed: {out}")
    return {"rps": float(rps.group(1)), "non_2xx": int(bad.group(1)) if bad else 0,
            "requests": int(total.group(1)) if total else 0, "p50": lat.get("50", "?"),
            "p99": lat.get("99", "?")}


class FloorProcess:
    def __init__(self, db_url: str, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "benchmarks.floor_app:app", "--port",
             str(self.port), "--log-level", "warning", "--no-access-log"],
            stdout=self._log, stderr=subprocess.STDOUT, env=bench_env(FLOOR_DB=db_url),
            cwd=ROOT, start_new_session=True)
        wait_for_port(self.port, 60, self.proc)

    def stop(self) -> None:
        stop_process(self.proc)
        self._log.close()


def _measure(ctx: Context, label: str, db_url: str, floor_url: str, head: int,
             seconds: float) -> list[Row]:
    """Seeded database ``db_url`` (our URL) and ``floor_url`` (the same database for the
    raw driver): ours then the floor, for each request kind."""
    script = ctx.work_dir / "post.lua"
    script.write_text(LUA_POST)
    results: dict[str, dict[str, Any]] = {}
    log = ctx.work_dir / f"rps-{label}.log"
    first, count = 1001, N_INCIDENTS
    with ServerProcess(db_url, log) as server:
        token = (ctx.work_dir / f"token-{label}").read_text()
        auth = {"Authorization": f"Bearer {token}"}
        from benchmarks.data import feed_cursor

        start = feed_cursor(db_url, head - 100)
        feed = f"{server.url}/api/v1/changes?cursor={start}&limit=100"
        wrk(feed, 1, auth)  # warm-up
        results["feed"] = wrk(feed, seconds, auth)
        # Notes go to the second half of the incidents, acknowledges to the first.
        results["note"] = wrk(server.url, seconds, script=script, script_args=[
            token, "/api/v1/incidents/{n}/notes", str(first + count // 2), str(count // 2),
            "1", "note"])
        results["ack"] = wrk(server.url, seconds, script=script, script_args=[
            token, "/api/v1/incidents/{n}/acknowledge", str(first), str(count // 2), "1",
            "ack"])
    floor = FloorProcess(floor_url, log)
    try:
        url = f"{floor.url}/floor/changes?cursor={head - 100}&limit=100"
        wrk(url, 1)
        results["floor_feed"] = wrk(url, seconds)
        results["floor_write"] = wrk(floor.url, seconds, script=script, script_args=[
            "-", "/floor/notes/{n}", str(first), str(count), "1", "note"])
    finally:
        floor.stop()
    for key, value in results.items():
        ctx.log(f"server {label} {key}: {value['rps']:.0f} req/s, p50 {value['p50']}, "
                f"p99 {value['p99']}, non-2xx {value['non_2xx']} of {value['requests']}")
    rows = []
    for key, name, floor_key, floor_name in (
            ("feed", "change feed, page of 100", "floor_feed", "floor: raw read, same rows"),
            ("note", "POST note", "floor_write", "floor: 1-row insert"),
            ("ack", "POST acknowledge", "floor_write", "floor: 1-row insert")):
        ours, base = results[key], results[floor_key]
        errors = ours["non_2xx"]
        rows.append(Row(f"Server {label}: {name}", rate(ours["rps"]),
                        f"{rate(base['rps'])} {floor_name}", ratio(ours["rps"], base["rps"]),
                        "-", "info" if not errors else "miss",
                        note=f"p50 {ours['p50']}, p99 {ours['p99']} at {CONNECTIONS} "
                             f"connections" + (f"; {errors} non-2xx answers!" if errors else ""),
                        raw={"ours": ours, "floor": base}))
    return rows


def run(ctx: Context) -> list[Row]:
    if shutil.which("wrk") is None:
        from benchmarks.common import not_available

        return [not_available("Server: requests/s", "-",
                              "wrk is not installed (apt-get install -y wrk)")]
    seconds = 2 if ctx.quick else 10
    snaps = all_new(snapshots(N_INCIDENTS, seed=23))
    rows = []
    db = ctx.work_dir / "rps.db"
    token = seed_server(f"sqlite:///{db}", snaps, role=ROLE)
    (ctx.work_dir / "token-SQLite").write_text(token)
    head = _head(f"sqlite:///{db}")
    rows += _measure(ctx, "SQLite", f"sqlite:///{db}", f"sqlite:///{db}", head, seconds)
    if ctx.quick:
        from benchmarks.common import not_available

        rows.append(not_available("Server PostgreSQL: change feed and actions", "-",
                                  "full run only"))
        return rows
    with postgres() as cluster:
        if cluster is None:
            from benchmarks.common import not_available

            rows.append(not_available("Server PostgreSQL: change feed and actions", "-",
                                      "PostgreSQL is not available on this machine"))
            return rows
        url = cluster.create_database("bench")
        token = seed_server(url, snaps, role=ROLE)
        (ctx.work_dir / "token-PostgreSQL").write_text(token)
        libpq = "postgresql://" + url.split("://", 1)[1]
        rows += _measure(ctx, "PostgreSQL", url, libpq, _head(url), seconds)
    return rows


def _head(url: str) -> int:
    from sqlalchemy import text

    from incidenttui.server.db import Database

    db = Database(url)
    with db.read() as session:
        head = int(session.execute(text("SELECT max(seq) FROM changes")).scalar() or 0)
    db.dispose()
    return head
