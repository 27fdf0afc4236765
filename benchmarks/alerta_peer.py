"""The peer for alert intake: Alerta 9.1.0, what a team would otherwise install (issue 20).

:mod:`benchmarks.alerts_throughput` loads it with the same ``wrk`` in the same run as ours;
this module installs it, configures it, serves it and checks what it stored.

What runs
    ``alerta-server`` 9.1.0 from PyPI with ``gunicorn`` and ``psycopg2-binary`` (the driver its
    PostgreSQL backend imports), in a venv of its own under the benchmark cache dir
    (``<cache-dir>/alerta-9.1.0-venv``), created once and reused: the product's dependencies
    stay clean, and a run without network reuses the venv an earlier run made. It is served as
    MEASURING.md describes, ``gunicorn -w 2 "alerta.app:create_app()"`` (sync workers, the
    default), with a config file (``ALERTA_SVR_CONF_FILE``) giving ``DATABASE_URL`` — a database
    of its own in the same private PostgreSQL cluster as ours — ``AUTH_REQUIRED = False``,
    ``PLUGINS = []`` and ``DEBUG = False`` (Alerta's ``get_config`` turns DEBUG on unless told).
    Without plugins Alerta does the least it can per alert; its default plugins (reject,
    blackout, heartbeat, forwarder) would only add work, so this is the peer at its fastest.

Starting it
    Every gunicorn worker builds the app and runs Alerta's ``schema.sql``; two workers doing
    that at once on an empty database race (one of them fails creating the ``history`` type).
    So each database is first served by one worker until it answers ``GET /_``, that server is
    stopped, and then the two-worker server is started on the schema it left.

What it is asked
    ``POST /alert`` with ``{"resource": "res-N", "event": "HighLatency", "environment":
    "Production", "service": ["checkout"], "severity": "major", "text": …}``, N picked at
    random per request from 100 resources, as our benchmark picks one of 100 ``dedup_key``
    values. Alerta de-duplicates on environment, resource, event (and customer): a repeat
    raises the stored alert's ``duplicate_count``. :func:`check` reads its ``alerts`` table
    afterwards: one alert per resource, and the occurrences (duplicate_count + 1 each) add up
    to the accepted requests.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import free_port, stop_process

ALERTA_VERSION = "9.1.0"
REQUIREMENTS = (f"alerta-server=={ALERTA_VERSION}", "gunicorn", "psycopg2-binary")
DISTRIBUTIONS = ("alerta-server", "gunicorn", "psycopg2-binary", "Flask", "Werkzeug")
WORKERS = 2
RESOURCES = 100

LUA = r"""
-- Alerta alerts; the resource is one of RESOURCES, so after the first ones every alert is a
-- duplicate that raises a count (the same idea as our 100 dedup keys).
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(os.time() + tid * 7919)
end
request = function()
  local resource = "res-" .. math.random(RESOURCES)
  local body = '{"resource":"' .. resource .. '","event":"HighLatency",' ..
    '"environment":"Production","service":["checkout"],"severity":"major",' ..
    '"text":"Checkout latency above 1 s on ' .. resource .. '"}'
  return wrk.format("POST", "/alert", {["Content-Type"] = "application/json"}, body)
end
"""


class AlertaUnavailable(RuntimeError):
    """Alerta could not be installed or started here; the message says why."""


# -- its venv -------------------------------------------------------------------------------


def venv_dir(cache_dir: Path) -> Path:
    return cache_dir / f"alerta-{ALERTA_VERSION}-venv"


def ensure_venv(cache_dir: Path) -> dict[str, str]:
    """Create Alerta's venv under ``cache_dir`` unless an earlier run finished one; return the
    installed versions. The stamp file is written last, so a failed or interrupted install is
    redone next time. Raises :class:`AlertaUnavailable` when pip cannot install it."""
    venv = venv_dir(cache_dir)
    stamp = venv / "installed.json"
    if stamp.exists() and (venv / "bin" / "gunicorn").exists():
        return dict(json.loads(stamp.read_text()))
    print(f"installing {', '.join(REQUIREMENTS)} into {venv} (once)", file=sys.stderr)
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    steps = [[sys.executable, "-m", "venv", str(venv)],
             [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
              "--disable-pip-version-check", *REQUIREMENTS]]
    for step in steps:
        try:
            proc = subprocess.run(step, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AlertaUnavailable(f"{' '.join(step[:4])}: {exc}") from exc
        if proc.returncode != 0:
            errors = [line for line in proc.stderr.splitlines()
                      if line.strip() and "is ignored" not in line]
            raise AlertaUnavailable(f"`{' '.join(step[2:])}` failed ({proc.returncode}): "
                                    + " / ".join(errors[-3:])[:400])
    probe = ("import json, importlib.metadata as m, alerta.app, psycopg2, gunicorn; "
             f"print(json.dumps({{d: m.version(d) for d in {list(DISTRIBUTIONS)!r}}}))")
    proc = subprocess.run([str(venv / "bin" / "python"), "-c", probe], capture_output=True,
                          text=True, timeout=120)
    if proc.returncode != 0:
        raise AlertaUnavailable(f"Alerta installed but does not import: {proc.stderr[-300:]}")
    versions = dict(json.loads(proc.stdout.strip().splitlines()[-1]))
    stamp.write_text(json.dumps(versions, indent=1))
    return versions


# -- serving it -----------------------------------------------------------------------------


@dataclass
class AlertaServer:
    url: str
    pid: int  # gunicorn's master; its workers share its process group


def libpq_url(sqlalchemy_url: str) -> str:
    """``postgresql+psycopg://…`` → ``postgresql://…`` (what psycopg2 and Alerta take)."""
    return "postgresql://" + sqlalchemy_url.partition("://")[2]


def write_config(path: Path, db_url: str) -> Path:
    path.write_text(
        "# Alerta server settings for the incidenttui alert-intake benchmark.\n"
        f"DATABASE_URL = {libpq_url(db_url)!r}\n"
        "AUTH_REQUIRED = False\n"
        "PLUGINS = []\n"
        "DEBUG = False\n"
        "LOG_LEVEL = 'WARNING'\n"
        "SECRET_KEY = 'incidenttui-bench'\n")
    return path


def _wait_answers(port: int, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AlertaUnavailable(f"gunicorn exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/_", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise AlertaUnavailable(f"Alerta did not answer GET /_ within {timeout:.0f} s")


@contextlib.contextmanager
def _gunicorn(cache_dir: Path, conf: Path, workers: int, log: Path,
              prefix: list[str]) -> Iterator[AlertaServer]:
    port = free_port()
    venv = venv_dir(cache_dir)
    # A clean environment: Alerta reads DEBUG, DATABASE_URL, PLUGINS… from the environment
    # before its config file, so nothing of ours may leak in.
    env = {"PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
           "HOME": str(conf.parent), "LANG": "C.UTF-8", "ALERTA_SVR_CONF_FILE": str(conf)}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [*prefix, str(venv / "bin" / "gunicorn"), "-w", str(workers), "-b",
             f"127.0.0.1:{port}", "--log-level", "warning", "alerta.app:create_app()"],
            stdout=out, stderr=subprocess.STDOUT, cwd=conf.parent, env=env,
            start_new_session=True)
        try:
            try:
                _wait_answers(port, proc)
            except AlertaUnavailable as exc:
                out.flush()
                tail = log.read_text(errors="replace").strip().splitlines()[-3:]
                raise AlertaUnavailable(f"{exc} ({workers} worker(s)); its log ends: "
                                        + " / ".join(tail)[-400:]) from exc
            yield AlertaServer(f"http://127.0.0.1:{port}", proc.pid)
        finally:
            stop_process(proc, timeout=20)


@contextlib.contextmanager
def serve(cache_dir: Path, db_url: str, workdir: Path, log: Path,
          prefix: list[str] | None = None) -> Iterator[AlertaServer]:
    """Alerta with :data:`WORKERS` gunicorn workers on the (empty) database ``db_url``: one
    worker first, to create the schema alone, then the two-worker server."""
    workdir.mkdir(parents=True, exist_ok=True)
    conf = write_config(workdir / "alertad.conf", db_url)
    with _gunicorn(cache_dir, conf, 1, log, prefix or []):
        pass
    with _gunicorn(cache_dir, conf, WORKERS, log, prefix or []) as server:
        yield server


def script(tmp: Path) -> Path:
    path = tmp / "alerta-alerts.lua"
    path.write_text(f"local RESOURCES = {RESOURCES}\n" + LUA)
    return path


# -- what it stored -------------------------------------------------------------------------


@dataclass
class Stored:
    alerts: int  # rows in its alerts table
    resources: int  # distinct resources among them
    occurrences: int  # alerts received, counting duplicates (duplicate_count + 1 each)

    @property
    def deduplicated(self) -> bool:
        return self.alerts == self.resources and 0 < self.alerts <= RESOURCES


def check(db_url: str) -> Stored:
    """What Alerta keeps in its database after a run (read with our psycopg)."""
    import psycopg

    with psycopg.connect(libpq_url(db_url), connect_timeout=10) as conn:
        row = conn.execute("SELECT count(*), count(DISTINCT resource), "
                           "coalesce(sum(duplicate_count + 1), 0) FROM alerts").fetchone()
    assert row is not None
    return Stored(int(row[0]), int(row[1]), int(row[2]))
