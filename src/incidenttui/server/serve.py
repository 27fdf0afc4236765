"""Serving the API with uvicorn, shutting down promptly even with long-polls open."""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from fastapi import FastAPI

#: How long a thread may hold the GIL while others wait for it (Python's default: 5 ms).
#: Every database call releases the GIL; a writer holding the database's write lock then
#: waits up to the whole interval to get it back from threads parsing other requests, and
#: every other writer waits behind it. A short interval hands it back at once.
SWITCH_INTERVAL = 0.0005


def tune_interpreter() -> None:
    """Settings for a server process (called before it serves)."""
    sys.setswitchinterval(SWITCH_INTERVAL)


class ApiServer(uvicorn.Server):
    """A uvicorn server that releases long-polling clients as soon as shutdown starts,
    instead of holding the shutdown until their waits run out."""

    def __init__(self, app: FastAPI, **config: Any) -> None:
        config.setdefault("timeout_graceful_shutdown", 5)
        super().__init__(uvicorn.Config(app, **config))
        self.api = app

    async def shutdown(self, sockets: Any = None) -> None:
        notifier = getattr(self.api.state, "notifier", None)
        if notifier is not None:
            notifier.close()
        await super().shutdown(sockets)


def serve(app: FastAPI, host: str, port: int, **config: Any) -> None:
    """Run the API until SIGINT/SIGTERM."""
    tune_interpreter()
    ApiServer(app, host=host, port=port, **config).run()
