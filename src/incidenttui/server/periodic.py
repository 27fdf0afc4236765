"""Background work a server process repeats for its whole life (the escalator, the
notification deliverer, the maintenance releaser): one daemon thread each, a round every
``interval`` seconds, errors logged and the next round trying again."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod

log = logging.getLogger("incidenttui.server")


class Periodic(ABC):
    """Runs :meth:`round` every ``interval`` seconds in a daemon thread named ``name``.

    A round that did some work is run again at once (the backlog is worked off before the
    next wait); an exception is logged and the next round tries again (the database may be
    down for a while)."""

    name = "periodic"
    #: How long :meth:`stop` waits for a round in progress.
    stop_timeout = 10.0

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @abstractmethod
    def round(self) -> int:
        """One round of the work; returns how much it did (0: nothing left for now)."""

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.stop_timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                while self.round() and not self._stop.is_set():
                    pass
            except Exception:
                log.exception("%s round failed", self.name)
