"""Fixtures of the reliability tests: one real server subprocess for the session, fast scratch
space; the figures summary is printed at the end by tests/conftest.py (and written as JSON)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_server import ServerProcess  # type: ignore[import-not-found]
from reliability_stats import FIGURES, worker_report_path  # type: ignore[import-not-found]


def scratch_root() -> Path:
    """Scratch space for server and store files: RAM-backed when the machine has it (the
    tests exercise the protocol and process kills, not the disk, and fsyncs cost ~10 ms)."""
    configured = os.environ.get("RELIABILITY_TMP")
    candidates = [configured] if configured else ["/dev/shm", None]
    for parent in candidates:
        if parent is None or (os.path.isdir(parent) and os.access(parent, os.W_OK)):
            return Path(tempfile.mkdtemp(prefix="itui-reliability-", dir=parent))
    return Path(tempfile.mkdtemp(prefix="itui-reliability-"))


@pytest.fixture(scope="session")
def scratch(request: pytest.FixtureRequest) -> Iterator[Path]:
    """Kept after a failure (the failing schedules' stores are named in the message) or with
    ``RELIABILITY_KEEP=1``; removed otherwise."""
    root = scratch_root()
    yield root
    if request.session.testsfailed or os.environ.get("RELIABILITY_KEEP"):
        print(f"\nreliability scratch kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def reliability_server(scratch: Path) -> Iterator[ServerProcess]:
    """``incidenttui server`` as a subprocess on a fixed port over a seeded SQLite file."""
    server = ServerProcess(scratch / "server.db", scratch / "server.log")
    server.seed()
    server.start()
    try:
        yield server
    finally:
        FIGURES.bump("server_processes_started", server.starts)
        server.stop()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if FIGURES.empty:
        return
    # Each pytest-xdist worker hands its figures to the controller (tests/conftest.py
    # merges and prints them) and leaves them in a file of its own.
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["reliability_figures"] = FIGURES.as_dict()
    with contextlib.suppress(OSError):
        FIGURES.write(worker_report_path())
