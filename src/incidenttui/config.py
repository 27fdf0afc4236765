"""Where incidenttui keeps its files, and the environment variables that steer it."""

from __future__ import annotations

import os
from pathlib import Path

ENV_SERVER = "INCIDENTTUI_SERVER"
ENV_TOKEN = "INCIDENTTUI_TOKEN"
ENV_DATA_DIR = "INCIDENTTUI_DATA_DIR"


def data_dir() -> Path:
    """The data directory: ``INCIDENTTUI_DATA_DIR`` or the platform's user data directory."""
    configured = os.environ.get(ENV_DATA_DIR)
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_data_path

    return user_data_path("incidenttui", appauthor=False)


def default_server_db() -> str:
    """The server's default database: a SQLite file in the data directory."""
    return f"sqlite:///{data_dir() / 'server.db'}"


class VerbError(Exception):
    """A command-line mistake or a missing setting; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _current_file() -> Path:
    return data_dir() / "current-server"


def remember_server(url: str) -> None:
    path = _current_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(url + "\n")


def server_url(explicit: str | None = None) -> str:
    """``--server``, then ``INCIDENTTUI_SERVER``, then the last ``login``."""
    url = explicit or os.environ.get(ENV_SERVER)
    if not url:
        try:
            url = _current_file().read_text().strip()
        except OSError:
            url = ""
    if not url:
        raise VerbError("no server configured: use --server URL, set INCIDENTTUI_SERVER, run "
                        "`incidenttui login --server URL`, or try `incidenttui demo`", 2)
    if not url.startswith(("http://", "https://")):
        raise VerbError(f"the server URL must start with http:// or https:// (got {url!r})", 2)
    return url.rstrip("/")
