"""Fixtures for the scripting CLI tests: a real ``incidenttui server`` subprocess that can be
stopped and started again on the same port (the store is per server URL), and a runner for
``python -m incidenttui ...`` with its own data directory and environment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hostile import refused_port
from servers import seed, stop_process, wait_healthy


class RestartableServer:
    """``incidenttui server`` as a subprocess on a fixed loopback port."""

    def __init__(self, db_url: str, log: Path) -> None:
        self.db_url = db_url
        self.tokens = seed(db_url)
        self.log = log
        self.port = refused_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RestartableServer:
        for attempt in range(20):
            with open(self.log, "ab") as err:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "incidenttui", "server", "--db", self.db_url,
                     "--host", "127.0.0.1", "--port", str(self.port)],
                    stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
            try:
                wait_healthy(self.base_url, timeout=30, proc=self.proc)
                return self
            except RuntimeError:
                self.stop()
                time.sleep(0.1 * (attempt + 1))  # the port may linger for a moment
        raise RuntimeError(f"the server did not start again: {self.log.read_text()}")

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def http(self, role: str = "responder") -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30,
                            headers={"Authorization": f"Bearer {self.tokens[role]}"})


@pytest.fixture(scope="module")
def cli_server(db_url: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[RestartableServer]:
    server = RestartableServer(db_url("sqlite"),
                               tmp_path_factory.mktemp("server-log") / "server.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Cli:
    """Runs ``python -m incidenttui`` with a private data dir and a chosen environment."""

    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    runs: list[subprocess.CompletedProcess[str]] = field(default_factory=list)

    def __call__(self, *args: str, stdin: str | None = None,
                 env: dict[str, Any] | None = None, timeout: float = 60
                 ) -> subprocess.CompletedProcess[str]:
        merged = {**os.environ, **self.env, **(env or {})}
        for name, value in list(merged.items()):
            if value is None:
                del merged[name]
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "incidenttui", *args], text=True,
                                capture_output=True, timeout=timeout, env=merged,
                                input=stdin if stdin is not None else "")
        self.runs.append(result)
        if os.environ.get("ITUI_TEST_TIMING"):
            print(f"{time.monotonic() - started:6.2f}s {' '.join(args)[:60]}", file=sys.stderr)
        return result

    def many(self, *commands: tuple[str, ...]) -> list[subprocess.CompletedProcess[str]]:
        """Run independent commands at the same time (they only read, or touch different
        incidents); results in the order given."""
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(lambda c: self(*c), commands))


@pytest.fixture
def make_cli(tmp_path: Path) -> Callable[..., Cli]:
    def make(server: str | None, token: str | None, name: str = "data") -> Cli:
        data = tmp_path / name
        env: dict[str, Any] = {
            "INCIDENTTUI_DATA_DIR": str(data),
            "INCIDENTTUI_SERVER": server,
            "INCIDENTTUI_TOKEN": token,
            # Never touch a real keyring, and keep any plaintext keyring inside tmp_path.
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
            "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
            "HOME": str(tmp_path / "home"),
            "NO_COLOR": "1",
        }
        return Cli(data, env)
    return make


def readable_failure(result: subprocess.CompletedProcess[str], code: int | None = None) -> str:
    """A failed verb: non-zero (or ``code``), one readable line on stderr, no traceback."""
    assert result.returncode != 0, (result.stdout, result.stderr)
    if code is not None:
        assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("incidenttui: "), lines[0]
    return lines[0]


@pytest.fixture
def failure() -> Callable[..., str]:
    return readable_failure
