"""A real incidenttui server over TLS on loopback, served the way the README documents it.

:func:`team_ca` makes a throwaway CA and a server certificate it signed for ``127.0.0.1``
(with the ``cryptography`` package, through :func:`hostile.make_cert`). :class:`TlsServer`
runs uvicorn's own command line on the app factory with ``--ssl-keyfile/--ssl-certfile``::

    INCIDENTTUI_SERVER_DB=URL uvicorn incidenttui.server.app:app_from_env --factory \\
        --ssl-keyfile key.pem --ssl-certfile cert.pem ...

as a subprocess (Pilot waits for the test process to go idle; a server inside it never is).
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from hostile import make_cert, refused_port  # type: ignore[import-not-found]
from servers import seed, stop_process  # type: ignore[import-not-found]


@dataclass(frozen=True)
class TeamCa:
    """The CA's PEM file and the server certificate and key it signed."""

    ca: Path
    cert: Path
    key: Path

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))


def team_ca(directory: Path) -> TeamCa:
    directory.mkdir(parents=True, exist_ok=True)
    ca_path, _, ca_cert, ca_key = make_cert(directory, hostnames=["Team CA"], is_ca=True,
                                            name="team-ca")
    cert, key, _, _ = make_cert(directory, hostnames=["127.0.0.1"], ca=(ca_cert, ca_key),
                                name="incidents")
    return TeamCa(ca=ca_path, cert=cert, key=key)


class TlsServer:
    """A seeded server behind uvicorn's TLS on a loopback port; ``tokens[role]``."""

    def __init__(self, directory: Path, certs: TeamCa) -> None:
        self.db_url = f"sqlite:///{directory / 'server.db'}"
        self.tokens = seed(self.db_url)  # migrates: app_from_env does not
        self.certs = certs
        self.log = directory / "uvicorn.log"
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, attempts: int = 5) -> TlsServer:
        for _ in range(attempts):
            port = refused_port()
            self.url = f"https://127.0.0.1:{port}"
            with open(self.log, "ab") as log:
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "uvicorn", "incidenttui.server.app:app_from_env",
                     "--factory", "--host", "127.0.0.1", "--port", str(port),
                     "--ssl-keyfile", str(self.certs.key), "--ssl-certfile", str(self.certs.cert),
                     "--timeout-graceful-shutdown", "5", "--log-level", "warning"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    env={**os.environ, "INCIDENTTUI_SERVER_DB": self.db_url})
            if self._healthy():
                return self
            self.stop()
        raise RuntimeError(f"uvicorn over TLS did not start: {self.log.read_text()}")

    def _healthy(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        trust = self.certs.context()
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            try:
                if httpx.get(f"{self.url}/healthz", verify=trust, timeout=2).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        return False

    def create(self, title: str, role: str = "responder") -> dict[str, Any]:
        """An incident made through the API (over TLS, trusting the team CA)."""
        answer = httpx.post(f"{self.url}/api/v1/incidents", verify=self.certs.context(),
                            headers={"Authorization": f"Bearer {self.tokens[role]}"},
                            json={"id": str(uuid.uuid4()), "title": title,
                                  "service": "checkout", "category": "availability",
                                  "impact": 2, "urgency": 2}, timeout=30)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        stop_process(proc)
