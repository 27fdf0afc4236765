"""``incidenttui review ID [--output FILE]``: the post-incident review from the local store
(so offline too), as CommonMark; bad input is one readable line."""

from __future__ import annotations

import uuid

from apihelpers import create
from markdown_it import MarkdownIt

from incidenttui.api import paths


def test_review_from_the_local_store_offline_too(cli_server, make_cli, failure, tmp_path):
    with cli_server.http("commander") as http:
        made = create(http, title="Checkout down [for] *everyone*", service="checkout",
                      impact=1, urgency=1)
        key = made["ref"]
        assert http.post(paths.incident(key, paths.DECLARE_MAJOR)).status_code == 200
        for kind, data in (("role", {"role": "commander", "user": "ray"}),
                           ("review", {"field": "root_cause", "text": "A bad deploy."})):
            answer = http.post(paths.incident(key, paths.MAJOR_EVENTS), json={
                "id": str(uuid.uuid4()), "kind": kind, "data": data})
            assert answer.status_code == 201, answer.text
        answer = http.post(paths.incident(key, "/notes"), json={
            "text": "roll back the deploy", "tag": "decision"})
        assert answer.status_code == 201, answer.text
    cli = make_cli(cli_server.base_url, cli_server.tokens["commander"])
    assert cli("sync").returncode == 0
    cli_server.stop()  # the review needs no server (the module's last test: not restarted)
    out = tmp_path / "review.md"
    result = cli("review", key, "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    review = out.read_text()
    assert review.startswith(f"# Post-incident review: {key} Checkout down \\[for\\] "
                             "\\*everyone\\*\n")
    assert "- **Incident commander:** ray" in review
    assert "## Root cause\n\nA bad deploy.\n" in review
    assert "**DECISION: roll back the deploy**" in review
    tokens = MarkdownIt("commonmark").parse(review)
    assert sum(t.type == "heading_open" for t in tokens) == 12  # no linked incidents
    printed = cli("review", key)
    assert printed.returncode == 0 and printed.stdout.startswith("# Post-incident review")
    assert "does not exist" in failure(cli("review", key, "--output",
                                        str(tmp_path / "nowhere" / "r.md")))
    assert "no incident" in failure(cli("review", "INC-99999999"))
