"""Hostile servers for the sync tests: small real HTTP(S) servers on loopback that misbehave.

:class:`HostileServer` answers every request with one *behaviour* (a function of the request
handler): malformed JSON, wrong types, huge bodies, 5xx, a slow drip, or a TLS certificate the
client must not trust. It records every request so a test can count the client's attempts.

Also here, because the store and sync tests both need them: :func:`incident_snapshot` (an
incident as the API and the change feed carry it) and :func:`change_page`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Behaviour = Callable[["HostileHandler"], None]

# -- API-shaped data --------------------------------------------------------------------------


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def incident_snapshot(**overrides: Any) -> dict[str, Any]:
    """A new P5 incident as ``IncidentOut`` serialises it; ``overrides`` replace fields."""
    now = iso(dt.datetime.now(dt.UTC))
    number = overrides.get("number", 1001)
    data: dict[str, Any] = {
        "id": str(uuid.uuid4()), "number": number, "ref": f"INC-{number}",
        "title": "Checkout returns 502", "description": "", "service": "checkout",
        "category": "availability", "impact": 3, "urgency": 3, "priority": 5, "status": "new",
        "team": "service-desk", "assignee": None, "escalation_level": 1,
        "management_engaged": False, "major": False, "reporter": "rita", "created_at": now,
        "updated_at": now, "detected_at": now, "started_at": None, "acknowledged_at": None,
        "resolved_at": None, "closed_at": None, "on_hold_since": None, "hold_seconds": 0.0,
        "reopen_count": 0, "resolution_code": None, "resolution_note": None, "links": [],
        "version": 1, "field_versions": {},
    }
    data.update(overrides)
    return data


def event_json(incident_id: str, text: str = "", kind: str = "note", **overrides: Any
               ) -> dict[str, Any]:
    data: dict[str, Any] = {"id": str(uuid.uuid4()), "incident_id": incident_id,
                            "at": iso(dt.datetime.now(dt.UTC)), "kind": kind, "actor": "rita",
                            "text": text, "data": {}}
    data.update(overrides)
    return data


def change_page(entities: list[tuple[str, dict[str, Any]]], start: int | str = 0,
                more: bool = False) -> dict[str, Any]:
    """A change-feed page carrying ``(entity, data)`` pairs with seqs after ``start``, as an
    older server sent it (integer seqs and cursor: clients still read that)."""
    start = int(start)
    changes = [{"seq": start + n, "entity": entity, "id": str(data.get("id")), "data": data}
               for n, (entity, data) in enumerate(entities, 1)]
    return {"changes": changes, "cursor": start + len(changes), "more": more}


def me_json(user: str = "rita") -> dict[str, Any]:
    return {"user": {"id": user, "display_name": user, "role": "responder",
                     "team_id": "service-desk", "email": None, "active": True},
            "server_time": iso(dt.datetime.now(dt.UTC))}


def refused_port() -> int:
    """A loopback port with nothing listening (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the server -------------------------------------------------------------------------------


class HostileHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep quiet
        pass

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.owner.requests.append((self.command, self.path, body))
        # The client giving up on us (reset, broken pipe, TLS alert) is the point.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError,
                                 ConnectionAbortedError, ssl.SSLError):
            self.server.owner.behaviour(self)
        self.close_connection = True

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

    # helpers for behaviours
    @property
    def stopping(self) -> threading.Event:
        return self.server.owner.stopping

    def answer(self, status: int, body: bytes, content_type: str = "application/json",
               headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: HostileServer


class HostileServer:
    """A misbehaving server on ``127.0.0.1``; use as a context manager."""

    def __init__(self, behaviour: Behaviour, tls: ssl.SSLContext | None = None) -> None:
        self.behaviour = behaviour
        self.requests: list[tuple[str, str, bytes]] = []
        self.stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), HostileHandler)
        self._server.owner = self
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        scheme = "https" if tls is not None else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name=f"hostile-{self.port}")

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# -- behaviours -------------------------------------------------------------------------------


def send_json(body: Any, status: int = 200) -> Behaviour:
    raw = json.dumps(body).encode()
    return lambda h: h.answer(status, raw)


def send_bytes(raw: bytes, status: int = 200, content_type: str = "application/json"
               ) -> Behaviour:
    return lambda h: h.answer(status, raw, content_type)


def forward_to(base_url: str) -> Behaviour:
    """Relay the request to a real server and its answer back (the link is up again)."""
    import httpx

    def run(h: HostileHandler) -> None:
        method, path, body = h.server.owner.requests[-1]
        headers = {k: v for k, v in h.headers.items()
                   if k.lower() in ("authorization", "content-type", "idempotency-key")}
        with httpx.Client(base_url=base_url, timeout=30) as client:
            answer = client.request(method, path, content=body, headers=headers)
        h.answer(answer.status_code, answer.content,
                 answer.headers.get("content-type", "application/json"))
    return run


def routes(table: dict[str, Behaviour], default: Behaviour) -> Behaviour:
    """Pick a behaviour by path prefix (the longest match wins)."""
    def pick(h: HostileHandler) -> None:
        path = h.path.split("?", 1)[0]
        for prefix in sorted(table, key=len, reverse=True):
            if path.startswith(prefix):
                table[prefix](h)
                return
        default(h)
    return pick


def huge_declared(size: int) -> Behaviour:
    """Declares ``size`` bytes in Content-Length, then sends a trickle and hangs up."""
    def run(h: HostileHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(size))
        h.end_headers()
        h.wfile.write(b'{"changes": [' + b" " * 65536)
        h.wfile.flush()
        h.stopping.wait(2)
    return run


def huge_chunked(total: int, chunk: int = 1 << 20) -> Behaviour:
    """An endless-looking chunked body (no Content-Length) of up to ``total`` bytes."""
    def run(h: HostileHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        piece = b" " * chunk
        frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        h.wfile.write(f"{1:x}\r\n".encode() + b"[\r\n")
        sent = 1
        while sent < total and not h.stopping.is_set():
            h.wfile.write(frame)
            sent += chunk
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()
    return run


def huge_until_close(total: int, chunk: int = 1 << 20) -> Behaviour:
    """HTTP/1.0 style: no Content-Length, no chunking, the body ends when we hang up."""
    def run(h: HostileHandler) -> None:
        h.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
                      b"Connection: close\r\n\r\n[")
        piece, sent = b" " * chunk, 1
        while sent < total and not h.stopping.is_set():
            h.wfile.write(piece)
            sent += chunk
        h.wfile.flush()
    return run


def slow_drip(interval: float = 0.1, in_headers: bool = False) -> Behaviour:
    """Bytes trickling forever (until the client gives up or the server stops)."""
    def run(h: HostileHandler) -> None:
        if in_headers:
            h.wfile.write(b"HTTP/1.1 200 OK\r\n")
            drip = b"X-Drip: a\r\n"
        else:
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(1 << 20))
            h.end_headers()
            drip = b" "
        h.wfile.flush()
        while not h.stopping.is_set():
            h.wfile.write(drip)
            h.wfile.flush()
            time.sleep(interval)
    return run


# -- TLS --------------------------------------------------------------------------------------


def make_cert(directory: Path, *, hostnames: list[str], ca: tuple[Any, Any] | None = None,
              is_ca: bool = False, name: str = "server") -> tuple[Path, Path, Any, Any]:
    """A certificate for ``hostnames`` (self-signed, or signed by ``ca``); returns
    ``(cert_path, key_path, cert, key)``. Needs the ``cryptography`` package."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])])
    issuer_cert, issuer_key = ca if ca is not None else (None, key)
    now = dt.datetime.now(dt.UTC)
    alt: list[x509.GeneralName] = []
    for host in hostnames:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt.append(x509.DNSName(host))
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer_cert.subject if issuer_cert is not None else subject)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True))
    if not is_ca:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    else:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                          content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, encipher_only=False,
                          decipher_only=False), critical=True)
    cert = builder.sign(issuer_key, hashes.SHA256())
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path, cert, key


def server_tls(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context
