"""Fixtures of the reliability tests: one real server subprocess for the session, fast scratch
space, and the figures summary printed at the end (and written as JSON)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_server import ServerProcess  # type: ignore[import-not-found]
from reliability_stats import FIGURES, report_path  # type: ignore[import-not-found]


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


def _report() -> Path:
    path = report_path()
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return path.with_name(f"{path.stem}-{worker}{path.suffix}") if worker else path


def pytest_sessionfinish(session: pytest.Session) -> None:
    # Written here too, so each pytest-xdist worker leaves its figures behind.
    if not FIGURES.empty:
        with contextlib.suppress(OSError):
            FIGURES.write(_report())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES.empty:
        return
    terminalreporter.section("reliability figures")
    for line in FIGURES.lines():
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"(also written to {_report()})")
