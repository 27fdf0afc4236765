"""The change feed: every committed change in order, with a long-poll for new ones."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from incidenttui.api.errors import ErrorOut
from incidenttui.api.paths import CHANGES
from incidenttui.api.schemas import ChangePage
from incidenttui.server import cursors, queries
from incidenttui.server.deps import Allowed, AuthRoute, database, notifier
from incidenttui.server.errors import ERRORS, ApiError

#: How often a long-poll re-reads the feed without a local wake-up (other replicas' writes).
REPLICA_POLL_SECONDS = 0.5

router = APIRouter(route_class=AuthRoute, tags=["sync"], responses=ERRORS)


#: The answer to a cursor the feed cannot resume from (documented in OpenAPI).
_GONE = {410: {"model": ErrorOut, "description": "A cursor from before this feed's database "
                                                 "was replaced or restored: start again"}}


@router.get(CHANGES, response_model=ChangePage, responses=_GONE)
async def changes(
    request: Request,
    caller: Allowed,
    cursor: Annotated[str, Query(min_length=1, max_length=100, description=(
        "The cursor of the last page (opaque), or 0 for the start; an integer cursor "
        "stored by an older client is accepted too"))] = "0",
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    wait: Annotated[float, Query(ge=0, le=60)] = 0,
) -> Response:
    """Every change after ``cursor`` that the caller may see, in order; waits up to ``wait``
    s when none. Changes the caller may not see neither show nor end the wait early: the
    cursor moves past them when the page is answered, and a new cursor token says nothing
    of how far (server/cursors.py)."""
    db, wake = database(request), notifier(request)
    codec = cursors.load_codec(db) if db.reads_are_local else \
        await run_in_threadpool(cursors.load_codec, db)
    try:
        position = codec.decode(cursor)
    except cursors.BadCursor:
        raise ApiError(422, "Not a cursor of this feed: pass the cursor of the last page, "
                            "or 0 for the start.", "cursor") from None
    except cursors.UnknownCursor:
        raise _gone() from None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        try:
            page, count, position = await run_in_threadpool(
                queries.change_page_json, db, caller.user, position, limit)
        except cursors.UnknownCursor:
            raise _gone() from None
        remaining = deadline - loop.time()
        if count or remaining <= 0 or wake.closed:
            return Response(page, media_type="application/json")
        # Nothing the caller may see yet: wait for the next write, then read on from past
        # the rows hidden from them (their answer never tells that there were any).
        await wake.wait(min(remaining, REPLICA_POLL_SECONDS))


def _gone() -> ApiError:
    return ApiError(410, "The change feed does not reach this cursor (the server's database "
                         "was replaced or restored from a backup): reset the local store and "
                         "sync again.", "cursor")
