"""``incidenttui kpis``, ``list --stale`` and ``create``'s suggestion on the demo data, with
no server at all: the KPI figures agree with ``list --json`` recomputed by hand."""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import app_fixtures  # type: ignore[import-not-found]
import pytest
from app_servers import copy_store  # type: ignore[import-not-found]

from incidenttui import report_verbs
from incidenttui.cli import main
from incidenttui.demo.seed import FORGOTTEN_TITLE, demo_organisation
from incidenttui.domain import DEFAULT_SLA
from incidenttui.store.reader import store_path_for

APP_NOW, OFFLINE_URL = app_fixtures.APP_NOW, app_fixtures.OFFLINE_URL
UNTIL = app_fixtures.DEMO_NOW + timedelta(minutes=5)
# The app tests' fixtures: a private data directory (autouse), the demo store synced once
# per session, the frozen clock.
app_env, demo_template = app_fixtures.app_env, app_fixtures.demo_template


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """The reporting verbs' clock at APP_NOW (only theirs: freezing the clock of
    scripting.py too would make its JSON output miss its datetimes)."""
    from app_harness import _FrozenDatetime  # type: ignore[import-not-found]

    monkeypatch.setattr(report_verbs, "datetime",
                        type("Frozen", (_FrozenDatetime,), {"frozen": APP_NOW}))
    return APP_NOW


@pytest.fixture
def run(demo_template: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    """``run(*args)`` → (exit code, stdout, stderr) of the CLI in this process, on a copy of
    the demo store under the test's data directory (no server anywhere)."""
    copy_store(demo_template, store_path_for(OFFLINE_URL))

    def call(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([*args[:1], "--server", OFFLINE_URL, *args[1:]])
        out, err = capsys.readouterr()
        return code, out, err

    return call


def t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def nearest_rank(values: list[float], p: float) -> float | None:
    ordered = sorted(values)
    return ordered[math.ceil(p / 100 * len(ordered)) - 1] if ordered else None


def by_hand(incidents: list[dict[str, Any]], since: datetime, until: datetime,
            now: datetime) -> dict[str, Any]:
    """The KPI definitions of the README, written again from the listed incidents."""
    levels = {team.id: team.level for team in demo_organisation().teams}
    window = [i for i in incidents if since <= t(i["created_at"]) < until  # type: ignore[operator]
              and i["status"] != "cancelled"]
    mttd, mtta, mttr = [], [], []
    missing = {"mttd": 0, "mtta": 0, "mttr": 0}
    sla: dict[str, list[int]] = {"response": [0, 0], "resolution": [0, 0]}
    resolved = fcr = escalated = ever = reopened = 0
    for i in window:
        created, target = t(i["created_at"]), DEFAULT_SLA[i["priority"]]
        assert created is not None
        started, detected = t(i["started_at"]), t(i["detected_at"])
        if started and detected and detected >= started:
            mttd.append((detected - started).total_seconds())
        else:
            missing["mttd"] += 1
        acked = t(i["acknowledged_at"])
        if acked:
            mtta.append((acked - created).total_seconds())
            sla["response"][0] += 1
            sla["response"][1] += acked - created <= target.response
        elif i["status"] != "new":
            missing["mtta"] += 1
        elif now - created > target.response:
            sla["response"][0] += 1
        if i["status"] in ("resolved", "closed"):
            done = t(i["resolved_at"])
            if done is None:
                missing["mttr"] += 1
                continue
            worked = (done - created).total_seconds() - i["hold_seconds"]
            mttr.append(worked)
            resolved += 1
            sla["resolution"][0] += 1
            sla["resolution"][1] += worked <= target.resolution.total_seconds()
            fcr += levels.get(i["team"]) == 1 and i["escalation_level"] == 1
        else:
            held = i["hold_seconds"] + ((now - t(i["on_hold_since"])).total_seconds()
                                        if i["on_hold_since"] else 0)
            if (now - created).total_seconds() - held > target.resolution.total_seconds():
                sla["resolution"][0] += 1
        escalated += i["escalation_level"] > 1
        if i["status"] in ("resolved", "closed") or i["reopen_count"]:
            ever += 1
            reopened += i["reopen_count"] > 0

    def pct(a: int, b: int) -> float | None:
        return round(100 * a / b, 1) if b else None

    volume: dict[str, int] = {}
    for i in window:
        volume[i["service"]] = volume.get(i["service"], 0) + 1
    return {"incidents": len(window), "missing": missing,
            "mttd": (statistics.fmean(mttd), statistics.median(mttd), nearest_rank(mttd, 90)),
            "mtta": (statistics.fmean(mtta), statistics.median(mtta), nearest_rank(mtta, 90)),
            "mttr": (statistics.fmean(mttr), statistics.median(mttr), nearest_rank(mttr, 90)),
            "response_sla_pct": pct(*reversed(sla["response"])),
            "resolution_sla_pct": pct(*reversed(sla["resolution"])),
            "first_contact_pct": pct(fcr, resolved), "escalation_pct": pct(escalated,
                                                                           len(window)),
            "reopen_pct": pct(reopened, ever), "by_service": volume,
            "cancelled": sum(since <= t(i["created_at"]) < until  # type: ignore[operator]
                             and i["status"] == "cancelled" for i in incidents),
            "open": sum(i["status"] in ("new", "acknowledged", "in_progress", "on_hold")
                        for i in incidents)}


@pytest.mark.parametrize("days", [30, 90])
def test_kpis_agree_with_list_json_recomputed_by_hand(run: Any, days: int) -> None:
    code, listed, _ = run("list", "--json")
    assert code == 0
    incidents = json.loads(listed)
    code, out, _ = run("kpis", "--since", f"{days}d", "--until", UNTIL.isoformat(), "--json")
    assert code == 0
    k = json.loads(out)
    since, now = t(k["since"]), t(k["now"])
    assert since == UNTIL - timedelta(days=days) and t(k["until"]) == UNTIL
    assert now == UNTIL  # the window lies in the past: clocks are read at its end
    hand = by_hand(incidents, since, UNTIL, now)  # type: ignore[arg-type]
    assert k["incidents"] == hand["incidents"] > 50
    assert k["cancelled"] == hand["cancelled"]
    assert k["missing"] == hand["missing"]
    for name in ("mttd", "mtta", "mttr"):
        ours = (k[name]["mean"], k[name]["median"], k[name]["p90"])
        assert all(math.isclose(a, b, abs_tol=0.01) for a, b in zip(ours, hand[name],
                                                                    strict=True)), name
    for name in ("response_sla_pct", "resolution_sla_pct", "first_contact_pct",
                 "escalation_pct", "reopen_pct"):
        assert k[name] == hand[name], name
    assert k["volume"]["service"] == hand["by_service"]
    assert sum(k["backlog"].values()) == hand["open"]
    assert len(k["trend"]) == 12 and sum(w["incidents"] for w in k["trend"]) > 200


def test_kpis_text_by_and_csv_fit_80_columns(run: Any) -> None:
    until = ["--until", UNTIL.isoformat()]
    for by in ("service", "team", "category", "priority"):
        code, out, _ = run("kpis", "--by", by, *until)
        assert code == 0 and f"by {by}:" in out
        assert max(len(line) for line in out.splitlines()) <= 80, by
    code, out, _ = run("kpis", *until)
    assert "MTTR" in out and "(hold excluded)" in out and "trend, 12 weeks" in out
    assert "open backlog by age" in out and "first-contact resolution" in out
    code, out, _ = run("kpis", "--by", "priority", "--csv", *until)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["group"] == "all" and {r["group"] for r in rows[1:]} <= {
        "P1", "P2", "P3", "P4", "P5"}
    assert sum(int(r["incidents"]) for r in rows[1:]) == int(rows[0]["incidents"])


def test_kpis_bad_input_is_one_readable_line(run: Any) -> None:
    for args in (("--since", "yesterday-ish"), ("--since", "2026-03-01", "--until",
                                                "2026-02-01")):
        code, _, err = run("kpis", *args)
        assert code == 2
        assert err.startswith("incidenttui: --since") and "Traceback" not in err


def test_list_stale_shows_the_forgotten_acknowledgement(run: Any, frozen: datetime) -> None:
    code, out, _ = run("list", "--stale", "--json")
    assert code == 0
    [stale] = json.loads(out)
    assert stale["title"] == FORGOTTEN_TITLE and stale["ref"] == "INC-1287"
    assert stale["owner"] == "lucia.moreno" and stale["status"] == "acknowledged"
    idle = APP_NOW - t(stale["touched_at"])  # type: ignore[operator]
    assert idle.total_seconds() == stale["idle_seconds"] == (262 + 5) * 60
    code, text, _ = run("list", "--stale")
    assert text.startswith("INC-1287") and "lucia.moreno" in text and "idle" in text
    # Half an hour finds the live incidents last touched before then too: oldest first.
    code, out, _ = run("list", "--stale", "--hours", "0.5", "--json")
    listed = json.loads(out)
    assert listed[0]["ref"] == "INC-1287" and len(listed) > 1
    assert [s["idle_seconds"] for s in listed] == sorted((s["idle_seconds"] for s in listed),
                                                         reverse=True)
    assert {s["status"] for s in listed} <= {"acknowledged", "in_progress"}


def test_list_stale_refuses_hours_that_are_not_positive(run: Any) -> None:
    code, _, err = run("list", "--stale", "--hours", "0")
    assert code == 2 and "--hours must be a positive" in err


def test_create_suggests_category_and_service(run: Any) -> None:
    code, out, _ = run("create", "--title", "Gift card balance wrong at checkout",
                       "--suggest")
    assert code == 0
    assert out.startswith("category software_bug (") and "service checkout (" in out
    code, out, err = run("create", "--title", "CDN errors in eu-west", "--no-sync")
    assert code == 0 and "suggested category network" in err and "service cdn" in err
    code, out, _ = run("list", "--search", "CDN errors eu-west", "--json", "--sort",
                       "newest")
    newest = json.loads(out)[0]
    assert (newest["category"], newest["service"]) == ("network", "cdn")
    assert newest["number"] is None  # queued, numbered by the server once it is sent
    code, out, err = run("create", "--title", "CDN errors again", "--service", "storefront",
                         "--no-sync")
    assert code == 0 and "service" not in err.split("suggested", 1)[-1].split("from")[0]
