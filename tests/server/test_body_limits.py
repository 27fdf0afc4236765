"""Request bodies are limited before they are read, and tokens checked before bodies.

A hostile or buggy client sending 50 MB must be answered (413, or 401 without a token) after
the server has read at most about the limit, on every route: the proof is that the answer
arrives while the client is still sending, over a real socket, and (for the server run as
operators run it) that the server's resident memory does not grow by anything like 50 MB.
"""

from __future__ import annotations

import json
import select
import socket
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from apihelpers import API, assert_error, create, incident_body
from servers import CliServer, seed

from incidenttui.server.limits import API_BODY_LIMIT

MB = 1024 * 1024
HUGE = 50 * MB
#: What a client may have pushed before the server answers: the limit plus the kernel's
#: socket buffers on loopback (autotuned to a few MB), far below the 50 MB sent.
ANSWERED_WITHIN = 12 * MB


def huge_json(size: int = HUGE) -> Iterator[bytes]:
    """A JSON incident whose title is ``size`` bytes, made lazily in 64 KiB pieces."""
    yield json.dumps(incident_body())[:-1].encode() + b', "description": "'
    piece = b"x" * (64 * 1024)
    for _ in range(size // len(piece)):
        yield piece
    yield b'"}'


def raw_post(base_url: str, path: str, body: Iterator[bytes], *, token: str | None,
             length: int | None) -> tuple[int, dict, int, bool]:
    """POST ``body`` over a plain socket, reading the answer as soon as it comes.

    ``length`` None sends the body chunked. Returns the status, the JSON answer, how many body
    bytes were sent before the answer arrived, and whether the whole body had been sent."""
    parts = urlsplit(base_url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    head = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}",
            "Content-Type: application/json"]
    if token:
        head.append(f"Authorization: Bearer {token}")
    head.append(f"Content-Length: {length}" if length is not None
                else "Transfer-Encoding: chunked")
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    sent, finished, pending = 0, False, b""
    answer = b""
    try:
        while True:
            readable, writable, _ = select.select([sock], [] if finished else [sock], [], 30)
            if readable:
                break
            if not writable and not readable:
                raise AssertionError("the server neither answered nor read for 30 s")
            if not pending:
                piece = next(body, None)
                if piece is None:
                    if length is None:
                        sock.sendall(b"0\r\n\r\n")
                    finished = True
                    continue
                pending = (b"%x\r\n%s\r\n" % (len(piece), piece)) if length is None else piece
                sent += len(piece)
            try:
                pending = pending[sock.send(pending):]
            except (BrokenPipeError, ConnectionResetError):
                break
        deadline = time.monotonic() + 30
        while b"\r\n\r\n" not in answer or not _complete(answer):
            chunk = sock.recv(65536)
            if not chunk or time.monotonic() > deadline:
                break
            answer += chunk
    finally:
        sock.close()
    head_bytes, _, payload = answer.partition(b"\r\n\r\n")
    status = int(head_bytes.split(b" ", 2)[1])
    return status, json.loads(payload), sent, finished


def _complete(answer: bytes) -> bool:
    head, _, payload = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(payload) >= int(value)
    return False


def assert_refused_early(result: tuple[int, dict, int, bool], status: int) -> None:
    code, body, sent, finished = result
    assert code == status, body
    assert set(body) >= {"detail", "field"} and body["detail"], body
    assert not finished and sent < ANSWERED_WITHIN, (
        f"answered only after {sent} of {HUGE} body bytes were sent")


# -- over the limit -----------------------------------------------------------------------


def test_a_declared_50_mb_body_is_refused_413_before_it_is_read(server):
    result = raw_post(server.base_url, f"{API}/incidents", huge_json(),
                      token=server.tokens["responder"], length=HUGE + 1000)
    assert_refused_early(result, 413)
    assert str(API_BODY_LIMIT) in result[1]["detail"]


def test_a_chunked_50_mb_body_is_refused_413_at_the_limit(server):
    result = raw_post(server.base_url, f"{API}/incidents", huge_json(),
                      token=server.tokens["responder"], length=None)
    assert_refused_early(result, 413)
    assert result[2] >= API_BODY_LIMIT  # it did read up to the limit, then stopped


@pytest.mark.parametrize("path", ["/healthz", f"{API}/me", f"{API}/changes",
                                  f"{API}/incidents/INC-1001/notes"])
def test_every_route_has_the_limit(server, path):
    with server.client() as client:
        r = client.post(path, content=b"x" * (API_BODY_LIMIT + 1),
                        headers={"Content-Type": "application/json"})
        assert_error(r, 413)
        # Chunked: counted as it is read (a route that reads no body answers as before).
        r = client.post(path, content=iter([b"x" * API_BODY_LIMIT, b"y"]),
                        headers={"Content-Type": "application/json"})
        assert_error(r, 413 if path.endswith("/notes") else 405)


def test_a_body_at_the_limit_is_read(server):
    with server.client() as client:
        incident = create(client)
        text = "n" * 20_000
        body = json.dumps({"text": text}).encode()
        r = client.post(f"{API}/incidents/{incident['id']}/notes",
                        content=iter([body[:10], body[10:]]),
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 201, r.text
        # Over the title's length but under the body limit: the schema's 422, as before.
        r = client.post(f"{API}/incidents", json=incident_body(title="t" * 500_000))
        assert_error(r, 422, "title")


# -- no token: 401 before the body is read ------------------------------------------------


@pytest.mark.parametrize("token", [None, "itui_not-a-real-token"])
def test_without_a_valid_token_a_chunked_body_is_not_read(server, token):
    result = raw_post(server.base_url, f"{API}/incidents", huge_json(), token=token,
                      length=None)
    assert_refused_early(result, 401)


@pytest.mark.parametrize("token", [None, "itui_not-a-real-token"])
def test_without_a_valid_token_a_body_under_the_limit_is_not_read(server, token):
    # The body is declared but never sent: the 401 must come without waiting for it.
    size = API_BODY_LIMIT - 1
    result = raw_post(server.base_url, f"{API}/incidents", iter([b"{"]), token=token,
                      length=size)
    code, body, _sent, _finished = result
    assert code == 401, body
    assert body["detail"].startswith(("Authentication required", "The token is not valid"))


def test_without_a_token_a_declared_50_mb_body_is_not_read(server):
    result = raw_post(server.base_url, f"{API}/incidents", huge_json(), token=None,
                      length=HUGE + 1000)
    assert_refused_early(result, 413)


# -- the server as operators run it: its memory stays flat --------------------------------


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def cli_server(db_url):
    url = db_url("sqlite")
    tokens = seed(url)
    running = CliServer(url).start()
    try:
        yield running, tokens
    finally:
        running.cleanup()


@pytest.mark.parametrize("with_token,length", [(True, None), (True, HUGE + 1000),
                                               (False, None), (False, HUGE + 1000)])
def test_50_mb_bodies_do_not_grow_the_server(cli_server, with_token, length):
    running, tokens = cli_server
    assert running.proc is not None
    with httpx.Client(base_url=running.base_url, timeout=30) as client:  # warm up
        client.get(f"{API}/me", headers={"Authorization": f"Bearer {tokens['responder']}"})
    before = _rss_kib(running.proc.pid)
    for _ in range(3):
        result = raw_post(running.base_url, f"{API}/incidents", huge_json(),
                          token=tokens["responder"] if with_token else None, length=length)
        expected = 413 if with_token or length is not None else 401
        assert_refused_early(result, expected)
    grown = _rss_kib(running.proc.pid) - before
    assert grown < 10 * 1024, f"the server's RSS grew by {grown} KiB"


def test_the_refusals_are_counted_and_the_server_keeps_serving(server):
    with server.client() as client:
        r = client.post(f"{API}/incidents", content=b"x" * (API_BODY_LIMIT + 1),
                        headers={"Content-Type": "application/json"})
        assert_error(r, 413)
        assert create(client, id=str(uuid.uuid4()))["ref"].startswith("INC-")


def test_the_alert_routes_keep_their_own_limit_and_answers(server):
    with server.client(None) as anon:
        r = anon.post(f"{API}/events", content=b"x" * (2 * MB),
                      headers={"Content-Type": "application/json"})
        assert r.status_code == 413
        assert r.json()["status"] == "invalid event"  # PagerDuty's shape, as before
        r = anon.post(f"{API}/integrations/alertmanager", content=b"x" * (2 * MB),
                      headers={"Content-Type": "application/json",
                               "Authorization": "Bearer some-key"})
        assert_error(r, 413, contains="524288")
        r = anon.post(f"{API}/integrations/alertmanager", content=b"x" * (2 * MB),
                      headers={"Content-Type": "application/json"})
        assert_error(r, 401)  # no key: answered before the body


def test_the_alertmanager_webhook_without_a_key_answers_before_the_body_is_read(server):
    # Its key travels in the Authorization header, so a request without one is answered
    # first; the Events v2 route carries its key in the body and must read it (512 KiB at
    # most, tests/alerts).
    from incidenttui.api.paths import ALERTMANAGER

    result = raw_post(server.base_url, ALERTMANAGER, huge_json(), token=None, length=None)
    assert_refused_early(result, 401)
