"""The change feed: every committed change in order, with a long-poll for new ones."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from incidenttui.api.paths import CHANGES
from incidenttui.api.schemas import ChangePage
from incidenttui.server import queries
from incidenttui.server.deps import Allowed, AuthRoute, database, notifier
from incidenttui.server.errors import ERRORS

#: How often a long-poll re-reads the feed without a local wake-up (other replicas' writes).
REPLICA_POLL_SECONDS = 0.5

router = APIRouter(route_class=AuthRoute, tags=["sync"], responses=ERRORS)


@router.get(CHANGES, response_model=ChangePage)
async def changes(
    request: Request,
    caller: Allowed,
    cursor: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    wait: Annotated[float, Query(ge=0, le=60)] = 0,
) -> Response:
    """Every change after ``cursor`` that the caller may see, in order; waits up to ``wait``
    s when none. Changes the caller may not see neither show nor end the wait early: the
    cursor moves past them when the page is answered."""
    db, wake = database(request), notifier(request)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        page, count, cursor = await run_in_threadpool(queries.change_page_json, db,
                                                      caller.user, cursor, limit)
        remaining = deadline - loop.time()
        if count or remaining <= 0 or wake.closed:
            return Response(page, media_type="application/json")
        await wake.wait(min(remaining, REPLICA_POLL_SECONDS))
