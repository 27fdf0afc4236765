"""No existence oracle (issue 15): two worlds that differ only in a restricted incident's
activity look the same to a responder who may not see it — the change feed's rows and pages,
its cursors, a long-poll's answer, the incident numbers, a lookup of the hidden number, and
/metrics. SQLite and PostgreSQL.

Each test runs one script of public work in two fresh servers; in the second, the security
team works on a restricted incident in between (logs it, notes, acknowledges, adds a
colleague of the responder). What the responder reads is compared after renaming the ids
and times that any two runs differ in (uuids by first appearance, timestamps).
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from apihelpers import API, create, get, incident_body, move, read_feed
from servers import DATABASES, LiveServer, threaded_server

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")
#: The incidents the public script logs (the same ids in both worlds).
X, Y = str(uuid.UUID(int=0x1001)), str(uuid.UUID(int=0x1002))


def normalised(value: Any) -> Any:
    """``value`` with uuids numbered by first appearance and timestamps blanked: what two
    runs of the same script share."""
    names: dict[str, str] = {}

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            return {walk(k): walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, str):
            v = _UUID.sub(lambda m: names.setdefault(m.group(0), f"<id{len(names)}>"), v)
            return _TIME.sub("<time>", v)
        return v

    return walk(value)


class World:
    """One server and the users of the script; ``hidden`` runs the restricted work."""

    def __init__(self, server: LiveServer, hidden: bool) -> None:
        self.server, self.hidden = server, hidden
        from incidenttui.server.auth import create_user

        with server.database.write() as session:  # in both worlds: the same directory
            _user, server.tokens["security"] = create_user(session, "sam", "security",
                                                           team="security")
        self.secret: dict[str, Any] | None = None

    def client(self, role: str = "responder"):
        return self.server.client(role)

    def restricted_work(self, step: int) -> None:
        """Step ``step`` of the hidden work (nothing in the world without it)."""
        if not self.hidden:
            return
        with self.client("security") as sam:
            if step == 0:
                answer = sam.post(f"{API}/incidents", json=incident_body(
                    category="security", title="Card data exfiltrated", impact=1, urgency=1))
                assert answer.status_code == 201, answer.text
                self.secret = answer.json()
                assert self.secret["ref"] == "SEC-1"
                sam.post(f"{API}/incidents/{self.secret['id']}/notes",
                         json={"text": "IOC list attached"})
            elif step == 1:
                assert self.secret is not None
                move(sam, self.secret["id"], "acknowledge")
                # a colleague gains access: rows for ray alone, never for rita
                added = sam.post(f"{API}/incidents/{self.secret['id']}/members",
                                 json={"user": "ray"})
                assert added.status_code == 200, added.text
            else:
                assert self.secret is not None
                for n in range(3):
                    sam.post(f"{API}/incidents/{self.secret['id']}/notes",
                             json={"text": f"containment {n}"})

    def run_script(self) -> None:
        """The public work, with the hidden work in between."""
        with self.client() as rita:
            create(rita, id=X, title="Checkout returns 502")
            self.restricted_work(0)
            rita.post(f"{API}/incidents/{X}/notes", json={"text": "rolled back"})
            create(rita, id=Y, title="Search index lag", service="search")
            self.restricted_work(1)
            move(rita, X, "acknowledge")
            self.restricted_work(2)
            move(rita, Y, "acknowledge")


@pytest.fixture(scope="module", params=DATABASES)
def worlds(request, db_url: Callable[[str], str]) -> Iterator[tuple[World, World]]:
    """The world without hidden work and the one with it: fresh servers that ran the same
    script (shared by this module's tests; the long-poll test, last, only adds to them)."""
    with ExitStack() as stack:
        pair = tuple(World(stack.enter_context(threaded_server(request.param,
                                                               db_url(request.param))),
                           hidden) for hidden in (False, True))
        for world in pair:
            world.run_script()
        yield pair  # type: ignore[misc]


def pages(client, limit: int, cursor: str = "0") -> list[dict[str, Any]]:
    """Every page from ``cursor`` at ``limit``: each page's changes and ``more``, and the
    cursor texts apart (to check their shape)."""
    out = []
    while True:
        answer = client.get(f"{API}/changes", params={"cursor": cursor, "limit": limit})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        out.append(page)
        cursor = page["cursor"]
        if not page["more"]:
            return out


def test_the_feed_reads_the_same_with_and_without_hidden_activity(worlds) -> None:
    _plain, busy = worlds
    seen = {}
    for world in worlds:
        with world.client() as rita:
            seen[world.hidden] = {
                limit: pages(rita, limit) for limit in (1, 2, 3, 1000)}
    for limit in (1, 2, 3, 1000):
        a, b = seen[False][limit], seen[True][limit]
        strip = [{"changes": p["changes"], "more": p["more"]} for p in a], \
                [{"changes": p["changes"], "more": p["more"]} for p in b]
        assert normalised(strip[0]) == normalised(strip[1]), f"limit {limit}"
        # The cursors: one shape and length, never the same twice, and nothing in them
        # but the token (no number to difference).
        cursors = [p["cursor"] for p in a + b]
        assert len(set(cursors)) == len(cursors)
        assert len({len(c) for c in cursors}) == 1
        assert all(re.fullmatch(r"c1\.[A-Za-z0-9_-]+", c) for c in cursors)
        assert all(set(change) == {"entity", "id", "data"}
                   for p in a + b for change in p["changes"])
    # The hidden incident's rows were written (the security team reads them) ...
    assert busy.secret is not None
    with busy.client("security") as sam:
        assert any(c["id"] == busy.secret["id"] for c in read_feed(sam, 0)[0])
    # ... and the responder's cursor from the busy world stands past them all the same.
    with busy.client() as rita, busy.client("admin") as adam:
        end = read_feed(rita, 0)[1]
        assert read_feed(adam, end)[0] == []


def test_numbers_and_lookups_are_the_same_with_and_without_hidden_activity(worlds) -> None:
    seen = {}
    for world in worlds:
        with world.client() as rita:
            listed = rita.get(f"{API}/incidents").json()
            lookups = {key: (r.status_code, r.json()) for key in ("SEC-1", "SEC-2", "INC-1003")
                       for r in [rita.get(f"{API}/incidents/{key}")]}
            seen[world.hidden] = (listed, lookups,
                                  [get(rita, key)["ref"] for key in (X, Y)])
    plain, busy = seen[False], seen[True]
    assert plain[2] == busy[2] == ["INC-1001", "INC-1002"]  # no gap for the hidden one
    assert normalised(plain[0]) == normalised(busy[0])
    assert plain[1] == busy[1]  # SEC-1 exists only in the busy world: the same 404
    assert {status for status, _ in busy[1].values()} == {404}
    # The public metric counts only what everyone may see.
    counts = []
    for world in worlds:
        with world.server.client(None) as anonymous:
            text = anonymous.get("/metrics").text
        found = re.search(r"^incidenttui_change_feed_public_changes (\S+)$", text, re.M)
        assert found is not None
        counts.append(float(found.group(1)))
    assert counts[0] == counts[1]


def test_a_long_poll_answers_the_same_with_and_without_hidden_activity(worlds) -> None:
    """A responder waits on the feed; in the busy world the security team works meanwhile.
    The hidden writes do not end the wait (they do wake the server, which reads on and
    finds nothing for the caller); the public write that follows does, and the answers
    are the same in both worlds."""
    answers = []
    for world in worlds:
        with world.client() as rita:
            cursor = read_feed(rita, 0)[1]
        result: dict[str, Any] = {}

        def wait(world: World = world, cursor: str = cursor, result: dict = result) -> None:
            with world.client() as rita:
                result["page"] = rita.get(f"{API}/changes",
                                          params={"cursor": cursor, "wait": 30}).json()

        poll = threading.Thread(target=wait)
        poll.start()
        try:
            world.restricted_work(2)  # three hidden notes, each a commit that wakes waiters
            poll.join(0.5)
            assert poll.is_alive(), "a hidden write ended the long-poll"
            with world.client("commander") as cora:
                cora.post(f"{API}/incidents/{X}/notes", json={"text": "public news"})
        finally:
            poll.join(30)
        assert not poll.is_alive()
        answers.append(result["page"])
    assert [c["data"].get("text") for c in answers[0]["changes"] if c["entity"] == "event"] \
        == ["public news"]
    assert normalised({k: v for k, v in answers[0].items() if k != "cursor"}) == \
        normalised({k: v for k, v in answers[1].items() if k != "cursor"})
