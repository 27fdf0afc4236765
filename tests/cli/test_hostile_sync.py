"""`incidenttui sync` against a hostile server: one readable line, the right exit status, no
traceback, the queued change kept."""

from __future__ import annotations

from hostile import HostileServer, change_page, incident_snapshot, send_bytes, send_json

from incidenttui.store import CreateIncident, Store, store_path_for


def prepare(cli, url: str, pending: bool) -> Store:
    store = Store(cli.data_dir / "stores" / store_path_for(url).name)
    store.set_meta("user", "rita")
    if pending:
        store.execute(CreateIncident.new(title="queued", service="checkout"))
    return store


def test_malformed_answers_leave_the_change_queued(make_cli):
    with HostileServer(send_bytes(b"<html>captive portal</html>", content_type="text/html")
                       ) as hostile:
        cli = make_cli(hostile.base_url, "tok-hostile-1")
        store = prepare(cli, hostile.base_url, pending=True)
        keys = [e.key for e in store.outbox()]
        result = cli("sync")
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and result.stderr == ""
    (line,) = result.stdout.splitlines()
    assert line.startswith("not synced: ") and "not JSON" in line and "1 pending" in line
    assert "tok-hostile-1" not in result.stdout
    assert [e.key for e in store.outbox()] == keys and store.integrity_check() == "ok"
    store.close()


def test_an_out_of_range_value_is_not_a_traceback(make_cli):
    page = change_page([("incident", incident_snapshot(number=10**20))])
    with HostileServer(send_json(page)) as hostile:
        cli = make_cli(hostile.base_url, "tok")
        prepare(cli, hostile.base_url, pending=False).close()
        result = cli("sync")
    assert "Traceback" not in result.stderr, result.stderr[-400:]
    assert result.stdout.startswith("not synced: ")
