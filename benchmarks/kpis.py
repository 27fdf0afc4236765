"""KPIs: ``Store.kpis`` over 100,000 incidents, against a plain Python loop over the same rows.

The baseline is what the KPI screen would cost written the obvious way: fetch the columns the
KPIs need with sqlite3 and compute MTTD, MTTA, MTTR, both SLA compliances, first-contact
resolution, reopen rate and the three volume breakdowns in Python. The store pushes the work
into one aggregate query (plus three GROUP BYs) instead. The same SQL called on a bare sqlite3
connection (``compute_kpis`` without the Store's engine) is reported in the note: it shows
what the Store wrapper adds.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import Context, Row, median, ratio, secs
from benchmarks.data import EPOCH, copy_store

N = 100_000


def python_kpis(path: Path, since: datetime, until: datetime) -> dict[str, Any]:
    """The same figures as ``compute_kpis``, computed in a Python loop."""
    from incidenttui.domain import DEFAULT_SLA

    response = {int(p): t.response.total_seconds() for p, t in DEFAULT_SLA.items()}
    resolution = {int(p): t.resolution.total_seconds() for p, t in DEFAULT_SLA.items()}
    now = min(until, datetime.now(UTC))
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = conn.execute(
        "SELECT created_at, status, priority, started_at, detected_at, acknowledged_at, "
        "resolved_at, hold_seconds, escalation_level, reopen_count, service, category "
        "FROM incidents").fetchall()
    conn.close()

    def t(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None

    total = 0
    mttd, mtta, mttr = [], [], []
    response_n = response_ok = resolved = resolved_ok = first = reopened = finished = 0
    by_priority: Counter[str] = Counter()
    by_service: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    for (created_s, status, priority, started_s, detected_s, ack_s, resolved_s, hold, level,
         reopens, service, category) in rows:
        created = t(created_s)
        if created is None or not (since <= created < until) or status == "cancelled":
            continue
        total += 1
        started, detected, ack, res = t(started_s), t(detected_s), t(ack_s), t(resolved_s)
        if started is not None and detected is not None and detected >= started:
            mttd.append((detected - started).total_seconds())
        if ack is not None:
            mtta.append((ack - created).total_seconds())
        if ack is not None or (now - created).total_seconds() > response[priority]:
            response_n += 1
        if ack is not None and (ack - created).total_seconds() <= response[priority]:
            response_ok += 1
        if res is not None:
            taken = (res - created).total_seconds() - (hold or 0.0)
            mttr.append(taken)
            resolved += 1
            resolved_ok += taken <= resolution[priority]
            first += level == 1
        if status in ("resolved", "closed"):
            finished += 1
            reopened += reopens > 0
        by_priority[f"P{priority}"] += 1
        by_service[service] += 1
        by_category[category] += 1

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    def pct(part: int, whole: int) -> float | None:
        return round(100.0 * part / whole, 1) if whole else None

    return {"incidents": total, "mttd": mean(mttd), "mtta": mean(mtta), "mttr": mean(mttr),
            "response_sla_pct": pct(response_ok, response_n),
            "resolution_sla_pct": pct(resolved_ok, resolved),
            "first_contact_pct": pct(first, resolved), "reopen_pct": pct(reopened, finished),
            "by_priority": dict(by_priority), "by_service": dict(by_service),
            "by_category": dict(by_category)}


def run(ctx: Context) -> list[Row]:
    from incidenttui.store import Store
    from incidenttui.store.kpis import compute_kpis

    path = copy_store(ctx.store(N), ctx.work_dir / "kpis")
    since, until = EPOCH - timedelta(days=400), EPOCH + timedelta(days=1)
    store = Store(path)
    ours, loop, bare = [], [], []
    try:
        store.kpis(since, until)  # warm: page cache and the engine's first connection
        for _ in range(ctx.reps(1, 7)):
            started = time.perf_counter()
            result = store.kpis(since, until)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            expected = python_kpis(path, since, until)
            loop.append(time.perf_counter() - started)
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            started = time.perf_counter()
            compute_kpis(conn, since, until)
            bare.append(time.perf_counter() - started)
            conn.close()
    finally:
        store.close()
    # The two ways must agree, or the comparison means nothing.
    assert result.incidents == expected["incidents"], (result.incidents, expected["incidents"])
    assert result.by_service == expected["by_service"]
    assert result.reopen_pct == expected["reopen_pct"]
    ctx.log(f"kpis: store {[round(v, 3) for v in ours]}, loop {[round(v, 3) for v in loop]}, "
            f"bare SQL {[round(v, 3) for v in bare]}")
    value, base = median(ours), median(loop)
    return [Row(f"KPIs over {N // 1000}k incidents (Store.kpis)", secs(value),
                f"{secs(base)} Python loop over sqlite3 rows", ratio(value, base), "-", "info",
                note=f"the same SQL on a bare sqlite3 connection: {secs(median(bare))}",
                raw={"ours": ours, "loop": loop, "bare_sql": bare})]
