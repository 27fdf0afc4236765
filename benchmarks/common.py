"""What every benchmark shares: the result row, statistics, probes run as child processes, a
real pseudo-terminal, and the facts about the machine a run was made on.

The machines are shared and noisy, so every figure is reported next to a baseline measured in
the same run, and every timing is the median of several repetitions.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import signal
import socket
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


# -- results -----------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: our figure next to its baseline, the target and the verdict.

    ``ratio`` is always value / baseline, so below 1 means "less than the baseline" (faster,
    smaller); ``target`` says which way is good. ``status`` is pass, miss, info (no target) or
    n/a (not measured in this run, with ``note`` saying why).
    """

    figure: str
    value: str
    baseline: str
    ratio: float | None
    target: str
    status: str
    note: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio_text(self) -> str:
        if self.ratio is None:
            return "-"
        if self.ratio >= 100:
            return f"{self.ratio:.0f}×"
        if self.ratio >= 0.1:
            return f"{self.ratio:.2f}×"
        return f"{self.ratio:.4f}×"


def verdict(ok: bool | None) -> str:
    return "info" if ok is None else ("pass" if ok else "miss")


def not_available(figure: str, target: str, why: str) -> Row:
    return Row(figure, "-", "-", None, target, "n/a", note=why)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 50 samples is the largest but none)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(round(pct / 100 * len(ordered) + 0.4999))))
    return float(ordered[rank - 1])


def secs(value: float) -> str:
    if value >= 10:
        return f"{value:.1f} s"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 0.01:
        return f"{value * 1000:.0f} ms"
    return f"{value * 1000:.1f} ms"


def size(value: float) -> str:
    return f"{value:.0f} B"


def mib(value_kib: float) -> str:
    return f"{value_kib / 1024:.0f} MiB"


def rate(value: float, unit: str = "req/s") -> str:
    return f"{value:,.0f} {unit}"


def ratio(value: float, baseline: float) -> float | None:
    return value / baseline if baseline else None


# -- the run's context ------------------------------------------------------------------------


@dataclass
class Context:
    quick: bool
    cache_dir: Path
    work_dir: Path
    log_file: Path | None = None

    def reps(self, quick: int, full: int) -> int:
        return quick if self.quick else full

    def log(self, message: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {message}"
        print(line, file=sys.stderr, flush=True)
        if self.log_file is not None:
            with self.log_file.open("a") as fh:
                fh.write(line + "\n")

    def store(self, n: int) -> Path:
        from benchmarks.data import cached_store

        started = time.perf_counter()
        path = cached_store(self.cache_dir, n)
        took = time.perf_counter() - started
        if took > 1:
            self.log(f"built the {n:,}-incident store in {took:.1f} s ({path})")
        return path


def bench_env(**extra: str) -> dict[str, str]:
    """The environment for child processes: this checkout first on the path, no user config."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "src"),
                                         env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("TEXTUAL", None)  # no devtools
    env.pop("NO_COLOR", None)
    env.update(extra)
    return env


def run_probe(module: str, args: Iterable[str], *, timeout: float = 600,
              env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``python -m benchmarks.<module> args`` in a fresh process; its last stdout line is
    JSON. A fresh process per probe keeps one measurement's memory and caches out of the
    next.

    The probe's stdin is an 80x24 pseudo-terminal, as for an app run by a user: Rich asks the
    terminal for its size while measuring, and without a terminal every ask fails slowly
    (three failing ioctls and exceptions per measured cell), which would make the stock
    DataTable look several times slower than it is.
    """
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    try:
        proc = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", *args],
                              stdin=slave, capture_output=True, text=True, timeout=timeout,
                              env=env or bench_env(), cwd=ROOT)
    finally:
        os.close(slave)
        os.close(master)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"probe {module} {' '.join(args)} failed ({proc.returncode}):\n"
                           f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return json.loads(lines[-1])


def emit(result: dict[str, Any]) -> None:
    """A probe's answer: one JSON line on stdout."""
    print(json.dumps(result), flush=True)


def rss_kib(pid: int | str = "self") -> int:
    """Resident set size (VmRSS) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout:.0f} s")


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop a child we started (its own process group), politely first."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)


# -- a real terminal --------------------------------------------------------------------------


class PtySession:
    """A program on a real pseudo-terminal of ``cols`` × ``rows``; everything it writes is
    read by a thread and kept with the time it arrived (``time.monotonic``)."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], cols: int = 80,
                 rows: int = 24) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.started = time.monotonic()
        self.proc = subprocess.Popen(list(argv), stdin=slave, stdout=slave, stderr=slave,
                                     env=env, cwd=ROOT, start_new_session=True,
                                     preexec_fn=_controlling_tty(slave))
        os.close(slave)
        self.fd = master
        self.chunks: list[tuple[float, int]] = []
        self.data = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self.chunks.append((time.monotonic(), len(chunk)))
                self.data += chunk
                # Answer the terminal queries a real terminal answers, so the app never
                # waits on them (cursor position report).
                if b"\x1b[6n" in chunk:
                    os.write(self.fd, b"\x1b[1;1R")

    def send(self, data: bytes) -> float:
        sent = time.monotonic()
        os.write(self.fd, data)
        return sent

    def bytes_between(self, start: float, end: float) -> int:
        with self._lock:
            return sum(n for t, n in self.chunks if start <= t < end)

    def last_output(self) -> float:
        with self._lock:
            return self.chunks[-1][0] if self.chunks else self.started

    def wait_quiet(self, quiet: float, timeout: float, at_least: int = 1) -> bool:
        """Wait until ``at_least`` bytes have arrived in all and then nothing for ``quiet``
        seconds (the screen has settled)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if len(self.data) >= at_least and time.monotonic() - self.last_output() >= quiet:
                return True
            time.sleep(0.01)
        return False

    def close(self) -> None:
        stop_process(self.proc, timeout=5)
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self._reader.join(2)


def _controlling_tty(fd: int) -> Callable[[], None]:
    def make() -> None:  # runs in the child after setsid: make the pty its terminal
        fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
    return make


# -- the machine ------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model, OS, Python and the versions that shape the figures."""
    from importlib.metadata import PackageNotFoundError, version

    info: dict[str, Any] = {"cores": os.cpu_count(), "python": platform.python_version(),
                            "platform": platform.platform(), "date": time.strftime("%Y-%m-%d")}
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError):
        info["load_before"] = Path("/proc/loadavg").read_text().split()[:3]
    packages = {}
    for name in ("textual", "rich", "sqlmodel", "sqlalchemy", "pydantic", "httpx", "fastapi",
                 "starlette", "uvicorn", "psycopg"):
        with contextlib.suppress(PackageNotFoundError):
            packages[name] = version(name)
    info["packages"] = packages
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        info["sqlite"] = __import__("sqlite3").sqlite_version
        info["wrk"] = subprocess.run(["wrk", "--version"], capture_output=True, text=True,
                                     timeout=5).stdout.splitlines()[0].strip()
    with contextlib.suppress(OSError, subprocess.SubprocessError, IndexError):
        pg = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
        info["postgresql"] = subprocess.run([str(pg[-1]), "--version"], capture_output=True,
                                            text=True, timeout=5).stdout.strip()
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=ROOT, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True, cwd=ROOT, timeout=5).stdout
        info["commit"] = head + (" (src/ has uncommitted changes: "
                                 + ", ".join(line[3:] for line in dirty.splitlines()) + ")"
                                 if dirty.strip() else "")
    return info


def head_commit() -> str:
    """The checkout's HEAD, with a ``+`` when src/ has uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=ROOT, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True, cwd=ROOT, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return "?"
    return head + ("+" if dirty.strip() else "")


def json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value).__name__)
