"""Serving the API with uvicorn, shutting down promptly even with long-polls open."""

from __future__ import annotations

from typing import Any

import uvicorn
from fastapi import FastAPI


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
    ApiServer(app, host=host, port=port, **config).run()
