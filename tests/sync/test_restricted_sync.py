"""A client loses its copy of a restricted incident when its user loses access: the sync engine
applies the server's ``forget`` entry and the store drops the incident and its timeline. A
member's client gets the whole incident, even though its cursor was past its rows."""

from __future__ import annotations

import uuid

from apihelpers import API, incident_body


async def test_a_member_client_gets_it_whole_and_drops_it_when_taken_off(live, make_client):
    from incidenttui.server.auth import create_user

    with live.database.write() as session:
        _user, security_token = create_user(session, f"sec-{uuid.uuid4().hex[:6]}", "security")
    client = make_client(live.base_url, live.tokens["responder"])
    await client.sync()
    with live.client(None, headers={"Authorization": f"Bearer {security_token}"}) as sam:
        secret = sam.post(f"{API}/incidents", json=incident_body(category="security")).json()
        assert sam.post(f"{API}/incidents/{secret['id']}/notes",
                        json={"text": "rotated the key"}).status_code == 201
        await client.sync()
        assert client.store.incidents([secret["id"]]) == []  # not a member: never there

        assert sam.post(f"{API}/incidents/{secret['id']}/members",
                        json={"user": live.users["responder"]}).status_code == 200
        await client.sync()
        [local] = client.store.incidents([secret["id"]])
        assert local.title == secret["title"]
        texts = [e.text for e in client.store.timeline(secret["id"])]
        assert "rotated the key" in texts

        removed = sam.delete(f"{API}/incidents/{secret['id']}/members/"
                             f"{live.users['responder']}")
        assert removed.status_code == 200
        await client.sync()
        assert client.store.incidents([secret["id"]]) == []
        assert client.store.timeline(secret["id"]) == []
