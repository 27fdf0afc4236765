"""``python -m benchmarks``: every speed claim next to its baseline, measured in one run.

    python -m benchmarks            # the full run (about 15–25 minutes here)
    python -m benchmarks --quick    # under two minutes once the stores are cached
    python -m benchmarks --only start,queue --json out.json --markdown out.md

Prints one table: figure, value, baseline, ratio (value / baseline), target, result. Progress
and the individual repetitions go to stderr. Stores of synthetic incidents are built once and
cached (``--cache-dir``, default ``$XDG_CACHE_HOME/incidenttui-bench``); they are rebuilt when
the store code changes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import Context, Row, head_commit, json_default, machine, not_available

GROUPS = ("start", "queue", "bytes", "sync", "server", "alerts", "kpis")


def _group(name: str) -> Callable[[Context], list[Row]]:
    from benchmarks import alert_rows, kpis, queue, server_rps, start, sync, terminal_bytes

    return {"start": start.run, "queue": queue.run, "bytes": terminal_bytes.run,
            "sync": sync.run, "server": server_rps.run, "alerts": alert_rows.run,
            "kpis": kpis.run}[name]


def table(rows: list[Row]) -> str:
    """The plain-text table (also valid Markdown)."""
    header = ("figure", "value", "baseline", "ratio", "target", "result")
    cells = [header] + [(r.figure, r.value, r.baseline, r.ratio_text, r.target, r.status)
                        for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c[i].ljust(widths[i]) for i in range(len(header))) + " |"
             for c in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def notes(rows: list[Row]) -> str:
    return "\n".join(f"- {r.figure}: {r.note}" for r in rows if r.note)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, smaller "
                        "pulls, no DataTable at 100k (extrapolated), SQLite only")
    parser.add_argument("--only", default=",".join(GROUPS),
                        help=f"comma-separated groups (default: all of {','.join(GROUPS)})")
    parser.add_argument("--cache-dir", type=Path,
                        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                        / "incidenttui-bench")
    parser.add_argument("--json", type=Path, help="write every row, raw samples and the "
                        "machine to this file")
    parser.add_argument("--markdown", type=Path, help="write the table and notes here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    groups = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = set(groups) - set(GROUPS)
    if unknown:
        parser.error(f"unknown groups: {', '.join(sorted(unknown))}")

    work = Path(tempfile.mkdtemp(prefix="incidenttui-bench-"))
    ctx = Context(quick=args.quick, cache_dir=args.cache_dir, work_dir=work,
                  log_file=work / "bench.log")
    info = machine()
    command = "python -m benchmarks" + (" --quick" if args.quick else "") + \
        ("" if groups == list(GROUPS) else f" --only {','.join(groups)}")
    ctx.log(f"{command}: {info.get('cores')} cores, {info.get('memory')}, Python "
            f"{info.get('python')}, load {info.get('load_before')}; work dir {work}")
    started = time.monotonic()
    rows: list[Row] = []
    timings = {}
    commits = {}
    for name in groups:
        group_started = time.monotonic()
        # Others commit while a long run goes on: note the code each group measured.
        commits[name] = head_commit()
        ctx.log(f"== {name} (at {commits[name]})")
        try:
            rows += _group(name)(ctx)
        except Exception as exc:  # one broken group must not hide the others' figures
            ctx.log(traceback.format_exc())
            rows.append(not_available(f"{name}: failed", "-",
                                      f"{type(exc).__name__}: {str(exc)[:300]}"))
        timings[name] = round(time.monotonic() - group_started, 1)
    elapsed = time.monotonic() - started
    with open("/proc/loadavg") as fh:
        info["load_after"] = fh.read().split()[:3]
    info["elapsed_s"] = round(elapsed, 1)
    commit_after = machine().get("commit")
    if commit_after != info.get("commit"):  # others may commit while a long run goes on
        info["commit_after"] = commit_after
        ctx.log(f"the code changed during the run: {info.get('commit')} → {commit_after}")
    info["group_seconds"] = timings
    info["group_commits"] = commits
    info["command"] = command

    text = table(rows)
    print(text)
    if notes(rows):
        print("\nNotes:\n" + notes(rows))
    print(f"\n{command}: {elapsed:.0f} s; {len([r for r in rows if r.status == 'miss'])} "
          f"missed, {len([r for r in rows if r.status == 'pass'])} passed")
    if args.json:
        args.json.write_text(json.dumps(
            {"machine": info, "rows": [r.__dict__ for r in rows]}, indent=1,
            default=json_default))
    if args.markdown:
        args.markdown.write_text(text + "\n\n" + notes(rows) + "\n")
    if args.keep:
        print(f"work directory kept: {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
