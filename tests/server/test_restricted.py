"""Restricted incidents over HTTP: a security incident (or one marked restricted) is seen only by
the security role, admins and its members, and leaks through no read path: the list and its
filters, one incident, its timeline, links, the change feed (rows, cursor, long-poll
wake-ups) and /metrics. A user who loses access gets one ``forget`` entry; one who gains it
gets the incident whole. SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest
from apihelpers import API, assert_error, create, get, incident_body, read_feed

from incidenttui.domain.enums import Role
from incidenttui.domain.permissions import Visibility, operations

SECURITY_USER = "sam"


@pytest.fixture(scope="module")
def tokens(server) -> dict[str, str]:
    from incidenttui.server.auth import create_user

    with server.database.write() as session:
        _user, server.tokens["security"] = create_user(session, SECURITY_USER, "security",
                                                       team="security")
        _user, server.tokens["integration"] = create_user(session, "iggy-r", "integration")
    return server.tokens


def feed_text(client, cursor: str | int) -> tuple[str, str]:
    """Every feed page after ``cursor``, as the raw text the client received, and the end."""
    texts = []
    while True:
        answer = client.get(f"{API}/changes", params={"cursor": cursor, "limit": 1000})
        assert answer.status_code == 200, answer.text
        texts.append(answer.text)
        page = answer.json()
        cursor = page["cursor"]
        if not page["more"]:
            return "".join(texts), cursor


def secret_incident(server, role: str = "security", **overrides) -> dict:
    """A new restricted incident with a unique title and service (for list filters)."""
    fields = {"category": "security", "service": overrides.pop("service", None)
              or server.add_service(), "impact": 1, "urgency": 1,
              "title": f"Card data exfiltrated {uuid.uuid4().hex[:8]}", **overrides}
    body = incident_body(**fields)
    with server.client(role) as client:
        answer = client.post(f"{API}/incidents", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def traces(incident: dict) -> list[str]:
    """What must not appear anywhere a blind user reads: its id, ref and title."""
    return [incident["id"], f'"{incident["ref"]}"', f"{incident['ref']} ", incident["title"]]


def assert_absent(text: str, incident: dict) -> None:
    for trace in traces(incident):
        assert trace not in text, trace


# -- /me ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_me_reports_the_matrix(server, tokens, role: Role) -> None:
    with server.client(role.value) as client:
        me = client.get(f"{API}/me").json()
    assert me["capabilities"] == sorted(op.value for op in operations(role))
    assert me["restricted_capabilities"] == sorted(
        op.value for op in operations(role, Visibility.RESTRICTED))
    if role in (Role.RESPONDER, Role.COMMANDER):  # they may log one, and join it so
        assert me["restricted_capabilities"] == ["create"]
    if role is Role.VIEWER:
        assert me["restricted_capabilities"] == []
    if role is Role.SECURITY:
        assert "manage_members" in me["restricted_capabilities"]


# -- every read path ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["security category", "marked restricted"])
def test_a_restricted_incident_leaks_through_no_read_path(server, tokens, kind: str) -> None:
    with server.client("responder") as rita:
        start = read_feed(rita, 0)[1]
    if kind == "security category":
        secret = secret_incident(server)
    else:
        secret = secret_incident(server, role="admin", category="availability",
                                 restricted=True)
        assert secret["restricted"] is True
    with server.client("security") as sam:
        note = sam.post(f"{API}/incidents/{secret['id']}/notes",
                        json={"text": "attacker IP 203.0.113.9"})
        assert note.status_code == 201, note.text
        assert sam.post(f"{API}/incidents/{secret['id']}/acknowledge").status_code == 200
    for role in ("viewer", "responder", "commander"):
        with server.client(role) as client:
            for params in ({}, {"service": secret["service"]}, {"priority": 1},
                           {"status": "acknowledged"}, {"team": secret["team"] or "platform"},
                           {"assignee": server.users["responder"]}, {"limit": 500}):
                answer = client.get(f"{API}/incidents", params=params)
                assert answer.status_code == 200
                assert_absent(answer.text, secret)
            page = client.get(f"{API}/incidents", params={"service": secret["service"]}).json()
            assert page["total"] == 0 and page["items"] == []
            for key in (secret["id"], secret["ref"], str(secret["number"])):
                for suffix in ("", "/timeline"):
                    hidden = client.get(f"{API}/incidents/{key}{suffix}")
                    missing_key = key.replace(secret["id"], str(uuid.uuid4())) if key == \
                        secret["id"] else f"INC-{secret['number'] + 5_000_000}"
                    missing = client.get(f"{API}/incidents/{missing_key}{suffix}")
                    assert hidden.status_code == missing.status_code == 404
                    assert hidden.json() == {**missing.json(), "detail": missing.json()[
                        "detail"].replace(missing_key, key)}
            text, _cursor = feed_text(client, start)
            assert_absent(text, secret)
            assert "203.0.113.9" not in text
    with server.client("admin") as adam, server.client("security") as sam:
        assert get(adam, secret["id"])["title"] == secret["title"]
        assert secret["title"] in feed_text(sam, start)[0]


def test_the_list_total_counts_only_what_the_caller_sees(server, tokens) -> None:
    service = server.add_service()
    with server.client("responder") as rita:
        create(rita, service=service)
    secret_incident(server)  # another service
    with server.client("admin") as adam:
        adam.post(f"{API}/incidents", json=incident_body(service=service, category="security"))
        assert adam.get(f"{API}/incidents", params={"service": service}).json()["total"] == 2
    with server.client("responder") as rita:
        page = rita.get(f"{API}/incidents", params={"service": service}).json()
    assert page["total"] == 1 and len(page["items"]) == 1


def test_links_to_a_restricted_incident(server, tokens) -> None:
    secret = secret_incident(server)
    with server.client("responder") as rita:
        normal = create(rita)
        # who cannot see it cannot link to it, and learns nothing from trying
        hidden = rita.post(f"{API}/incidents/{normal['id']}/links",
                           json={"kind": "related", "target": secret["ref"]})
        missing_ref = f"INC-{secret['number'] + 5_000_000}"
        missing = rita.post(f"{API}/incidents/{normal['id']}/links",
                            json={"kind": "related", "target": missing_ref})
        assert hidden.status_code == missing.status_code == 422
        assert hidden.json()["detail"] == missing.json()["detail"].replace(missing_ref,
                                                                           secret["ref"])
    with server.client("security") as sam:
        linked = sam.post(f"{API}/incidents/{normal['id']}/links",
                          json={"kind": "caused_by", "target": secret["ref"]})
        assert linked.status_code == 200, linked.text
    with server.client("responder") as rita:
        shown = rita.get(f"{API}/incidents/{normal['id']}")
        assert shown.status_code == 200
        for trace in (secret["ref"], secret["title"]):
            assert trace not in shown.text
        assert "a restricted incident" in shown.text
        # the other way round: the restricted incident's own timeline stays hidden
        assert rita.get(f"{API}/incidents/{secret['id']}/timeline").status_code == 404


def test_metrics_do_not_count_restricted_incidents(server, tokens) -> None:
    def scrape() -> tuple[str, int, int]:
        with server.client(None) as anonymous:
            text = anonymous.get("/metrics").text
        p1 = re.search(r'incidenttui_open_incidents\{priority="P1"\} (\S+)', text)
        seq = re.search(r"^incidenttui_change_feed_public_changes (\S+)$", text, re.M)
        assert p1 is not None and seq is not None, text
        return text, int(float(p1.group(1))), int(float(seq.group(1)))

    service = server.add_service()
    _text, p1_before, seq_before = scrape()
    secret = secret_incident(server, service=service)
    with server.client("security") as sam:
        sam.post(f"{API}/incidents/{secret['id']}/notes", json={"text": "hidden work"})
    _text, p1_after, seq_after = scrape()
    assert (p1_after, seq_after) == (p1_before, seq_before)
    with server.client("responder") as rita:
        create(rita, impact=1, urgency=1)
    _text, p1_later, seq_later = scrape()
    assert p1_later == p1_before + 1 and seq_later > seq_before


# -- the feed's cursor and long-poll --------------------------------------------------------


def test_the_cursor_moves_past_hidden_rows_and_is_the_same_for_everyone(server, tokens) -> None:
    service = server.add_service()
    with server.client("responder") as rita, server.client("admin") as adam:
        start = read_feed(adam, 0)[1]
        secret_incident(server, service=service)
        hidden_page = rita.get(f"{API}/changes", params={"cursor": start}).json()
        admin_page = adam.get(f"{API}/changes", params={"cursor": start}).json()
    assert hidden_page["changes"] == [] and hidden_page["more"] is False
    assert admin_page["changes"]
    # Tokens, fresh each time; both stand past the hidden rows (tests/server/
    # test_feed_oracle.py shows that nothing in them tells those rows were there).
    assert hidden_page["cursor"] != admin_page["cursor"]
    with server.client("admin") as adam:
        for page in (hidden_page, admin_page):
            assert read_feed(adam, page["cursor"])[0] == []


def test_hidden_writes_do_not_end_a_long_poll(server, tokens) -> None:
    """A blind user's long-poll runs its full wait while restricted incidents change, then
    answers nothing, with the cursor past those changes: no wake-up to time."""
    secret = secret_incident(server)
    with server.client("responder") as rita, server.client("security") as sam:
        cursor = read_feed(rita, 0)[1]
        import threading

        def write_hidden() -> None:
            time.sleep(0.3)
            sam.post(f"{API}/incidents/{secret['id']}/notes", json={"text": "quiet"})

        writer = threading.Thread(target=write_hidden)
        began = time.monotonic()
        writer.start()
        page = rita.get(f"{API}/changes", params={"cursor": cursor, "wait": 2}).json()
        took = time.monotonic() - began
        writer.join()
        assert page["changes"] == []
        assert took >= 1.9, took
        notes = read_feed(sam, cursor)[0]
        assert [c for c in notes if c["data"].get("text") == "quiet"]
        assert read_feed(sam, page["cursor"])[0] == []  # past the hidden note


# -- losing and gaining access ------------------------------------------------------------


def forgets(changes: list[dict], incident_id: str) -> list[dict]:
    return [c for c in changes if c["entity"] == "forget" and c["id"] == incident_id]


def test_a_member_sees_it_and_forgets_it_once_taken_off(server, tokens) -> None:
    secret = secret_incident(server)
    with server.client("responder") as rita, server.client("security") as sam, \
            server.client("viewer") as vera:
        cursor = read_feed(rita, 0)[1]
        vera_cursor = read_feed(vera, 0)[1]
        added = sam.post(f"{API}/incidents/{secret['id']}/members", json={"user": "rita"})
        assert added.status_code == 200, added.text
        assert added.json()["members"] == ["rita"]
        assert get(rita, secret["ref"])["title"] == secret["title"]
        listed = rita.get(f"{API}/incidents", params={"service": secret["service"]}).json()
        assert [i["id"] for i in listed["items"]] == [secret["id"]]
        changes, cursor = read_feed(rita, cursor)
        kinds = {c["entity"] for c in changes if c["id"] == secret["id"]
                 or c["data"].get("incident_id") == secret["id"]}
        assert kinds == {"incident", "event"}  # the whole incident, re-sent for her
        # a member may work it
        assert rita.post(f"{API}/incidents/{secret['id']}/notes",
                         json={"text": "seen"}).status_code == 201

        removed = sam.delete(f"{API}/incidents/{secret['id']}/members/rita")
        assert removed.status_code == 200 and removed.json()["members"] == []
        assert_error(rita.get(f"{API}/incidents/{secret['id']}"), 404)
        changes, cursor = read_feed(rita, cursor)
        assert len(forgets(changes, secret["id"])) == 1
        assert forgets(changes, secret["id"])[0]["data"] == {"incident_id": secret["id"]}
        assert read_feed(rita, cursor)[0] == []  # once
        # nobody else is told anything
        assert forgets(read_feed(vera, vera_cursor)[0], secret["id"]) == []


def test_restricting_hides_it_from_everyone_else_and_lifting_it_shows_it_again(
        server, tokens) -> None:
    with server.client("responder") as rita, server.client("viewer") as vera, \
            server.client("security") as sam, server.client("commander") as cora:
        incident = create(rita)
        vera_cursor = read_feed(vera, 0)[1]
        assert get(vera, incident["id"])["id"] == incident["id"]
        restricted = rita.post(f"{API}/incidents/{incident['id']}/restrict")
        assert restricted.status_code == 200, restricted.text
        assert restricted.json()["restricted"] is True
        # who restricted it keeps it; everyone else loses it, told once
        assert get(rita, incident["id"])["restricted"] is True
        for blind in (vera, cora):
            assert_error(blind.get(f"{API}/incidents/{incident['id']}"), 404)
        changes, vera_cursor = read_feed(vera, vera_cursor)
        assert len(forgets(changes, incident["id"])) == 1
        assert not [c for c in changes if c["entity"] in ("incident", "event")
                    and incident["id"] in (c["id"], c["data"].get("incident_id"))]
        # work while restricted
        assert rita.post(f"{API}/incidents/{incident['id']}/notes",
                         json={"text": "forensics under way"}).status_code == 201
        # only security lifts it
        assert_error(rita.post(f"{API}/incidents/{incident['id']}/unrestrict"), 403)
        assert_error(vera.post(f"{API}/incidents/{incident['id']}/unrestrict"), 403)
        lifted = sam.post(f"{API}/incidents/{incident['id']}/unrestrict")
        assert lifted.status_code == 200 and lifted.json()["restricted"] is False
        assert get(vera, incident["id"])["id"] == incident["id"]
        changes, vera_cursor = read_feed(vera, vera_cursor)
        texts = [c["data"].get("text") for c in changes if c["entity"] == "event"]
        assert "forensics under way" in texts  # the restricted period's timeline, re-sent


def test_a_patch_into_the_security_category_restricts(server, tokens) -> None:
    with server.client("responder") as rita, server.client("viewer") as vera, \
            server.client("security") as sam:
        incident = create(rita)
        cursor = read_feed(vera, 0)[1]
        patched = rita.patch(f"{API}/incidents/{incident['id']}",
                             json={"base_version": incident["version"], "category": "security"})
        assert patched.status_code == 200, patched.text
        assert_error(vera.get(f"{API}/incidents/{incident['id']}"), 404)
        assert len(forgets(read_feed(vera, cursor)[0], incident["id"])) == 1
        assert get(rita, incident["id"])["category"] == "security"  # made a member
        # and back out of it needs unrestrict: a responder may not
        back = rita.patch(f"{API}/incidents/{incident['id']}",
                          json={"base_version": patched.json()["version"],
                                "category": "availability"})
        assert_error(back, 403)
        back = sam.patch(f"{API}/incidents/{incident['id']}",
                         json={"base_version": patched.json()["version"],
                               "category": "availability"})
        assert back.status_code == 200, back.text
        assert get(vera, incident["id"])["category"] == "availability"


def test_members_need_manage_members(server, tokens) -> None:
    secret = secret_incident(server)
    with server.client("responder") as rita, server.client("admin") as adam:
        assert_error(rita.post(f"{API}/incidents/{secret['id']}/members",
                               json={"user": "rita"}), 403)
        assert_error(adam.post(f"{API}/incidents/{secret['id']}/members",
                               json={"user": "nobody-here"}), 422, "user")
        assert_error(adam.post(f"{API}/incidents/{uuid.uuid4()}/members",
                               json={"user": "rita"}), 404)


def test_a_role_change_forgets_or_resends_restricted_incidents(server, tokens) -> None:
    """Promoted to security, a user's feed gets every restricted incident whole; demoted
    again, one ``forget`` entry each (``incidenttui admin create-user`` changing the role)."""
    from incidenttui.server.admin import create_user_with_token

    secret = secret_incident(server)
    with server.database.write() as session:
        _user, token = create_user_with_token(session, "rolf", "responder")
    with server.client(None, headers={"Authorization": f"Bearer {token}"}) as rolf:
        cursor = read_feed(rolf, 0)[1]
    with server.database.write() as session:
        _user, token = create_user_with_token(session, "rolf", "security")
    with server.client(None, headers={"Authorization": f"Bearer {token}"}) as rolf:
        changes, cursor = read_feed(rolf, cursor)
        assert [c for c in changes if c["entity"] == "incident" and c["id"] == secret["id"]]
        assert any(c["entity"] == "event" and c["data"]["incident_id"] == secret["id"]
                   for c in changes)
    with server.database.write() as session:
        _user, token = create_user_with_token(session, "rolf", "commander")
    with server.client(None, headers={"Authorization": f"Bearer {token}"}) as rolf:
        changes, cursor = read_feed(rolf, cursor)
        assert len(forgets(changes, secret["id"])) == 1
        assert_error(rolf.get(f"{API}/incidents/{secret['id']}"), 404)
