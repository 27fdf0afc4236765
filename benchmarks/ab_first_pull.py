"""First pull, old code against new, alternated in the same minutes (a shared machine's load
moves every timing; the ratios of one round do not).

    git archive main | (mkdir -p /tmp/old && tar -x -C /tmp/old)
    python -m benchmarks.ab_first_pull --old-src /tmp/old/src --incidents 20000 --rounds 4

One real server (SQLite, one worker) seeded with N synthetic incidents; each round pulls the
whole feed into an empty store three times, each in a fresh process: the old code (its
``src`` first on the path), this checkout, and the raw floor of ``benchmarks/sync.py``
(httpx + sqlite3 executemany). The order alternates between rounds. Each line gives the
wall time, the ratio to the round's floor, the process CPU time, and the number of matches
of a text filter after the pull (the search index must answer the same).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import ROOT, bench_env
from benchmarks.data import snapshots
from benchmarks.servers import ServerProcess, seed_server

_OURS = r'''
import asyncio, resource, sys, time
from incidenttui.store import IncidentFilter, Store
from incidenttui.sync.client import ApiClient
from incidenttui.sync.engine import SyncEngine

async def main(url, token, path):
    store, client = Store(path), ApiClient(url, token)
    started = time.perf_counter()
    await SyncEngine(store, client).pull()
    took = time.perf_counter() - started
    await client.aclose()
    hits = store.count(IncidentFilter(text="payment"))
    store.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"{took:.3f} {usage.ru_utime + usage.ru_stime:.2f} {hits}")

asyncio.run(main(*sys.argv[1:4]))
'''
_RAW = r'''
import asyncio, resource, sys, time
from pathlib import Path
import httpx
from benchmarks.sync import RawFloor, incidents_ddl

async def main(url, token, path):
    floor = RawFloor(Path(path), incidents_ddl())
    async with httpx.AsyncClient(base_url=url, timeout=60,
                                 headers={"Authorization": f"Bearer {token}"}) as http:
        started = time.perf_counter()
        await floor.pull(http)
        took = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"{took:.3f} {usage.ru_utime + usage.ru_stime:.2f} -")

asyncio.run(main(*sys.argv[1:4]))
'''


def _pull(which: str, old_src: Path, url: str, token: str, path: Path) -> list[str]:
    env = bench_env()
    if which == "old":  # the old code ahead of this checkout
        env["PYTHONPATH"] = f"{old_src}:{ROOT}"
    answer = subprocess.run([sys.executable, "-c", _RAW if which == "raw" else _OURS, url,
                             token, str(path)], env=env, capture_output=True, text=True,
                            cwd=ROOT, check=False)
    if answer.returncode:
        raise RuntimeError(f"{which}: {answer.stderr[-2000:]}")
    return answer.stdout.split()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ab_first_pull",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old-src", type=Path, required=True,
                        help="the old code's src directory (git archive of the old commit)")
    parser.add_argument("--incidents", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)
    if not (args.old_src / "incidenttui").is_dir():
        parser.error(f"{args.old_src} holds no incidenttui package")
    work = Path(tempfile.mkdtemp(prefix="incidenttui-ab-"))
    db = work / "server.db"
    token = seed_server(f"sqlite:///{db}", snapshots(args.incidents, seed=11))
    with ServerProcess(f"sqlite:///{db}", work / "server.log") as server:
        for round_ in range(args.rounds):
            order = ("old", "new", "raw") if round_ % 2 == 0 else ("raw", "new", "old")
            with open("/proc/loadavg") as fh:
                load = fh.read().split()[0]
            got = {w: _pull(w, args.old_src, server.url, token, work / f"{w}-{round_}.db")
                   for w in order}
            raw = float(got["raw"][0])
            parts = [f"{w} {float(got[w][0]):.2f} s ({float(got[w][0]) / raw:.2f}x, CPU "
                     f"{got[w][1]} s)" for w in ("old", "new", "raw")]
            print(f"round {round_} load {load}: " + "; ".join(parts)
                  + f"; 'payment' matches old {got['old'][2]} new {got['new'][2]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
