"""The queue's question to the store, and its answers as they come (standard library only).

A :class:`QueueQuery` owns what loading the queue takes: a generation for every question
asked, the first screenful read at once (before the first frame at start-up, in
milliseconds after a key), the whole list read once typing pauses (interrupted when the user
asks something else), synced changes coalesced into one re-read, and the rule that an answer
older than what is shown, or only the head of it, is dropped. Answers go to ``deliver`` as
:class:`QueueAnswer` values, from the reading threads, oldest first; the screen only shows
them.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from incidenttui.store.reader import IncidentFilter, QueueReader, QueueRow

#: Rows read at once when the view changes (at least a screenful; the whole list follows).
FIRST_ROWS = 40
#: Seconds of quiet after a key before the view's whole list is read.
WHOLE_LIST_AFTER = 0.15
#: Synced changes arriving within this many seconds are read as one.
COALESCE_CHANGES = 0.3


@dataclass(frozen=True)
class QueueAnswer:
    """The ordered ids for one question (``generation``); ``partial``: only their head, the
    whole list follows. ``error`` says in words why there are none (a locked store)."""

    ids: list[str]
    generation: int
    partial: bool = False
    #: Whether the store holds any incident at all (an empty view explains itself by it).
    has_cache: bool = True
    error: str | None = None
    #: The rows of a first screenful, read with it (the view draws them without a look-up).
    rows: dict[str, QueueRow] | None = field(default=None, compare=False, repr=False)
    #: The text was matched without the search index, which a first pull is building: the
    #: same matches, found more slowly (store/search.py); the screen says so.
    search_building: bool = False


class QueueQuery:
    """Loads what the queue shows; thread-safe, every answer handed to ``deliver``.

    ``reader`` returns the app's current :class:`QueueReader` (it changes with the server).
    """

    def __init__(self, reader: Callable[[], QueueReader],
                 deliver: Callable[[QueueAnswer], Any]) -> None:
        self._reader = reader
        self._deliver = deliver
        self._lock = threading.RLock()
        #: The latest question; the first question of the current view (a key pressed);
        #: the answer on screen, and whether that is only its head.
        self._asked = self._view = self._shown = 0
        self._partial = False
        self._shown_count = 0
        self._filter = IncidentFilter()
        self._limit = FIRST_ROWS
        #: The whole-list read in flight (0: none), and whether another should follow it.
        self._reading = 0
        self._read_again = False
        self._whole_timer: threading.Timer | None = None
        self._changes_timer: threading.Timer | None = None
        self._closed = False
        # One thread for first screenfuls, one for whole lists: a whole list being read
        # never holds up the next key's first screenful.
        self._first = ThreadPoolExecutor(1, thread_name_prefix="queue-first")
        self._whole = ThreadPoolExecutor(1, thread_name_prefix="queue-whole")

    # -- questions (from the screen) -----------------------------------------------------

    @property
    def generation(self) -> int:
        """The latest question asked."""
        return self._asked

    @property
    def partial(self) -> bool:
        """Whether only the head of the shown answer is in (the whole list still to come)."""
        return self._partial

    def ask(self, flt: IncidentFilter, limit: int = FIRST_ROWS) -> None:
        """The view changed (a key): its first screenful at once, the whole list once the
        keys pause; whatever was being read for the earlier view is dropped."""
        with self._lock:
            generation = self._new_view(flt, limit)
            self._submit(self._first, self._read_first, generation, flt, limit)
            self._whole_later(generation)

    def ask_now(self, flt: IncidentFilter, limit: int = FIRST_ROWS) -> QueueAnswer | None:
        """:meth:`ask`, with the first screenful read in this thread and returned (at
        start-up, before the first frame) instead of delivered."""
        with self._lock:
            generation = self._new_view(flt, limit)
        answer = self._first_answer(generation, flt, limit)
        with self._lock:
            self._whole_later(generation)
            if answer is not None and (answer.error or self._accept(answer)):
                return answer
        return None

    def changed(self, flt: IncidentFilter) -> None:
        """The store changed (a sync): read the view again, once for a burst of changes."""
        with self._lock:
            self._filter = flt
            if self._changes_timer is None and not self._closed:
                self._changes_timer = self._timer(COALESCE_CHANGES, self._reread)

    def read_all(self) -> None:
        """Only the head is shown and the user wants the rest (the bottom): read it now."""
        with self._lock:
            if self._partial:
                self._read_whole(self._shown)

    def close(self) -> None:
        """Stop: timers cancelled, the whole-list read interrupted, no more answers."""
        with self._lock:
            self._closed = True
            for timer in (self._whole_timer, self._changes_timer):
                if timer is not None:
                    timer.cancel()
        self._interrupt()
        self._first.shutdown(wait=False, cancel_futures=True)
        self._whole.shutdown(wait=False, cancel_futures=True)

    # -- the bookkeeping (under the lock) ------------------------------------------------

    def _new_view(self, flt: IncidentFilter, limit: int) -> int:
        self._asked += 1
        self._view = self._asked
        self._filter, self._limit = flt, limit
        self._interrupt()  # a whole list still being read for an earlier view
        return self._asked

    def _whole_later(self, generation: int) -> None:
        # Read for every key, the whole list would compete with the next key's first rows.
        if self._whole_timer is not None:
            self._whole_timer.cancel()
        if not self._closed:
            self._whole_timer = self._timer(WHOLE_LIST_AFTER,
                                            lambda: self._read_whole(generation))

    def _reread(self) -> None:
        with self._lock:
            self._changes_timer = None
            if self._closed:
                return
            if self._reading:
                self._read_again = True  # a burst of synced changes: one more read after
                return
            self._asked += 1
            if not self._shown_count:
                # Nothing on screen: the first screenful first, as for a key.
                self._submit(self._first, self._read_first, self._asked, self._filter,
                             self._limit)
                self._whole_later(self._asked)
            else:
                self._read_whole(self._asked)

    def _read_whole(self, generation: int) -> None:
        with self._lock:
            if self._closed or generation < self._view or self._reading == generation or (
                    self._shown == generation and not self._partial):
                return  # another view asked since, being read, or all of it on screen
            self._reading = generation
            self._submit(self._whole, self._read_all, generation, self._filter)

    def _read_ended(self, generation: int) -> None:
        """A whole-list read ended (delivered, failed or interrupted)."""
        with self._lock:
            if generation != self._reading:
                return
            self._reading = 0
            if self._read_again and not self._closed:
                self._read_again = False
                self._asked += 1
                self._read_whole(self._asked)

    def _accept(self, answer: QueueAnswer) -> bool:
        """Whether ``answer`` is to be shown (and, if so, it is now what is shown)."""
        g = answer.generation
        if self._closed or g < self._view or g < self._shown or \
                g == self._shown and (answer.partial or not self._partial):
            return False  # for an earlier view, older than (or the head of) what is shown
        self._shown, self._partial = g, answer.partial
        self._shown_count = len(answer.ids)
        return True

    def offer(self, answer: QueueAnswer) -> bool:
        """Deliver ``answer`` unless it is late (see :meth:`_accept`); errors always go."""
        with self._lock:
            if self._closed:
                return False
            if answer.error is None and not self._accept(answer):
                return False
            # Under the lock: answers reach ``deliver`` in the order they were accepted.
            self._deliver(answer)
            return True

    # -- reading (in the executors' threads) ---------------------------------------------

    def _submit(self, pool: ThreadPoolExecutor, fn: Callable[..., None], *args: Any) -> None:
        if self._closed:
            return
        with contextlib.suppress(RuntimeError):  # shut down meanwhile
            pool.submit(fn, *args)

    def _timer(self, seconds: float, fn: Callable[[], None]) -> threading.Timer:
        timer = threading.Timer(seconds, fn)
        timer.daemon = True
        timer.start()
        return timer

    def _interrupt(self) -> None:
        with contextlib.suppress(Exception):  # a reader closed meanwhile: nothing to stop
            self._reader().interrupt()

    def _read_first(self, generation: int, flt: IncidentFilter, limit: int) -> None:
        if generation < self._view:
            return  # a later key asked again before this read began
        answer = self._first_answer(generation, flt, limit)
        if answer is not None:
            self.offer(answer)

    def _first_answer(self, generation: int, flt: IncidentFilter, limit: int
                      ) -> QueueAnswer | None:
        reader = self._reader()
        try:
            ids = reader.first(flt, limit)
            has_cache = bool(ids) or reader.has_data()
            building = bool(flt.text.strip()) and reader.search_stale()
            # Read here, not by the view as it draws on the event loop: a key's matches reach
            # the screen one look-up sooner.
            rows = reader.rows(ids) if generation >= self._view else None
        except Exception as exc:  # a locked or damaged store: say so, keep running
            return QueueAnswer([], generation, error=_why(exc))
        # Fewer than asked for is the whole list: no need to read it again.
        return QueueAnswer(ids, generation, partial=len(ids) >= limit, has_cache=has_cache,
                           rows=rows, search_building=building)

    def _read_all(self, generation: int, flt: IncidentFilter) -> None:
        try:
            if generation < self._view:
                return  # the user asked for another view before this read began
            reader = self._reader()
            try:
                ids = reader.query_ids(flt)
                has_cache = bool(ids) or reader.has_data()
                building = bool(flt.text.strip()) and reader.search_stale()
            except sqlite3.OperationalError as exc:
                if "interrupt" in str(exc):
                    return  # the user asked for another view meanwhile
                self.offer(QueueAnswer([], generation, error=_why(exc)))
            except Exception as exc:  # a locked or damaged store: say so, keep running
                self.offer(QueueAnswer([], generation, error=_why(exc)))
            else:
                self.offer(QueueAnswer(ids, generation, has_cache=has_cache,
                                       search_building=building))
        finally:
            self._read_ended(generation)


def _why(exc: BaseException) -> str:
    return f"Reading the queue failed: {type(exc).__name__}: {str(exc)[:300]}"
