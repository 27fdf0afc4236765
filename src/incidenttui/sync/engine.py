"""The sync engine: the only code that talks to the server.

Push sends the outbox in order, each entry with its idempotency key; an entry leaves the
outbox only when the server has answered it (applied, conflicting, or refused for good). Pull
follows the change feed from the stored cursor and applies each page with its cursor in one
transaction. The cursor is the server's opaque token, stored and sent back as it came: the
engine never reads a position out of it (a current server tells nothing through it of the
changes the user may not see). Store work runs in threads, so the event loop of the app is
never blocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from incidenttui.api import paths
from incidenttui.api.schemas import ChangePage, Me
from incidenttui.sqltypes import utcnow
from incidenttui.store.capabilities import Capabilities
from incidenttui.store.commands import command_from_outbox
from incidenttui.store.rows import FeedIncident
from incidenttui.store.store import Store
from incidenttui.sync.client import (
    ApiClient,
    AuthFailed,
    BadResponse,
    Offline,
    ServerTrouble,
    SyncError,
)
from incidenttui.sync.status import SyncState, SyncStatus

log = logging.getLogger("incidenttui.sync")

#: How long one long-poll waits on the server for news.
LONG_POLL_SECONDS = 25.0
PAGE_SIZE = 500
#: Pages fetched ahead while the store writes, and the most changes written in one go.
AHEAD = 4
BATCH_CHANGES = 2_000
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
#: Python's youngest-generation garbage collection threshold while the whole feed is read
#: (a first pull): see :func:`fewer_collections`.
BULK_GC_THRESHOLD = 100_000


@dataclass(frozen=True)
class CycleResult:
    pushed: int
    pulled: int
    pending: int
    conflicts: int


def backoff_delay(failures: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: half fixed, half random, capped."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** min(max(0, failures - 1), 16)))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def _went_backwards(sent: str, answered: str) -> bool:
    """Whether an older server (integer cursors) answered a cursor below the one sent. A
    current server's cursors are opaque tokens: it answers 410 to one it cannot resume."""
    return sent.isdigit() and answered.isdigit() and int(answered) < int(sent)


_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, ...] = ()


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Python's cyclic garbage collector runs rarely inside (the youngest generation's
    threshold raised to :data:`BULK_GC_THRESHOLD`; restored when the last user leaves).

    A first pull makes a dozen short-lived containers per incident; at the default
    threshold (700) a 20k pull ran ~400 collections, 1.1 s of them, each holding the GIL
    that the writer thread and the event loop wait for: the pull took 7-8 s, 4.6 s with
    this. The objects are freed by reference counting all the same; only cycles wait.
    """
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(max(BULK_GC_THRESHOLD, _gc_saved[0]), *_gc_saved[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_saved)


@dataclass(frozen=True)
class FeedPage:
    """A checked change-feed page: its changes as the store takes them."""

    changes: list[dict[str, Any]]
    cursor: str
    more: bool = False


def _prepare_page(body: Any) -> FeedPage:
    """A change-feed page, checked, with each incident validated and its store row made
    (``prepared``): the store's writer then only writes. An incident that fails here is
    left for the store, which refuses the page with it."""
    page = ChangePage.model_validate(body)
    changes = []
    for change in page.changes:
        prepared = None
        if change.entity == "incident":
            with contextlib.suppress(ValidationError, ValueError, KeyError, TypeError,
                                     OverflowError):
                prepared = FeedIncident.from_wire(change.data)
        changes.append({"entity": change.entity, "id": change.id,
                        "data": change.data, "prepared": prepared})
    return FeedPage(changes, page.cursor, page.more)


class SyncEngine:
    """Keeps one store in step with one server."""

    def __init__(self, store: Store, client: ApiClient,
                 on_status: Callable[[SyncStatus], Any] | None = None,
                 on_change: Callable[[], Any] | None = None,
                 status: SyncStatus | None = None,
                 on_forget: Callable[[list[dict[str, Any]]], Any] | None = None) -> None:
        self.store = store
        #: Told once of incidents removed after the user lost access (store.take_forgotten);
        #: without it the notices stay in the store for whoever reads them.
        self.on_forget = on_forget
        self.client = client
        self.on_status = on_status
        self.on_change = on_change
        #: ``status``: what the caller already knows (the user, from the store), so that
        #: starting the engine reads nothing on the caller's event loop.
        self.status = replace(status, server=client.base_url) if status is not None else \
            SyncStatus(server=client.base_url, user=store.user_id)
        self._kick = asyncio.Event()
        self._stopping = False
        #: Whether /me was read since the engine started (capabilities may have changed).
        self._identified = False

    # -- status ----------------------------------------------------------------------------

    def _set(self, **changes: Any) -> None:
        self.status = replace(self.status, **changes)
        if self.on_status is not None:
            self.on_status(self.status)

    async def _counts(self) -> dict[str, int]:
        pending, conflicts = await asyncio.gather(
            asyncio.to_thread(self.store.pending_count),
            asyncio.to_thread(self.store.conflict_count))
        return {"pending": pending, "conflicts": conflicts}

    async def refresh_counts(self) -> None:
        self._set(**await self._counts())

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def kick(self) -> None:
        """Something was queued locally: push now instead of after the long-poll."""
        self._kick.set()

    def stop(self) -> None:
        self._stopping = True
        self._kick.set()

    # -- one cycle -------------------------------------------------------------------------

    async def identify(self) -> None:
        """Learn who the token belongs to (for "mine" and for the actor of local changes)."""
        answer = await self.client.call("GET", paths.ME)
        if answer.status != 200:
            raise BadResponse(f"{paths.ME} answered {answer.status}")
        try:
            me = Me.model_validate(answer.body)
        except ValidationError:
            raise BadResponse(f"the server's {paths.ME} answer has the wrong shape") from None
        if me.user.id != self.status.user:
            await asyncio.to_thread(self.store.set_meta, "user", me.user.id)
        await asyncio.to_thread(self.store.set_capabilities, Capabilities.from_me(
            me.user.role.value, me.capabilities, me.restricted_capabilities))
        self._identified = True
        if (me.user.id, me.user.team_id) != (self.status.user, self.status.team):
            self._set(user=me.user.id, team=me.user.team_id)

    async def _refresh_capabilities(self) -> None:
        """Read /me again once per engine (and after a 403): a role changed by an admin shows
        offline too. A failure here only waits for the next cycle; it is no sync failure."""
        try:
            await self.identify()
        except SyncError as exc:
            log.info("could not refresh capabilities: %s", exc)

    async def push(self) -> int:
        """Send the outbox in order; stop at the first entry the server could not answer."""
        sent = 0
        while not self._stopping:
            entries = await asyncio.to_thread(self.store.outbox, 1)
            if not entries:
                return sent
            entry = entries[0]
            request = command_from_outbox(entry.kind, entry.payload).request(entry.base_version)
            try:
                answer = await self.client.call(request.method, request.path,
                                                json_body=request.body,
                                                headers={"Idempotency-Key": entry.key})
            except SyncError as exc:
                await asyncio.to_thread(self.store.note_attempt, entry.key, str(exc))
                raise
            try:
                await self._settle(entry.key, answer.status, answer.body)
            except SyncError as exc:
                await asyncio.to_thread(self.store.note_attempt, entry.key, str(exc))
                raise
            sent += 1
            self._changed()
            self._set(**await self._counts())
        return sent

    async def _settle(self, key: str, status: int, body: Any) -> None:
        if 200 <= status < 300:
            if not isinstance(body, dict):
                raise BadResponse(f"the server confirmed a change with a {type(body).__name__}")
            try:
                await asyncio.to_thread(self.store.confirm, key, body)
            except (ValidationError, ValueError, OverflowError):
                raise BadResponse("the server confirmed a change with a malformed answer (not "
                                  "the incident or its event); the change stays queued"
                                  ) from None
            return
        detail = body.get("detail") if isinstance(body, dict) else None
        if not isinstance(detail, str):
            # Not our API's error shape (a proxy or firewall answering): keep the change.
            raise BadResponse(f"unexpected answer {status} to a change (not from an "
                              "incidenttui server?); the change stays queued")
        if status == 409 and isinstance(body, dict) and body.get("conflicts"):
            try:
                await asyncio.to_thread(self.store.record_conflict, key, body)
            except (ValidationError, ValueError, KeyError, TypeError, OverflowError):
                raise BadResponse("the server's conflict answer has the wrong shape") from None
            return
        if status in (400, 403, 404, 409, 410, 413, 422):
            if status == 403:
                self._identified = False  # the user's rights changed: learn them again
            await asyncio.to_thread(self.store.reject, key, detail)
            return
        raise BadResponse(f"unexpected answer {status} to a change")

    async def pull(self, wait: float = 0.0) -> int:
        """Follow the change feed until it has nothing more; returns changes applied.

        While pages are written to the store, the next ones are already on their way; the
        pages that arrived meanwhile are written together, with the last one's cursor, in one
        transaction (one commit, one search-index update, instead of one per page). Into an
        empty store the search index is filled once, with the page that catches up; a pull
        that fails before fills it with what it got (store/search.py)."""
        cursor = await asyncio.to_thread(lambda: self.store.cursor)
        # The whole feed from its start: tens of thousands of incidents to make rows of.
        with fewer_collections() if cursor == "0" else contextlib.nullcontext():
            return await self._pull(cursor, wait)

    async def _pull(self, cursor: str, wait: float) -> int:
        applied = 0
        pages: asyncio.Queue[FeedPage | BaseException | None] = asyncio.Queue(AHEAD)
        fetcher = asyncio.ensure_future(self._fetch_pages(cursor, wait, pages))
        try:
            finished = False
            while not finished:
                batch: list[FeedPage] = []
                item = await pages.get()
                while True:
                    if isinstance(item, BaseException):
                        raise item
                    if item is None:
                        finished = True
                        break
                    batch.append(item)
                    if sum(len(p.changes) for p in batch) >= BATCH_CHANGES or pages.empty():
                        break
                    item = pages.get_nowait()
                if not batch:
                    break
                changes = [c for page in batch for c in page.changes]
                last = batch[-1].cursor
                if changes or last != cursor:
                    try:
                        await asyncio.to_thread(self._apply_page,
                                                FeedPage(changes, last, batch[-1].more))
                    except (ValidationError, ValueError, KeyError, TypeError, OverflowError):
                        raise BadResponse("the change feed sent a malformed change") from None
                    applied += len(changes)
                    if changes:
                        self._changed()
                    if self.on_forget is not None and any(c["entity"] == "forget"
                                                          for c in changes):
                        notices = await asyncio.to_thread(self.store.take_forgotten)
                        if notices:
                            self.on_forget(notices)
                cursor = last
            return applied
        except SyncError:
            # The network went (or the server misbehaved) during a first pull: search the
            # incidents that did arrive at full speed while offline.
            try:
                await asyncio.to_thread(self.store.fill_search_index)
            except Exception:  # the mark stays: the next start fills it; filters still work
                log.exception("could not fill the search index after a failed pull")
            raise
        finally:
            if not fetcher.done():  # pages fetched ahead that will not be applied
                fetcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await fetcher

    async def _fetch_pages(self, cursor: str, wait: float,
                           pages: asyncio.Queue[FeedPage | BaseException | None]) -> None:
        """Fetch pages from ``cursor`` into ``pages`` (at most :data:`AHEAD` waiting), then
        None; a failure is queued in place of the page it cost."""
        try:
            while True:
                page = await self._fetch_page(cursor, wait)
                if _went_backwards(cursor, page.cursor):
                    raise BadResponse("the server's change feed went backwards (restored from "
                                      "a backup?); reset the local store to resync")
                await pages.put(page)
                if not page.more:
                    break
                cursor, wait = page.cursor, 0.0
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # handed to pull(), which raises it
            await pages.put(exc)
            return
        await pages.put(None)

    async def _fetch_page(self, cursor: str, wait: float) -> FeedPage:
        answer = await self.client.call(
            "GET", paths.CHANGES, params={"cursor": cursor, "limit": PAGE_SIZE, "wait": wait},
            deadline=wait + self.client.timeout * 2)
        if answer.status == 410:
            raise BadResponse("the server's change feed no longer reaches this store's cursor "
                              "(its database was replaced or restored from a backup); reset "
                              "the local store to resync")
        if answer.status != 200:
            raise BadResponse(f"the change feed answered {answer.status}")
        try:
            # Off the event loop, and while the store writes the pages before.
            return await asyncio.to_thread(_prepare_page, answer.body)
        except ValidationError:
            raise BadResponse("the change feed sent a page of the wrong shape") from None

    def _apply_page(self, page: FeedPage) -> None:
        self.store.apply_changes(page.changes, page.cursor, caught_up=not page.more,
                                 first_pull=True)

    async def sync_once(self) -> CycleResult:
        """One full cycle without long-polling: identify, push everything, pull everything."""
        self._set(state=SyncState.SYNCING)
        try:
            if self.status.user is None:
                await self.identify()
            pushed = await self.push()
            pulled = await self.pull()
            if not self._identified:
                await self._refresh_capabilities()
        except AuthFailed as exc:
            self._set(state=SyncState.AUTH, last_error=str(exc), **await self._counts())
            raise
        except SyncError as exc:
            self._set(state=SyncState.OFFLINE if isinstance(exc, Offline | ServerTrouble)
                      else SyncState.ERROR,
                      last_error=str(exc), **await self._counts())
            raise
        counts = await self._counts()
        self._set(state=SyncState.ONLINE, last_sync_at=utcnow(), last_error=None, **counts)
        return CycleResult(pushed, pulled, counts["pending"], counts["conflicts"])

    # -- forever ---------------------------------------------------------------------------

    async def run(self, long_poll: float = LONG_POLL_SECONDS) -> None:
        """Sync until :meth:`stop`: push what is queued, then wait on the feed for news."""
        failures = 0
        await self.refresh_counts()
        while not self._stopping:
            self._kick.clear()
            try:
                await self.sync_once()
                failures = 0
                await self._long_poll(long_poll)
            except AuthFailed:
                await self._pause(60.0)
            except SyncError as exc:
                failures += 1
                log.info("sync failed (%s); retry %d", exc, failures)
                await self._pause(backoff_delay(failures))
            except Exception as exc:  # a local fault (disk full, locked store): keep going
                failures += 1
                log.exception("sync cycle failed")
                self._set(state=SyncState.ERROR, last_error=f"local error: {type(exc).__name__}: "
                                                    f"{str(exc)[:200]}")
                await self._pause(backoff_delay(failures))

    async def _long_poll(self, wait: float) -> None:
        """Wait on the feed; a local change (kick) or stop cuts the wait short."""
        poll = asyncio.ensure_future(self.pull(wait=wait))
        kicked = asyncio.ensure_future(self._kick.wait())
        try:
            done, _ = await asyncio.wait({poll, kicked}, return_when=asyncio.FIRST_COMPLETED)
            if poll in done:
                poll.result()  # raise its error, if any
                self._set(state=SyncState.ONLINE, last_sync_at=utcnow(), **await self._counts())
        finally:
            for task in (poll, kicked):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, SyncError):
                        await task

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._kick.wait(), seconds)
