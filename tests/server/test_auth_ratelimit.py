"""Failed authentications are rate-limited per client address on a real server: after N
failures in the window the address gets 429 with Retry-After, before any token is looked up
(a valid one included), and each failure is logged with the address but never the token."""

from __future__ import annotations

import logging

import httpx
import pytest
from apihelpers import API
from servers import CliServer, threaded_server

from incidenttui.server.ratelimit import FailureLimiter

BAD = "itui_guessing-0123456789"


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def get_me(base_url: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{base_url}{API}/me", headers=headers, timeout=10)


@pytest.mark.parametrize("kind", ["sqlite"])
def test_too_many_failures_answer_429_before_the_lookup(kind, db_url) -> None:
    records = Records()
    logger = logging.getLogger("incidenttui.auth")
    logger.addHandler(records)
    try:
        with threaded_server(kind, db_url(kind), FailureLimiter(3, 60)) as server:
            good = server.tokens["responder"]
            for _ in range(3):  # no token at all is not a guess: not counted
                assert get_me(server.base_url, None).status_code == 401
            assert get_me(server.base_url, BAD).status_code == 401
            assert get_me(server.base_url, good).status_code == 200  # a success clears nothing
            assert get_me(server.base_url, BAD + "x").status_code == 401
            limited = get_me(server.base_url, BAD)  # the third failure
            assert limited.status_code == 429, limited.text
            assert 1 <= int(limited.headers["Retry-After"]) <= 60
            assert limited.json()["detail"]
            # from now on even a valid token is refused, before it is looked up
            refused = get_me(server.base_url, good)
            assert refused.status_code == 429 and "Retry-After" in refused.headers
            writes = httpx.post(f"{server.base_url}{API}/incidents", json={},
                                headers={"Authorization": f"Bearer {good}"}, timeout=10)
            assert writes.status_code == 429
    finally:
        logger.removeHandler(records)
    assert sum("failed authentication from 127.0.0.1" in line for line in records.lines) == 3
    assert any("too many failed attempts" in line for line in records.lines)
    assert not any(BAD in line or good in line for line in records.lines)


def test_the_limit_is_configured_by_the_environment(tmp_path) -> None:
    from servers import seed

    url = f"sqlite:///{tmp_path / 'server.db'}"
    tokens = seed(url)
    server = CliServer(url, env={"INCIDENTTUI_AUTH_FAILURES": "2/60"}).start()
    try:
        assert get_me(server.base_url, BAD).status_code == 401
        assert get_me(server.base_url, BAD).status_code == 429
        assert get_me(server.base_url, tokens["admin"]).status_code == 429
        log = server.stderr()
    finally:
        server.cleanup()
    assert "failed authentication from 127.0.0.1" in log
    assert BAD not in log
