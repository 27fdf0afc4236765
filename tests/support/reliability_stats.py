"""Figures the reliability tests collect, for the terminal summary and the closing note.

One process-wide :data:`FIGURES` object; ``tests/reliability/conftest.py`` prints it at the
end of the session and writes it as JSON (``RELIABILITY_REPORT``, default
``$TMPDIR/incidenttui-reliability.json``).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Figures:
    counters: Counter[str] = field(default_factory=Counter)
    sections: dict[str, Counter[str]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, section: str, values: dict[str, int] | Counter[str]) -> None:
        with self._lock:
            target = self.sections.setdefault(section, Counter())
            for key, value in values.items():
                target[key] += int(value)

    def bump(self, name: str, by: int = 1) -> None:
        with self._lock:
            self.counters[name] += by

    def time(self, name: str, seconds: float) -> None:
        with self._lock:
            self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def note(self, name: str, value: Any) -> None:
        with self._lock:
            self.notes[name] = value

    @property
    def empty(self) -> bool:
        return not (self.counters or self.sections or self.seconds)

    def as_dict(self) -> dict[str, Any]:
        return {"counters": dict(self.counters),
                "sections": {k: dict(sorted(v.items())) for k, v in self.sections.items()},
                "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
                "notes": self.notes}

    def lines(self) -> list[str]:
        out: list[str] = []
        for key, value in sorted(self.notes.items()):
            out.append(f"{key}: {value}")
        if self.counters:
            out.append("totals: " + ", ".join(f"{k}={v}" for k, v in sorted(
                self.counters.items())))
        for section, values in sorted(self.sections.items()):
            items = ", ".join(f"{k}={v}" for k, v in sorted(values.items()) if v)
            out.append(f"{section}: {items or '-'}")
        if self.seconds:
            out.append("time (s): " + ", ".join(f"{k}={v:.1f}" for k, v in sorted(
                self.seconds.items())))
        return out

    def merge(self, data: dict[str, Any]) -> None:
        """Add the figures of another process (:meth:`as_dict`)."""
        with self._lock:
            self.counters.update(data.get("counters", {}))
            for section, values in data.get("sections", {}).items():
                self.sections.setdefault(section, Counter()).update(values)
            for name, seconds in data.get("seconds", {}).items():
                self.seconds[name] = self.seconds.get(name, 0.0) + seconds
            for name, value in data.get("notes", {}).items():
                mine = self.notes.get(name)
                if mine is None or mine == value:
                    self.notes[name] = value
                elif isinstance(value, list | tuple) and isinstance(mine, list | tuple):
                    self.notes[name] = max(mine, value)  # e.g. the slowest (seconds, seed)
                else:
                    self.notes[name] = f"{mine} | {value}"

    def write(self, path: Path | None = None) -> Path:
        path = path or report_path()
        path.write_text(json.dumps(self.as_dict(), indent=2, sort_keys=True))
        return path


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def report_path() -> Path:
    configured = os.environ.get("RELIABILITY_REPORT")
    if configured:
        return Path(configured)
    return Path(tempfile.gettempdir()) / "incidenttui-reliability.json"


def worker_report_path() -> Path:
    """This process's report: one per pytest-xdist worker, the plain one otherwise."""
    path = report_path()
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return path.with_name(f"{path.stem}-{worker}{path.suffix}") if worker else path


FIGURES = Figures()
