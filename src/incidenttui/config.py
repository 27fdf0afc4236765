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
