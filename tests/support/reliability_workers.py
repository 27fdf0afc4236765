"""Worker processes for the fault schedules: each owns one server subprocess for its lifetime.

The client side of a schedule is CPU-bound Python (SQLAlchemy, pydantic, httpx), so one
process cannot keep two cores busy. A ``ProcessPoolExecutor`` of these workers can: each worker
seeds its own SQLite database, starts ``incidenttui server`` on a port of its own (killed and
restarted there by the schedules that kill it) and runs the seeds it is given, a few at a
time, on one event loop.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.util
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reliability_model import Env, ScheduleResult, run_many  # type: ignore[import-not-found]
from reliability_server import (  # type: ignore[import-not-found]
    ServerDB,
    ServerProcess,
    directory_changes,
    kill_leftovers,
)

_ENV: Env | None = None


@dataclass(frozen=True)
class WorkerConfig:
    root: str
    timeout: float
    min_commands: int
    kill_rate: float
    strict_conflicts: bool


@dataclass
class WorkerReport:
    pid: int
    results: list[ScheduleResult]
    server_starts: int
    server_kills: int


def _init(config: WorkerConfig) -> None:
    global _ENV
    root = Path(config.root) / f"worker-{os.getpid()}"
    (root / "schedules").mkdir(parents=True, exist_ok=True)
    server = ServerProcess(root / "server.db", root / "server.log",
                           pidfile=Path(config.root) / "server.pids")
    server.seed()
    server.start()
    multiprocessing.util.Finalize(None, server.stop, exitpriority=10)
    _ENV = Env(server=server, db=ServerDB(server.db_path),
               directory=directory_changes(server.base_url, server.tokens["admin"]),
               workdir=root / "schedules", timeout=config.timeout,
               min_commands=config.min_commands, kill_rate=config.kill_rate,
               strict_conflicts=config.strict_conflicts)


def _run(seeds: list[int], concurrency: int) -> WorkerReport:
    assert _ENV is not None, "worker not initialised"
    server = _ENV.server
    starts, kills = server.starts, server.kills
    server.ensure_up()
    results = asyncio.run(run_many(seeds, _ENV, concurrency))
    return WorkerReport(os.getpid(), results, server.starts - starts, server.kills - kills)


class SchedulePool:
    """``workers`` processes, each with its own server; ``run(seeds)`` spreads the seeds."""

    def __init__(self, config: WorkerConfig, workers: int, concurrency: int) -> None:
        self.config = config
        self.workers = workers
        self.concurrency = concurrency
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init, initargs=(config,))

    def run(self, seeds: list[int]) -> list[WorkerReport]:
        if self.concurrency == 1:  # one task per seed: a free worker takes the next one
            shares = [[seed] for seed in seeds]
        else:  # each worker runs its share, ``concurrency`` at a time
            shares = [seeds[i::self.workers] for i in range(self.workers)]
        futures = [self._pool.submit(_run, share, self.concurrency) for share in shares
                   if share]
        return [f.result() for f in futures]

    def close(self) -> Any:
        self._pool.shutdown(wait=True, cancel_futures=True)
        return kill_leftovers(Path(self.config.root) / "server.pids")
