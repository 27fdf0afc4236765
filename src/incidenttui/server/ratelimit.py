"""Rate-limiting failed authentications per client address (429 with ``Retry-After``).

After :attr:`FailureLimiter.max_failures` failed authentications from one address within
:attr:`~FailureLimiter.window`, that address is refused for the rest of the window, counted
from its oldest failure still in it, before its token is even looked up. In memory, per
server process: each replica limits on its own, so across ``n`` replicas an address gets at
most ``n`` times the budget — still a few guesses a minute against 256-bit tokens. Memory is
bounded: at most :attr:`~FailureLimiter.max_addresses` are tracked, the least recently
failing dropped first. A success does not clear the count: whoever holds one valid token
could otherwise reset it between guesses at others.

Thread-safe; the clock is a parameter (``time.monotonic`` by default) so tests freeze it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class FailureLimiter:
    """Counts failed authentications per address and says when to refuse one."""

    def __init__(self, max_failures: int = 10, window: float = 60.0,
                 max_addresses: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_failures < 1 or window <= 0 or max_addresses < 1:
            raise ValueError("max_failures, window and max_addresses must be positive")
        self.max_failures = max_failures
        self.window = window
        self.max_addresses = max_addresses
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float] | None:
        times = self._failures.get(address)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[address]
            return None
        return times

    def retry_after(self, address: str) -> int | None:
        """Seconds to wait (for ``Retry-After``, at least 1) if ``address`` is refused now,
        else None. Check this before authenticating."""
        with self._lock:
            now = self._clock()
            times = self._recent(address, now)
            if times is None or len(times) < self.max_failures:
                return None
            return max(1, math.ceil(times[-self.max_failures] + self.window - now))

    def failed(self, address: str) -> int | None:
        """Record a failed authentication from ``address``; return :meth:`retry_after`'s
        answer after it (so the failure that reaches the limit can already answer 429)."""
        with self._lock:
            now = self._clock()
            times = self._recent(address, now)
            if times is None:
                times = self._failures[address] = deque(maxlen=self.max_failures)
            times.append(now)
            self._failures.move_to_end(address)
            while len(self._failures) > self.max_addresses:
                self._failures.popitem(last=False)
        return self.retry_after(address)

    def __len__(self) -> int:
        with self._lock:
            return len(self._failures)
