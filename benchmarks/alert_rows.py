"""Alert ingestion rows, from the alerts benchmark another module owns (``benchmarks/alerts_*.py``).

This runner does not measure alert intake itself: it finds that module and calls its entry
point (with the run's ``--cache-dir`` when it takes one: the Alerta peer's venv lives there),
and turns what it returns into table rows. Accepted shapes: a list of :class:`Row`,
or dicts with the Row's fields (``figure``, ``value``, ``baseline``, ``ratio``, ``target``,
``status``, optional ``note``). Without such a module the alert row reads "not available".
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

from benchmarks.common import Context, Row, not_available

TARGET = "≥1,000 events/s (aim ≥10× Alerta)"
ENTRY_POINTS = ("run", "main", "benchmark", "run_benchmark", "bench")


def find_module() -> Any:
    here = Path(__file__).resolve().parent
    for path in sorted(here.glob("alerts_*.py")):
        module = importlib.import_module(f"benchmarks.{path.stem}")
        for name in ENTRY_POINTS:
            if callable(getattr(module, name, None)):
                return module, getattr(module, name)
    return None, None


def _rows(result: Any) -> list[Row]:
    items = result if isinstance(result, list | tuple) else [result]
    rows = []
    for item in items:
        if isinstance(item, Row):
            rows.append(item)
        elif isinstance(item, dict) and "figure" in item:
            fields = {k: item.get(k) for k in ("figure", "value", "baseline", "ratio",
                                               "target", "status", "note")}
            rows.append(Row(str(fields["figure"]), str(fields["value"] or "-"),
                            str(fields["baseline"] or "-"),
                            float(fields["ratio"]) if fields["ratio"] is not None else None,
                            str(fields["target"] or "-"), str(fields["status"] or "info"),
                            note=str(fields["note"] or ""), raw=item))
        else:
            rows.append(Row("Alert ingestion", str(item), "-", None, TARGET, "info"))
    return rows


def run(ctx: Context) -> list[Row]:
    module, entry = find_module()
    if entry is None:
        return [not_available("Alert ingestion, events/s with dedup (SQLite, PostgreSQL)",
                              TARGET, "no benchmarks/alerts_*.py with an entry point yet")]
    params = inspect.signature(entry).parameters
    if "quick" in params:
        extra = {"cache_dir": ctx.cache_dir} if "cache_dir" in params else {}
        result = entry(quick=ctx.quick, **extra)
    elif len(params) >= 1:
        result = entry(ctx)
    else:
        result = entry()
    ctx.log(f"alerts: {module.__name__}.{entry.__name__} answered")
    return _rows(result)
