"""Random fault schedules between two real clients and a real server subprocess.

Each schedule (see ``tests/support/reliability_model.py``) runs two clients with their own
stores and users through a fault-injecting proxy (resets, stalls, delays, truncated responses,
refused connections; in some schedules the server is SIGKILLed and restarted on the same port
and database), at least 50 random commands between them, then checks the server against the
model of what each client queued: nothing lost, nothing applied twice, every note once, and
both stores converged to the server's state.

Environment:

* ``RELIABILITY_SCHEDULES``: how many schedules (default 200 with ``CI=true``, else 40);
* ``RELIABILITY_SEED=123`` (or ``123,456``): replay only these seeds, one at a time;
* ``RELIABILITY_BASE_SEED``: the first seed (default: random; printed in the summary);
* ``RELIABILITY_COMMANDS``: the least number of commands per schedule (default 50);
* ``RELIABILITY_WORKERS``: worker processes, each with its own server subprocess that all its
  schedules share (default: the number of CPUs, at least 2);
* ``RELIABILITY_CONCURRENCY``: schedules a worker runs at once on its server (default 1: more
  makes every client also pull the other schedules' changes);
* ``RELIABILITY_KILL_RATE``: the share of schedules that kill the server (default 0.1);
* ``RELIABILITY_STRICT_CONFLICTS=0``: count a field conflict nobody else caused as an anomaly
  in the figures instead of failing (the default fails: only someone else's change may
  conflict).

A failure names its seed; replay it with ``RELIABILITY_SEED=<seed> pytest
tests/reliability/test_fault_schedules.py``. Timing (thread and network interleavings) is not
part of the seed, so a replay makes the same choices but may not hit the same race.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_stats import FIGURES, env_int, in_ci  # type: ignore[import-not-found]
from reliability_workers import SchedulePool, WorkerConfig  # type: ignore[import-not-found]

BATCH_SIZE = env_int("RELIABILITY_BATCH", 100)


def _seeds() -> tuple[list[int], str]:
    replay = os.environ.get("RELIABILITY_SEED", "").strip()
    if replay:
        return [int(s) for s in replay.replace(",", " ").split()], f"replaying {replay}"
    count = env_int("RELIABILITY_SCHEDULES", 200 if in_ci() else 40)
    base = env_int("RELIABILITY_BASE_SEED", random.SystemRandom().randrange(1, 10**9))
    return [base + i for i in range(count)], f"seeds {base}..{base + count - 1}"


SEEDS, SEED_NOTE = _seeds()
BATCHES = [SEEDS[i:i + BATCH_SIZE] for i in range(0, len(SEEDS), BATCH_SIZE)]
REPLAYING = bool(os.environ.get("RELIABILITY_SEED", "").strip())


@pytest.fixture(scope="module")
def pool(scratch: Path) -> Iterator[SchedulePool]:
    config = WorkerConfig(
        root=str(scratch / "fault-schedules"), timeout=1.0,
        min_commands=env_int("RELIABILITY_COMMANDS", 50),
        kill_rate=float(os.environ.get("RELIABILITY_KILL_RATE", "0.1")),
        # A field conflict on the user's own change is a bug (test_own_edits.py).
        strict_conflicts=os.environ.get("RELIABILITY_STRICT_CONFLICTS", "1") != "0")
    Path(config.root).mkdir(parents=True, exist_ok=True)
    workers = 1 if REPLAYING else env_int("RELIABILITY_WORKERS", max(2, os.cpu_count() or 2))
    concurrency = 1 if REPLAYING else env_int("RELIABILITY_CONCURRENCY", 1)
    FIGURES.note("fault schedules", f"{SEED_NOTE}; {workers} worker process(es), each with "
                 f"its own server subprocess, {concurrency} schedule(s) at a time each")
    pool = SchedulePool(config, workers, concurrency)
    try:
        yield pool
    finally:
        pool.close()


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("batch", range(len(BATCHES)), ids=lambda i: f"batch{i:02d}")
def test_fault_schedules(batch: int, pool: SchedulePool) -> None:
    started = time.monotonic()
    reports = pool.run(BATCHES[batch])
    FIGURES.time("fault schedules", time.monotonic() - started)
    results = [r for report in reports for r in report.results]
    FIGURES.bump("schedules", len(results))
    FIGURES.bump("schedules_failed", sum(r.failure is not None for r in results))
    FIGURES.bump("server_subprocess_restarts_in_workers", sum(r.server_starts for r in reports))
    for result in results:
        for section, values in result.figures.items():
            FIGURES.add(section, values)
    slowest = max(results, key=lambda r: r.seconds)
    if slowest.seconds > FIGURES.notes.get("slowest schedule (s)", (0.0, 0))[0]:
        FIGURES.note("slowest schedule (s)", (round(slowest.seconds, 1), slowest.seed))
    odd = [r.seed for r in results if r.figures.get("anomalies", {}).get("false_field_conflicts")]
    if odd:
        seen = FIGURES.notes.get("seeds with a field conflict nobody else caused", [])
        FIGURES.note("seeds with a field conflict nobody else caused", sorted(seen + odd)[:20])
    failures = [r.failure for r in sorted(results, key=lambda r: r.seed) if r.failure]
    assert not failures, f"{len(failures)} of {len(results)} schedules failed:\n\n" + \
        "\n\n".join(failures)
