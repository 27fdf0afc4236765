"""Helpers for the alert-ingestion tests: integrations, PagerDuty's documented examples, a real
Prometheus Alertmanager on loopback, and polling."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

API = "/api/v1"
T = TypeVar("T")

# -- PagerDuty's documented Events API v2 examples ----------------------------------------
# From PagerDuty's "Send an Alert Event" documentation (Events API v2): the trigger example,
# the acknowledge and resolve examples, and the documented 202 and 400 answers. Only
# routing_key is replaced by a key of ours (theirs is a placeholder, "samplekeyhere").

PD_TRIGGER_EXAMPLE: dict[str, Any] = {
    "payload": {
        "summary": "Example alert on host1.example.com",
        "timestamp": "2015-07-17T08:42:58.315+0000",
        "source": "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/"
                  "api-stats-prod-003",
        "severity": "info",
        "component": "postgres",
        "group": "prod-datapipe",
        "class": "deploy",
        "custom_details": {"ping time": "1500ms", "load avg": 0.75},
    },
    "routing_key": "samplekeyhere",
    "dedup_key": "samplekeyhere",
    "images": [{
        "src": "https://www.pagerduty.com/wp-content/uploads/2016/05/pagerduty-logo-green.png",
        "href": "https://example.com/",
        "alt": "Example text",
    }],
    "links": [{"href": "https://example.com/", "text": "Link text"}],
    "event_action": "trigger",
    "client": "Sample Monitoring Service",
    "client_url": "https://monitoring.example.com",
}
PD_ACKNOWLEDGE_EXAMPLE: dict[str, Any] = {
    "routing_key": "samplekeyhere", "dedup_key": "samplekeyhere", "event_action": "acknowledge"}
PD_RESOLVE_EXAMPLE: dict[str, Any] = {
    "routing_key": "samplekeyhere", "dedup_key": "samplekeyhere", "event_action": "resolve"}
PD_MINIMAL_TRIGGER: dict[str, Any] = {
    "routing_key": "samplekeyhere", "event_action": "trigger",
    "payload": {"summary": "Example alert on host1.example.com",
                "source": "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/"
                          "api-stats-prod-003",
                "severity": "critical"}}
PD_ACCEPTED = {"status": "success", "message": "Event processed", "dedup_key": "samplekeyhere"}
PD_INVALID_ROUTING_KEY = {"status": "invalid event", "message": "Event object is invalid",
                          "errors": ["Length of 'routing_key' is incorrect "
                                     "(should be 32 characters)"]}


def pd_event(example: dict[str, Any], key: str, **changes: Any) -> dict[str, Any]:
    """A copy of a documented example with our routing key; ``changes`` set top-level
    fields, ``payload__x`` payload fields (``...`` removes one)."""
    event = copy.deepcopy(example)
    event["routing_key"] = key
    for name, value in changes.items():
        target, field_name = (event.setdefault("payload", {}), name[9:]) \
            if name.startswith("payload__") else (event, name)
        if value is ...:
            target.pop(field_name, None)
        else:
            target[field_name] = value
    return event


# -- the server -----------------------------------------------------------------------------


_CLIENTS: dict[tuple[str, str | None], httpx.Client] = {}


def client(server: Any, role: str | None = "viewer") -> httpx.Client:
    """A kept-alive client on ``server`` as ``role`` (None: no token). Made once per server
    and role: a new httpx client builds a TLS context, about 0.1 s, even for plain HTTP."""
    found = _CLIENTS.get((server.base_url, role))
    if found is None:
        found = _CLIENTS[(server.base_url, role)] = httpx.Client(
            base_url=server.base_url, headers=server.headers(role), timeout=30, verify=False)
    return found


def create_integration(server: Any, kind: str, service: str = "checkout",
                       **options: Any) -> dict[str, Any]:
    """A new integration made through the admin API; the answer includes ``key``."""
    response = client(server, "admin").post(f"{API}/integrations",
                                            json={"service": service, "kind": kind, **options})
    assert response.status_code == 201, response.text
    return response.json()


def incidents_of(server: Any, service: str, role: str = "viewer") -> list[dict[str, Any]]:
    """The service's incidents that ``role`` can see, oldest first (a viewer does not see
    restricted ones: security incidents)."""
    response = client(server, role).get(f"{API}/incidents", params={"service": service,
                                                               "limit": 500})
    assert response.status_code == 200, response.text
    return sorted(response.json()["items"], key=lambda i: i["number"])


def feed_end(server: Any) -> int:
    """The change feed's last sequence number, read from the server's database."""
    from incidenttui.server.changes import latest_seq

    with server.database.read() as session:
        return latest_seq(session)


def feed_end_cursor(server: Any) -> str:
    """A cursor token at the change feed's end (white-box: made with the server's key)."""
    from incidenttui.server.cursors import load_codec

    return load_codec(server.database).encode(feed_end(server))


def timeline(server: Any, incident_id: str) -> list[dict[str, Any]]:
    response = client(server).get(f"{API}/incidents/{incident_id}/timeline")
    assert response.status_code == 200, response.text
    return response.json()


def alert_events(server: Any, incident_id: str) -> list[dict[str, Any]]:
    return [e for e in timeline(server, incident_id) if e["kind"] == "alert"
            and "key" in e["data"]]


def wait_for(check: Callable[[], T | None], timeout: float = 15.0, what: str = "condition"
             ) -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- a real Prometheus Alertmanager --------------------------------------------------------

ALERTMANAGER_BIN = os.environ.get("INCIDENTTUI_ALERTMANAGER", "/usr/bin/prometheus-alertmanager")


def find_alertmanager() -> str | None:
    if os.path.exists(ALERTMANAGER_BIN):
        return ALERTMANAGER_BIN
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


#: Short timers so a notification follows a posted alert within a fraction of a second.
#: ``repeat_interval`` is short too: unchanged alerts are sent again (repeats) every 0.3 s.
CONFIG = """\
global:
  resolve_timeout: {resolve_timeout}
route:
  receiver: auto
  group_by: ['alertname']
  group_wait: 50ms
  group_interval: 100ms
  repeat_interval: 300ms
  routes:
    - receiver: manual
      matchers: ['rule="manual"']
{routes}receivers:
{receivers}{pagerduty}"""
PAGERDUTY_ROUTE = """\
    - receiver: pagerduty
      matchers: ['via="pagerduty"']
"""
#: Alertmanager's own PagerDuty notifier, pointed at our Events API v2 endpoint.
PAGERDUTY_RECEIVER = """\
  - name: pagerduty
    pagerduty_configs:
      - routing_key: {key}
        url: {url}
        send_resolved: true
"""
RECEIVER = """\
  - name: {name}
    webhook_configs:
      - url: {url}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {key}
"""


@dataclass
class Alertmanager:
    """A running ``prometheus-alertmanager`` with a webhook receiver per integration."""

    url: str
    proc: subprocess.Popen[bytes]
    workdir: Path

    def post(self, alerts: list[dict[str, Any]]) -> None:
        """``POST /api/v2/alerts``, as Prometheus does."""
        response = httpx.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=10)
        assert response.status_code == 200, response.text

    def alerts(self) -> list[dict[str, Any]]:
        return httpx.get(f"{self.url}/api/v2/alerts", timeout=10).json()

    def log(self) -> str:
        path = self.workdir / "alertmanager.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_alertmanager(binary: str, receivers: dict[str, tuple[str, str]],
                       pagerduty: tuple[str, str] | None = None,
                       resolve_timeout: str = "1s") -> Alertmanager:
    """Start Alertmanager on a free loopback port; ``receivers`` maps a webhook receiver name
    (``auto``, ``manual``) to (webhook URL, bearer key); ``pagerduty`` is (Events API URL,
    routing key) for alerts labelled ``via="pagerduty"``."""
    from pgcluster import free_port  # tests/support, on sys.path via tests/conftest.py

    workdir = Path(tempfile.mkdtemp(prefix="itui-am-"))
    config = CONFIG.format(
        resolve_timeout=resolve_timeout,
        receivers="".join(RECEIVER.format(name=name, url=url, key=key)
                          for name, (url, key) in receivers.items()),
        routes=PAGERDUTY_ROUTE if pagerduty else "",
        pagerduty=PAGERDUTY_RECEIVER.format(url=pagerduty[0], key=pagerduty[1])
        if pagerduty else "")
    (workdir / "alertmanager.yml").write_text(config)
    last = ""
    for _attempt in range(5):  # the probed port may be taken before Alertmanager binds it
        port = free_port()
        with open(workdir / "alertmanager.log", "wb") as log:
            proc = subprocess.Popen(
                [binary, f"--config.file={workdir / 'alertmanager.yml'}",
                 f"--storage.path={workdir / 'data'}",
                 f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
                 "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        am = Alertmanager(f"http://127.0.0.1:{port}", proc, workdir)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{am.url}/-/ready", timeout=1).status_code == 200:
                    return am
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        last = am.log()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    shutil.rmtree(workdir, ignore_errors=True)
    raise RuntimeError(f"Alertmanager did not start:\n{last}")
