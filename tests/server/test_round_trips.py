"""Round trips to PostgreSQL per write, counted on the wire (tests/support/roundtrips.py): a
figure that does not move with the machine's load, unlike the benchmark's requests/s.

The floor (benchmarks/floor_app.py) makes one round trip per request. Ours: the bearer
token's read, then the write's group commit: a batch costs the same few round trips whatever
its size (server/writes.py, server/pipeline.py), so a write that shares its batch with
others pays a fraction of them."""

from __future__ import annotations

import statistics
import uuid
from types import SimpleNamespace

import pytest
from apihelpers import API, create
from roundtrips import RoundTripProxy
from servers import threaded_server
from sqlalchemy.engine import make_url

from incidenttui.api.schemas import ActionBody, NoteBody
from incidenttui.domain import Action
from incidenttui.server import writes
from incidenttui.server.auth import authenticate_token

pytestmark = pytest.mark.postgres

#: A write alone: token, BEGIN + keys + lock + savepoint, the feed lock with the inserts
#: and updates and the COMMIT (the audit log's head is the one the last write left).
ALONE = 3
#: A batch, whatever its size: BEGIN + keys + locks, the feed lock with the inserts and
#: updates and the COMMIT.
BATCH = 2


@pytest.fixture(scope="module")
def proxied(pg_cluster):
    url = make_url(pg_cluster.create_database())
    proxy = RoundTripProxy((url.host, url.port))
    through = url.set(port=proxy.port).render_as_string(hide_password=False)
    try:
        with threaded_server("postgres", through) as live:
            yield live, proxy
    finally:
        proxy.close()


def _post(api, path: str, body: dict | None = None) -> None:
    response = api.post(path, json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code in (200, 201), response.text


@pytest.mark.parametrize("kind", ["note", "acknowledge"])
def test_a_write_alone_costs_three_round_trips(proxied, kind):
    live, proxy = proxied
    with live.client("responder") as api:
        incidents = [create(api) for _ in range(10)]
        for _ in range(5):  # warm-up: the pool's connections are open
            _post(api, f"{API}/incidents/{incidents[0]['id']}/notes", {"text": "warm-up"})
        counts = []
        for incident in incidents:
            with proxy.counting() as counted:
                if kind == "note":
                    _post(api, f"{API}/incidents/{incident['id']}/notes", {"text": "checked"})
                else:
                    _post(api, f"{API}/incidents/{incident['id']}/acknowledge")
            counts.append(counted[0])
    # The median: the server's own background work (the escalator's poll) may fall into
    # one request's count now and then.
    print(f"{kind} alone: {counts} round trips per request")
    assert statistics.median(counts) <= ALONE


def test_a_batch_costs_the_same_round_trips_whatever_its_size(proxied):
    live, proxy = proxied
    with live.client("responder") as api:
        incidents = [create(api) for _ in range(8)]
    user = authenticate_token(live.database, live.tokens["responder"])
    group = writes.commits(SimpleNamespace(db=live.database))

    def note(w, i):
        w.audit("incident.note", "incident", i.id)  # as the routes do (routes/incidents.py)
        return w.event_snapshot(w.note(i, NoteBody(text="in a batch")))

    def acknowledge(w, i):
        w.audit("incident.acknowledge", "incident", i.id)
        return w.snapshot(w.act(i, Action.ACKNOWLEDGE, ActionBody()))

    def jobs() -> list[writes.Job]:
        made = []
        for n, incident in enumerate(incidents):
            if n % 2:
                op = writes.on_incident(incident["id"], note, status=201)
            else:
                op = writes.on_incident(incident["id"], acknowledge)
            made.append(writes.Job(user, str(uuid.uuid4()), "fingerprint", op))
        return made

    group.write_batch(jobs()[1:2])  # warm-up: a pooled connection (a note)
    counts = []
    for _ in range(3):  # the least of three: the server's own background work (the
        # escalator's poll) may fall into one batch's count now and then
        with proxy.counting() as counted:
            tickets = group.write_batch(jobs())
        assert [t.outcome()[0] for t in tickets] == [200, 201] * 4
        counts.append(counted[0])
        with live.client("responder") as api:  # new ones: each is acknowledged once
            incidents = [create(api) for _ in range(8)]
    print(f"batch of 8: {counts} round trips")
    assert min(counts) <= BATCH


def test_connections_the_server_closed_are_not_used_again(proxied):
    """No pre-ping: a pooled connection whose backend is gone (a restart, an idle timeout,
    ``pg_terminate_backend``) is found from its socket at checkout, at no round trip, and
    the next read and write run on fresh ones."""
    live, _proxy = proxied
    with live.client("responder") as api:
        incident = create(api)
        _post(api, f"{API}/incidents/{incident['id']}/notes", {"text": "before"})
        import psycopg

        url = make_url(live.db_url)
        with psycopg.connect(host=url.host, port=url.port, user=url.username,
                             dbname=url.database, autocommit=True) as admin:
            pids = [row[0] for row in admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")]
            assert pids
            admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid",
                          (pids,))
            for _ in range(1000):  # until they are gone (a signal, then an exit)
                left = admin.execute("SELECT count(*) FROM pg_stat_activity "
                                     "WHERE pid = ANY(%s)", (pids,)).fetchone()
                if left is not None and left[0] == 0:
                    break
        _post(api, f"{API}/incidents/{incident['id']}/notes", {"text": "after"})
        assert api.get(f"{API}/changes", params={"cursor": 0, "limit": 5}).status_code == 200
        assert api.get(f"{API}/incidents/{incident['id']}").status_code == 200


def test_tokens_read_together_each_get_their_own_answer(proxied):
    """Requests authenticating at the same moment share one token read (server/auth.py
    ``BearerReads``), and each still gets its own token's answer: a revoked token is refused
    among valid ones, and a token revoked just before a request fails at once."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from incidenttui.server import tokens

    live, proxy = proxied
    with live.database.write() as session:
        kept, kept_secret = tokens.create_token(session, "rita", f"kept-{uuid.uuid4()}")
        gone, gone_secret = tokens.create_token(session, "cora", f"gone-{uuid.uuid4()}")
        tokens.revoke_token(session, gone.id)
    secrets = [kept_secret, gone_secret, live.tokens["commander"], "itui_never-issued"] * 6

    def me(secret: str) -> tuple[int, str | None]:
        answer = httpx.get(f"{live.base_url}{API}/me", timeout=30,
                           headers={"Authorization": f"Bearer {secret}"})
        return answer.status_code, (answer.json().get("user") or {}).get("id")

    with proxy.counting() as counted, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(me, secrets))
    assert answers == [(200, "rita"), (401, None), (200, "cora"), (401, None)] * 6
    # One read each at most (a read cost two before), fewer when they coincide; the server's
    # own background work (the escalator's poll, the deliverer's claim) falls into the
    # window too, more of it on a loaded machine.
    assert counted[0] < 2 * len(secrets)
    with live.database.write() as session:
        tokens.revoke_token(session, kept.id)
    assert me(kept_secret) == (401, None)
