"""The status page in its three formats, from a :class:`~.statuspage.Snapshot`: plain HTML
(a small stylesheet, no JavaScript; phone width, dark mode, landmarks and a word beside every
colour), JSON, and an Atom feed (RFC 4287) of the public updates.

Every text is escaped here: public wording is written by people and shown as text, never as
markup.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from incidenttui import __version__
from incidenttui.api.paths import STATUS_ATOM, STATUS_JSON, STATUS_PAGE
from incidenttui.domain.statuspage import ComponentState
from incidenttui.server.statuspage import Snapshot

ATOM_NS = "http://www.w3.org/2005/Atom"

#: The page's stylesheet: light by default, dark when the reader's system asks for it. The
#: state colours meet WCAG AA contrast against their background in both schemes, and each
#: state is also written out in words.
STYLE = """
:root{--bg:#fff;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--card:#f6f8fa;
--ok:#1a7f37;--maint:#0b5cad;--degraded:#8a5a00;--partial:#b35900;--major:#c21f30}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9da7b3;
--line:#30363d;--card:#161b22;--ok:#3fb950;--maint:#58a6ff;--degraded:#d29922;
--partial:#f0883e;--major:#ff7b72}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header,main,footer{max-width:48rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
a{color:var(--maint)}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.banner{padding:.75rem 1rem;border-radius:.5rem;border:1px solid var(--line);
background:var(--card);font-weight:600}
.plain{list-style:none;padding:0;margin:0}
.component{border:1px solid var(--line);border-radius:.5rem;padding:.75rem 1rem;
margin:.5rem 0;background:var(--card)}
.row{display:flex;justify-content:space-between;gap:1rem;flex-wrap:wrap}
.state{font-weight:600}
.state::before{content:"";display:inline-block;width:.7em;height:.7em;border-radius:50%;
margin-right:.4em;background:currentColor}
.s-operational{color:var(--ok)}.s-maintenance{color:var(--maint)}
.s-degraded{color:var(--degraded)}.s-partial_outage{color:var(--partial)}
.s-major_outage{color:var(--major)}
ol.bars{display:flex;gap:1px;list-style:none;padding:0;margin:.5rem 0 0;height:1.5rem}
ol.bars li{flex:1;background:currentColor;border-radius:1px;min-width:1px}
.legend{color:var(--muted);font-size:.85rem;display:flex;justify-content:space-between}
article{border-left:4px solid var(--line);padding:.25rem 1rem;margin:.75rem 0}
time,.muted{color:var(--muted);font-size:.9rem}
.update p{margin:.25rem 0 .75rem;white-space:pre-wrap;overflow-wrap:anywhere}
"""


def render_all(shot: Snapshot) -> dict[str, bytes]:
    """The page, the JSON and the feed of one snapshot."""
    return {"html": html_page(shot).encode(), "json": json_body(shot),
            "atom": atom_feed(shot).encode()}


def json_body(shot: Snapshot) -> bytes:
    return json.dumps(shot.data, ensure_ascii=False, separators=(",", ":")).encode()


def _when(value: str) -> str:
    moment = datetime.fromisoformat(value)
    return f'<time datetime="{escape(value)}">{moment:%Y-%m-%d %H:%M} UTC</time>'


def _state(state: str) -> str:
    label = ComponentState(state).label
    return f'<span class="state s-{escape(state)}">{escape(label)}</span>'


def _bars(component: dict[str, Any], start: str) -> str:
    from datetime import date, timedelta

    first = date.fromisoformat(start)
    days = component["history"]
    good = sum(1 for s in days if s in ("operational", "maintenance"))
    items = "".join(
        f'<li class="s-{escape(s)}" title="{first + timedelta(days=n)}: '
        f'{escape(ComponentState(s).label)}"><span class="vh">{first + timedelta(days=n)}: '
        f'{escape(ComponentState(s).label)}</span></li>' for n, s in enumerate(days))
    name = escape(component["name"])
    return (f'<ol class="bars" aria-label="{name}, the last {len(days)} days">{items}</ol>'
            f'<div class="legend" aria-hidden="true"><span>{len(days)} days ago</span>'
            f'<span>{good} of {len(days)} days without an outage</span><span>Today</span></div>')


def html_page(shot: Snapshot) -> str:
    """The status page as one HTML document (no script)."""
    data = shot.data
    title = escape(data["title"])
    overall = data["overall"]
    headline = {"operational": "All systems operational",
                "maintenance": "Scheduled maintenance in progress"}.get(
        overall, f"Current status: {ComponentState(overall).label}")
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        f"<title>{title}</title>",
        f'<link rel="alternate" type="application/atom+xml" title="{title}" '
        f'href="{STATUS_ATOM}">',
        f"<style>{STYLE}</style></head><body>",
        '<a class="skip" href="#main">Skip to the status</a>',
        f'<header role="banner"><h1>{title}</h1>',
        f'<p class="banner" role="status"><span class="s-{escape(overall)} state">'
        f"{escape(headline)}</span></p></header>",
        '<main id="main" role="main">',
    ]
    if data["incidents"]:
        parts.append('<section aria-labelledby="h-incidents"><h2 id="h-incidents">'
                     "Current incidents</h2>")
        for item in data["incidents"]:
            names = ", ".join(escape(c["name"]) for c in item["components"]) or "Our services"
            parts.append(f'<article class="incident" id="incident-{escape(item["id"])}" '
                         f'aria-label="Incident affecting {names}">'
                         f"<h3>Affecting {names}</h3>"
                         f'<p class="muted">Since {_when(item["since"])}</p>'
                         '<ol class="plain updates">')
            for update in item["updates"]:
                parts.append(f'<li class="update">{_when(update["at"])}'
                             f'<p>{escape(update["text"])}</p></li>')
            parts.append("</ol></article>")
        parts.append("</section>")
    if data["maintenance"]:
        parts.append('<section aria-labelledby="h-maint"><h2 id="h-maint">'
                     "Scheduled maintenance</h2>")
        for window in data["maintenance"]:
            state = "In progress" if window["active"] else "Planned"
            names = ", ".join(escape(n) for n in window["components"])
            reason = escape(window["reason"]) or "Planned maintenance"
            parts.append(f'<article class="maintenance"><h3>{names}</h3>'
                         f'<p><span class="state s-maintenance">{state}</span> '
                         f'{_when(window["starts_at"])} to {_when(window["ends_at"])}</p>'
                         f"<p>{reason}</p></article>")
        parts.append("</section>")
    parts.append('<section aria-labelledby="h-components"><h2 id="h-components">'
                 'Components</h2><ul class="plain">')
    for component in data["components"]:
        parts.append(f'<li class="component" id="component-{escape(component["id"])}">'
                     f'<div class="row"><span class="name">{escape(component["name"])}</span>'
                     f'{_state(component["state"])}</div>'
                     f'{_bars(component, data["history_start"])}</li>')
    if not data["components"]:
        parts.append('<li class="muted">No components are published yet.</li>')
    parts.append("</ul></section></main>")
    parts.append(f'<footer role="contentinfo"><p class="muted">Updated {_when(data["updated_at"])}'
                 f' · <a href="{STATUS_ATOM}">Atom feed</a> · <a href="{STATUS_JSON}">JSON</a>'
                 "</p></footer></body></html>")
    return "".join(parts)


def atom_feed(shot: Snapshot, base: str = "") -> str:
    """The public updates as an Atom 1.0 feed: feed id, title, updated, author and a self
    link; each entry with id, title, updated, content (RFC 4287 §4.1)."""
    data = shot.data
    feed = data["feed"]
    updated = feed[0]["at"] if feed else data["updated_at"]
    parts = ['<?xml version="1.0" encoding="utf-8"?>',
             f'<feed xmlns="{ATOM_NS}">',
             f"<id>{xml_escape(_tag('feed'))}</id>",
             f"<title>{xml_escape(data['title'])}</title>",
             f"<updated>{_rfc3339(updated)}</updated>",
             f"<author><name>{xml_escape(data['title'])}</name></author>",
             '<link rel="self" type="application/atom+xml" '
             f'href="{xml_escape(base + STATUS_ATOM)}"/>',
             f'<link rel="alternate" type="text/html" href="{xml_escape(base + STATUS_PAGE)}"/>',
             f'<generator version="{__version__}">incidenttui</generator>']
    for entry in feed:
        names = ", ".join(entry["components"]) or "Our services"
        parts += ["<entry>",
                  f"<id>{xml_escape(_tag('update/' + entry['id']))}</id>",
                  f"<title>{xml_escape('Update on ' + names)}</title>",
                  f"<updated>{_rfc3339(entry['at'])}</updated>",
                  f'<link rel="alternate" type="text/html" '
                  f'href="{xml_escape(base + STATUS_PAGE)}#incident-{entry["incident"]}"/>',
                  f'<content type="text">{xml_escape(entry["text"])}</content>',
                  "</entry>"]
    parts.append("</feed>")
    return "\n".join(parts)


def _tag(what: str) -> str:
    """A permanent, unique entry id (RFC 4151 tag URI): it never changes with the host."""
    return f"tag:incidenttui,2026:status/{what}"


def _rfc3339(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
