"""KPIs: one ``Store.kpis`` scan over 100,000 incidents beside a raw sqlite3 loop over the same
rows, and the category/service suggester's cross-validated accuracy on the demo data.

``Store.kpis`` reads every figure (MTTD/MTTA/MTTR mean, median and p90, SLA per priority,
FCR, escalation, reopen, volumes, backlog, the 12-week trend) in one query and one Python
pass (store/kpis.py, domain/kpis.py). The baseline is the floor of that design: the same
query on a bare sqlite3 connection, each row fetched and nothing computed. The ratio is what
the arithmetic costs on top of reading the rows.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.common import Context, Row, median, ratio, secs, verdict
from benchmarks.data import EPOCH, copy_store

N = 100_000
#: Under a second for one scan at 100k incidents, every one of them in the window (the
#: issue's figure: 1.05 s for the four passes of the earlier KPI code, means only).
TARGET = 1.0


def raw_loop(path: Any, since: datetime, until: datetime) -> int:
    """The same scan, each row fetched by a plain sqlite3 loop that computes nothing."""
    from incidenttui.domain.kpis import TREND_WEEKS, WEEK
    from incidenttui.store.kpis import SCAN_SQL, _db_time

    low = datetime.fromtimestamp(min(since.timestamp(), until.timestamp()
                                     - TREND_WEEKS * WEEK), UTC)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        count = 0
        for _ in conn.execute(SCAN_SQL, {"low": _db_time(low), "until": _db_time(until)}):
            count += 1
        return count
    finally:
        conn.close()


def demo_accuracy() -> tuple[float, float, float, int]:
    """5-fold cross-validated accuracy (category, service) of the suggester on the demo data
    set (seeded in memory, cancelled incidents left out), and the commonest category's share
    (what always guessing it would score)."""
    from incidenttui.demo.seed import _Seeder
    from incidenttui.domain.suggest import Example, cross_validate

    numbers = itertools.count(1001)
    seeder = _Seeder(datetime(2026, 3, 2, 9, 30, tzinfo=UTC), 7)
    walks = seeder.build(lambda series: next(numbers))
    examples = [Example(w.incident.title, w.incident.description, str(w.incident.category),
                        w.incident.service) for w in walks if w.incident.status != "cancelled"]
    category, service = cross_validate(examples, folds=5)
    commonest = max(sum(e.category == c for e in examples)
                    for c in {e.category for e in examples}) / len(examples)
    return category, service, commonest, len(examples)


def run(ctx: Context) -> list[Row]:
    from incidenttui.store import Store

    path = copy_store(ctx.store(N), ctx.work_dir / "kpis")
    since, until = EPOCH - timedelta(days=400), EPOCH + timedelta(days=1)
    store = Store(path)
    ours, floor = [], []
    try:
        store.kpis(since, until, now=until)  # warm: page cache and the engine's connection
        for _ in range(ctx.reps(3, 7)):  # alternated, so load spikes hit both
            started = time.perf_counter()
            report = store.kpis(since, until, now=until)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            scanned = raw_loop(path, since, until)
            floor.append(time.perf_counter() - started)
    finally:
        store.close()
    # Both read the same rows, or the comparison means nothing.
    counted = report.window["incidents"] + report.cancelled
    assert scanned >= counted > N * 0.9, (scanned, counted)
    ctx.log(f"kpis: one scan {[round(v, 3) for v in ours]}, raw sqlite3 loop "
            f"{[round(v, 3) for v in floor]}")
    value, base = median(ours), median(floor)
    rows = [Row(f"KPIs over {N // 1000}k incidents (Store.kpis, one scan)", secs(value),
                f"{secs(base)} raw sqlite3 loop, same rows", ratio(value, base),
                f"< {TARGET} s", verdict(value < TARGET),
                note=f"{scanned:,} rows read; every figure incl. p90s, SLA per priority, "
                     "backlog and the 12-week trend",
                raw={"ours": ours, "raw_loop": floor})]
    started = time.perf_counter()
    category, service, commonest, n = demo_accuracy()
    took = time.perf_counter() - started
    rows.append(Row("Suggested category / service, accuracy (5-fold CV, demo data)",
                    f"{category:.1%} / {service:.1%}",
                    f"{commonest:.1%} commonest category", ratio(category, commonest),
                    "-", "info",
                    note=f"{n} demo incidents, naive Bayes over title and description words, "
                         f"5 trainings in {took:.2f} s; the demo's titles come from templates, "
                         "so real data will score lower",
                    raw={"category": category, "service": service, "commonest": commonest}))
    return rows
