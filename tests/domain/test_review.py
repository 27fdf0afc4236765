"""The post-incident review: its content read against the record, and that it is CommonMark
whose record text stays literal (no heading, link or HTML from a hostile title or note)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from markdown_it import MarkdownIt

from incidenttui.domain.review import Linked, block, inline, response_times, review_markdown, span

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def incident(**fields):
    base = dict(id="m", number=1042, title="Checkout failing", description="Card payments "
                "time out.", service="payments", category="availability", priority=1,
                status="resolved", major=True, resolution_code="third_party_fix",
                started_at=at(-8), detected_at=at(-3), created_at=at(0),
                acknowledged_at=at(1), resolved_at=at(95))
    return SimpleNamespace(**{**base, **fields})


def event(minute, kind, text="", data=None, incident_id="m", actor="claire"):
    return SimpleNamespace(id=f"e{minute}-{kind}", incident_id=incident_id, at=at(minute),
                           kind=kind, text=text, data=data or {}, actor=actor)


EVENTS = [
    event(0, "created", "Checkout failing", actor="amira"),
    event(1, "major", "declared a major incident"),
    event(2, "role", "incident commander: claire", {"role": "commander", "user": "claire"}),
    event(3, "role", "communications lead: tom", {"role": "communications", "user": "tom"}),
    event(10, "note", "Retry storm triples PSP load", {"tag": "finding"}, actor="kenji"),
    event(12, "note", "Fail over card traffic to Stripe", {"tag": "decision"}),
    event(14, "action_item", "action item: Lower PSP retries",
          {"item": "i1", "text": "Lower PSP retries", "owner": "kenji", "due": "2026-05-08",
           "done": False}),
    event(15, "action_item", "action item: Alert on PSP latency",
          {"item": "i2", "text": "Alert on PSP latency", "owner": None, "due": None,
           "done": False}),
    event(16, "status_update", "Degraded", {
        "state": "Degraded", "impact": "1 in 3 card payments fail", "next_steps": "Failover",
        "next_update_due": "2026-05-04T10:46:00Z", "public": True,
        "public_text": "Some card payments fail."}),
    event(20, "note", "Customers abort at payment", {}, incident_id="dup", actor="lucia"),
    event(40, "note", "Error rate back to baseline", {"tag": "mitigation"}),
    event(41, "action_item", "action item done", {"item": "i2", "done": True}),
    event(50, "review", "", {"field": "root_cause", "text": "A degraded Adyen node."}),
    event(51, "review", "", {"field": "went_well", "text": "Failover in 20 min.\n\n- fast"}),
]
LINKED = [Linked("dup", 1043, "Customers cannot complete checkout", "resolved",
                 "duplicate of this")]


def sections(markdown: str) -> dict[str, str]:
    out: dict[str, str] = {}
    current = ""
    for line in markdown.splitlines():
        if line.startswith("## "):
            current = line[3:]
            out[current] = ""
        elif current:
            out[current] += line + "\n"
    return out


def test_review_content_matches_the_record():
    md = review_markdown(incident(), EVENTS, LINKED, at(120))
    assert md.startswith("# Post-incident review: INC-1042 Checkout failing\n")
    parts = sections(md)
    assert list(parts) == ["Summary", "Customer impact and duration", "Response times", "Roles",
                           "Timeline", "Linked incidents", "Stakeholder updates", "Root cause",
                           "Contributing factors", "What went well", "What went badly",
                           "Action items"]
    assert parts["Summary"].strip() == "Card payments time out."
    impact = parts["Customer impact and duration"]
    assert "- **Mitigated:** 2026-05-04 10:40 UTC" in impact
    assert "- **Duration of impact:** 1 h 43 min" in impact  # started 09:52, resolved 11:35
    times = parts["Response times"]
    assert "**TTD** (impact start to detection): 5 min" in times
    assert "**TTA** (logged to acknowledged): 1 min" in times
    assert "(logged to first mitigation): 40 min" in times
    assert "**TTR** (logged to resolved): 1 h 35 min" in times
    roles = parts["Roles"]
    assert "- **Incident commander:** claire" in roles
    assert "- **Communications lead:** tom" in roles
    assert "- **Scribe:** *not assigned*" in roles
    timeline = parts["Timeline"]
    assert "- 2026-05-04 10:12 · claire · **DECISION: Fail over card traffic to Stripe**" \
        in timeline
    assert "**FINDING: Retry storm triples PSP load**" in timeline
    assert "**MITIGATION: Error rate back to baseline**" in timeline
    assert "10:20 · INC-1043 · lucia · note: Customers abort at payment" in timeline
    assert "10:14 · claire · action item: Lower PSP retries\n" in timeline  # named once
    assert "review" not in timeline  # the review's own fields are not timeline entries
    assert "INC-1043 (duplicate of this): Customers cannot complete checkout, resolved" in \
        parts["Linked incidents"]
    assert "Public wording: Some card payments fail." in parts["Stakeholder updates"]
    assert parts["Root cause"].strip() == "A degraded Adyen node."
    assert parts["Contributing factors"].strip() == "*Not written yet.*"
    assert parts["What went well"].strip() == "Failover in 20 min.\n\n\\- fast"
    items = parts["Action items"]
    assert "- **open**: Lower PSP retries; owner kenji; due 2026-05-08" in items
    assert "- done: Alert on PSP latency; owner *nobody yet*; due *no date*" in items


def test_an_open_incident_says_so():
    md = review_markdown(incident(status="in_progress", resolved_at=None,
                                  resolution_code=None), EVENTS[:3], [], at(30))
    assert "38 min so far (still open)" in md and "(logged to resolved): n/a" in md
    assert "*No stakeholder update was published.*" in md and "## Linked incidents" not in md


HOSTILE = "# [click](javascript:alert(1)) <script>x</script> *bold* `code` &amp; | ~~s~~"


def test_review_is_commonmark_and_record_text_stays_literal():
    events = [*EVENTS, event(60, "note", HOSTILE + "\n\n    indented\n> quote\n1. item")]
    md = review_markdown(incident(title=HOSTILE, description=HOSTILE), events, LINKED, at(120))
    tokens = MarkdownIt("commonmark").parse(md)
    kinds = {t.type for t in tokens}
    assert not kinds & {"html_block", "code_block", "fence", "blockquote_open",
                        "ordered_list_open", "hr"}
    headings = [tokens[i + 1].content for i, t in enumerate(tokens)
                if t.type == "heading_open"]
    assert len(headings) == 13 and headings[0].startswith("Post-incident review")
    children = [c for t in tokens if t.children for c in t.children]
    assert not {c.type for c in children} & {"link_open", "html_inline", "code_inline",
                                             "image"}
    html = MarkdownIt("commonmark").render(md)
    assert "<script>" not in html and 'href="javascript' not in html
    assert "# [click](javascript:alert(1)) &lt;script&gt;" in html  # shown, literally


@pytest.mark.parametrize(("text", "expected"), [
    ("plain", "plain"), ("a  b\nc", "a b c"), ("*x* _y_", "\\*x\\* \\_y\\_"),
    ("[a](b)", "\\[a\\](b)"), ("<b>&", "\\<b\\>\\&"), ("#1 | ~", "\\#1 \\| \\~"), (None, "")])
def test_inline(text, expected):
    assert inline(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("one\ntwo", "one\\\ntwo"), ("a\n\n\nb", "a\n\nb"),
    ("- x\n+ y\n> z\n1. w\n2) v", "\\- x\\\n\\+ y\\\n\\> z\\\n\\1. w\\\n\\2) v"),
    ("    code", "code"), ("===", "\\==="), ("", "")])
def test_block(text, expected):
    assert block(text) == expected


@pytest.mark.parametrize(("seconds", "text"), [(None, "n/a"), (-5, "0 s"), (59, "59 s"),
                                               (60, "1 min"), (3599, "59 min"),
                                               (3600, "1 h 00 min"), (5400, "1 h 30 min"),
                                               (90000, "1 d 1 h")])
def test_span(seconds, text):
    assert span(seconds) == text


def test_response_times_of_a_fresh_incident():
    times = response_times(incident(acknowledged_at=None, resolved_at=None, started_at=None),
                           None, at(10))
    assert (times.ttd, times.tta, times.ttm, times.ttr) == (None, None, None, None)
    assert times.duration == 13 * 60 and times.ongoing  # from detection
