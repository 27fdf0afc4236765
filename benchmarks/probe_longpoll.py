"""Probe: N idle clients long-polling the change feed, in one asyncio process.

    python -m benchmarks.probe_longpoll URL TOKEN N CURSOR

Each client does what a synced, idle app does: ``GET /api/v1/changes?cursor=C&wait=25``, and
when changes come back, polls again from the new cursor. Raw httpx (no store) keeps this
process light: it stands for the other responders' consoles, not for the client under test.
It prints ``ready`` once every client has its first long-poll out, and runs until killed.
"""

from __future__ import annotations

import asyncio
import sys

import httpx


async def client(http: httpx.AsyncClient, cursor: str, ready: asyncio.Event,
                 count: list[int], total: int) -> None:
    first = True
    while True:
        request = http.get("/api/v1/changes", params={"cursor": cursor, "wait": 25})
        if first:
            count[0] += 1
            if count[0] == total:
                ready.set()
            first = False
        try:
            answer = await request
            cursor = answer.json()["cursor"]
        except (httpx.HTTPError, ValueError, KeyError):
            await asyncio.sleep(1)


async def main(url: str, token: str, n: int, cursor: str) -> None:
    limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=n + 10)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"},
                                 limits=limits, timeout=httpx.Timeout(60)) as http:
        ready, count = asyncio.Event(), [0]
        tasks = [asyncio.create_task(client(http, cursor, ready, count, n)) for _ in range(n)]
        await ready.wait()
        await asyncio.sleep(1.0)  # let the requests reach the server and park
        print("ready", flush=True)
        await asyncio.gather(*tasks)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
