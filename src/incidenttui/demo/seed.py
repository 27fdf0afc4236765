"""The demo data set: a realistic e-commerce organisation and its last 90 days of incidents.

:func:`seed_demo` applies the organisation (teams, users, services, on-call schedules and
escalation policies: ``demo/organisation.toml``, through the code of ``incidenttui admin
apply``), then writes about 300 past incidents and a handful of live ones (a P1 major
incident on payments, a DDoS on the storefront, a leaked API key, search index lag, a new P2
waiting for an acknowledgement, an incident on hold for a vendor).

Everything is deterministic for a given ``seed`` and ``now``: a ``random.Random`` drives every
choice, UUIDs included. Every change to an incident comes from the domain's effect functions
(:func:`~incidenttui.domain.effects.create_effect`, ``act_effect``, ``patch_effect``,
``escalate_effect``, ``note_effect``, ``link_effect``), the ones the server's
:class:`~incidenttui.server.service.Writer` applies, walking each incident through its moves with
increasing timestamps: the field changes and the timeline events are exactly what a live server
would have written, so clients read seeded and live data alike. Only the writing differs: the
rows go in with bulk INSERTs, for speed. Every row is also recorded in the change feed, so
syncing clients receive the seed.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import insert, update
from sqlmodel import Session, SQLModel, col, select

from incidenttui.domain import (
    DEFAULT_SLA,
    MATRIX,
    Action,
    Category,
    EscalationKind,
    EventKind,
    LinkKind,
    Priority,
    ResolutionCode,
    Role,
    Status,
    priority_for,
)
from incidenttui.domain.effects import (
    Effect,
    EventDraft,
    act_effect,
    create_effect,
    escalate_effect,
    link_effect,
    note_effect,
    patch_effect,
)
from incidenttui.domain.major import iso, major_event_effect
from incidenttui.domain.organisation import Organisation
from incidenttui.domain.permissions import SEES_ALL_RESTRICTED, is_restricted
from incidenttui.domain.playbooks import DEFAULT_PLAYBOOKS, PlaybookKind, check_text
from incidenttui.domain.refs import INC, ref, series_for
from incidenttui.domain.statuspage import public_update_effect
from incidenttui.server.changes import ChangeRow, record_changes
from incidenttui.server.db import Database
from incidenttui.server.membership import IncidentMember
from incidenttui.server.models import Counter, Incident, TimelineEvent
from incidenttui.server.service import COUNTERS, event_json, incident_json, next_numbers

#: How many past incidents the data set holds (spread over :data:`HISTORY_DAYS`).
PAST_INCIDENTS = 300
#: How far back the past incidents go.
HISTORY_DAYS = 90
#: The title of the demo's forgotten acknowledgement (the stale view finds it).
FORGOTTEN_TITLE = "Gift card balance shows 0.00 at checkout"
#: The title of the live P1 major incident.
MAJOR_TITLE = "Checkout failing: payment gateway timeouts"
#: The live incidents that are security ones (restricted, numbered SEC-n).
LIVE_SECURITY = frozenset({"ddos", "leaked-key", "breach"})
#: The e-mail domain of the demo organisation.
EMAIL_DOMAIN = "shop.example"

# -- the organisation ----------------------------------------------------------------------

#: The demo's teams, people, services, on-call schedules and escalation policies, as
#: organisation code (the file ``incidenttui admin apply`` reads; package data).
ORGANISATION_FILE = "organisation.toml"


@functools.cache
def demo_organisation() -> Organisation:
    """The organisation :data:`ORGANISATION_FILE` declares, read and checked by the same
    code as ``incidenttui admin apply``."""
    from importlib.resources import files

    from incidenttui.server.organisation import parse_text

    text = files("incidenttui.demo").joinpath(ORGANISATION_FILE).read_text(encoding="utf-8")
    return parse_text(text, "toml", f"the demo organisation (demo/{ORGANISATION_FILE})")


#: How often each service has incidents, relative to the others.
SERVICE_WEIGHTS: dict[str, float] = {
    "storefront": 1.2, "checkout": 1.2, "payments": 1.3, "search": 1.0, "catalog": 0.8,
    "accounts": 0.8, "order-management": 0.9, "erp-sync": 1.0, "cdn": 0.9,
}

# -- incident templates --------------------------------------------------------------------

RC = ResolutionCode
C = Category


@dataclass(frozen=True)
class _Template:
    """A kind of incident a service has: titles, category, priority range, fixes, notes."""

    service: str
    category: Category
    titles: tuple[str, ...]
    priorities: tuple[int, int]
    fixes: tuple[tuple[ResolutionCode, str], ...]
    notes: tuple[str, ...] = ()
    weight: float = 1.0


def _t(service: str, category: Category, titles: Sequence[str], priorities: tuple[int, int],
       fixes: Sequence[tuple[ResolutionCode, str]], notes: Sequence[str] = (),
       weight: float = 1.0) -> _Template:
    return _Template(service, category, tuple(titles), priorities, tuple(fixes), tuple(notes),
                     weight)


TEMPLATES: tuple[_Template, ...] = (
    # payments
    _t("payments", C.THIRD_PARTY,
       ["Payment gateway timeouts from {psp}", "{psp} API latency above {secs}s",
        "Payment gateway returns 502 for {pct}% of authorisations"], (1, 3),
       [(RC.THIRD_PARTY_FIX, "{psp} fixed a degraded node in their EU cluster; authorisation "
                             "latency is back to baseline."),
        (RC.CONFIG_CHANGE, "Shifted card traffic to the secondary PSP and lowered the PSP "
                           "client timeout to 5s."),
        (RC.WORKAROUND, "Routed card payments through the secondary PSP until {psp} recovered.")],
       ["{psp} status page shows degraded performance in EU.",
        "Opened {psp} support case {ticket}.",
        "Authorisation success rate {pct}% below baseline since {hhmm}.",
        "Our client retries 3x on timeout; that triples the load on the PSP."], weight=1.5),
    _t("payments", C.THIRD_PARTY, ["Card authorisation failures above {pct}% for {scheme}"],
       (2, 3),
       [(RC.THIRD_PARTY_FIX, "The {scheme} acquirer fixed a routing issue; decline rate normal."),
        (RC.WORKAROUND, "Banner asked customers to pay with PayPal or Klarna until {scheme} "
                        "authorisations recovered.")],
       ["Declines are refusal code 91 (issuer unavailable), all {scheme}.",
        "Other card schemes unaffected."]),
    _t("payments", C.SOFTWARE_BUG,
       ["3-D Secure challenge page not loading", "3-D Secure redirect loop on mobile Safari"],
       (2, 3),
       [(RC.ROLLBACK, "Rolled back checkout frontend {release}; its CSP header blocked the "
                      "issuer's challenge iframe."),
        (RC.FIXED, "Added the issuers' ACS domains to the CSP frame-src list.")],
       ["Only card payments that need a challenge fail; frictionless flow works.",
        "Reproduced with a test card in staging."]),
    _t("payments", C.DATA, ["Refunds stuck in 'pending' since {hhmm}",
                            "Refund API calls rejected by {psp}"], (3, 4),
       [(RC.FIXED, "Replayed {n} refund requests after fixing the idempotency key format."),
        (RC.THIRD_PARTY_FIX, "{psp} lifted an erroneous merchant-account restriction.")],
       ["Finance reports {k} customer complaints about missing refunds."]),
    _t("payments", C.PERFORMANCE, ["Payment webhook backlog: {n} notifications unprocessed"],
       (3, 4),
       [(RC.RESTART, "Restarted the webhook consumer; the backlog drained in {minutes} min."),
        (RC.CONFIG_CHANGE, "Raised webhook consumer concurrency from 4 to 16.")],
       ["Orders stay in 'payment pending' until their webhook is processed."]),
    _t("payments", C.DATA, ["Duplicate captures on {psp} orders"], (2, 3),
       [(RC.FIXED, "Voided {k} duplicate captures and fixed the retry that re-sent captures "
                   "after a timeout.")],
       ["Finance confirms {k} customers charged twice."]),
    _t("payments", C.OTHER, ["Fraud rules blocking legitimate orders from {country}"], (3, 4),
       [(RC.CONFIG_CHANGE, "Relaxed the velocity rule for {country}; {k} held orders released.")],
       ["Rule change from yesterday raised the risk score for new customers."], weight=0.6),
    # checkout
    _t("checkout", C.PERFORMANCE,
       ["Checkout p95 latency above {secs}s", "Checkout slow: p99 {secs}s on /checkout/confirm"],
       (2, 3),
       [(RC.CONFIG_CHANGE, "Raised the database connection pool from 20 to 50; p95 back to "
                           "650 ms."),
        (RC.ROLLBACK, "Rolled back {release}: an N+1 query on basket promotions."),
        (RC.RESTART, "Restarted checkout pods stuck in long GC pauses.")],
       ["DB connection pool saturated during the slow period.",
        "Correlates with the {release} deploy at {hhmm}."], weight=1.3),
    _t("checkout", C.SOFTWARE_BUG,
       ["Checkout 500 errors after release {release}",
        "Checkout returns HTTP 500 for {pct}% of requests"], (1, 3),
       [(RC.ROLLBACK, "Rolled back {release}; the new address validation threw on empty house "
                      "numbers."),
        (RC.FIXED, "Hotfix deployed: null check in the tax calculation.")],
       ["Sentry: NullPointerException in AddressValidator, {n} events.",
        "Only guest checkouts affected."]),
    _t("checkout", C.SOFTWARE_BUG, ["Voucher codes rejected at checkout",
                                    "Gift cards cannot be redeemed"], (3, 4),
       [(RC.FIXED, "Fixed the voucher validity check that compared dates in local time."),
        (RC.CONFIG_CHANGE, "Re-enabled the gift card provider in the payment methods config.")],
       ["Marketing campaign sent {n} voucher codes this morning."]),
    _t("checkout", C.DATA, ["Shipping options missing for {country}"], (3, 4),
       [(RC.CONFIG_CHANGE, "Restored the {country} shipping zone that a carrier import "
                           "overwrote.")],
       ["Carrier rate import ran at {hhmm}."]),
    _t("checkout", C.SOFTWARE_BUG, ["Basket totals wrong when mixing sale items"], (3, 3),
       [(RC.FIXED, "Fixed rounding order of percentage and fixed-amount discounts.")],
       ["Difference is a few cents per order; {k} orders affected."], weight=0.6),
    # storefront
    _t("storefront", C.PERFORMANCE,
       ["Storefront homepage slow in {region}", "Product pages p95 above {secs}s"], (3, 4),
       [(RC.CONFIG_CHANGE, "Re-enabled edge caching for the homepage fragments."),
        (RC.FIXED, "Removed a blocking third-party tag from the page head.")],
       ["Origin response times normal; time is spent in the browser.",
        "Lighthouse score dropped from 78 to 41."]),
    _t("storefront", C.SOFTWARE_BUG, ["Product images missing on category pages"], (4, 5),
       [(RC.FIXED, "Fixed image URLs for products without a primary image."),
        (RC.NOT_REPRODUCIBLE, "Could not reproduce after the CDN purge; monitoring.")]),
    _t("storefront", C.SOFTWARE_BUG, ["Mobile app crashes on launch (iOS {ios})"], (2, 3),
       [(RC.WORKAROUND, "Disabled the new home carousel by remote config; hotfix build "
                        "submitted to the App Store."),
        (RC.FIXED, "Hotfix build released.")],
       ["Crash-free sessions down to {pct}% on iOS {ios}.",
        "Android app unaffected."]),
    _t("storefront", C.CAPACITY, ["Storefront pods OOM-killed",
                                  "Storefront autoscaling maxed out at {k} pods"], (2, 3),
       [(RC.CONFIG_CHANGE, "Raised the memory limit to 2 GiB and max replicas to 60."),
        (RC.RESTART, "Rolling restart cleared the leaking cache; fix scheduled.")],
       ["Memory grows ~200 MiB/h per pod since {release}."]),
    _t("storefront", C.SOFTWARE_BUG, ["Cookie banner blocks add-to-basket on Safari"], (3, 4),
       [(RC.FIXED, "Consent manager updated; the overlay no longer captures clicks.")],
       weight=0.6),
    _t("storefront", C.SECURITY, ["Bot traffic spike on product pages",
                                  "Scraper hammering /product pages from {k} IPs"], (3, 4),
       [(RC.CONFIG_CHANGE, "Blocked the scraper's ASN at the WAF and enabled the bot challenge "
                           "on /product.")],
       ["Traffic from a single hosting provider ASN, rotating user agents."], weight=0.8),
    # search
    _t("search", C.PERFORMANCE,
       ["Search index lag {minutes} min", "Search shows stale prices (index lag {minutes} min)"],
       (3, 4),
       [(RC.CONFIG_CHANGE, "Scaled the indexer consumers from 4 to 12; lag back under 1 min."),
        (RC.RESTART, "Restarted the stuck indexer worker; it had lost its Kafka partition "
                     "lease.")],
       ["Indexer consumer lag {n} messages.", "A bulk price import at {hhmm} flooded the topic."],
       weight=1.3),
    _t("search", C.SOFTWARE_BUG, ["Search returns no results for {term}"], (3, 4),
       [(RC.FIXED, "Fixed the analyzer for accented terms and reindexed.")],
       ["Affects queries with umlauts and accents."]),
    _t("search", C.CAPACITY, ["Elasticsearch cluster yellow: unassigned shards",
                              "Search cluster disk above {disk}%"], (3, 4),
       [(RC.CONFIG_CHANGE, "Added a data node and deleted old indices; cluster green."),
        (RC.FIXED, "Fixed the index lifecycle policy that stopped deleting old indices.")]),
    _t("search", C.PERFORMANCE, ["Autocomplete latency above {ms} ms"], (4, 5),
       [(RC.CONFIG_CHANGE, "Cached the top 10k prefixes at the edge.")]),
    # catalog
    _t("catalog", C.DATA, ["Price import failed: {n} SKUs not updated"], (2, 4),
       [(RC.FIXED, "Fixed the CSV encoding issue and re-ran the import."),
        (RC.WORKAROUND, "Imported the prices manually from the PIM export.")],
       ["Sale prices for the weekend campaign are missing."]),
    _t("catalog", C.SOFTWARE_BUG, ["PIM export job stuck",
                                   "PIM to shop export running {k} hours late"], (3, 4),
       [(RC.RESTART, "Restarted the export job; it had deadlocked on a product lock.")]),
    _t("catalog", C.DATA, ["Wrong stock shown for {brand} products"], (3, 4),
       [(RC.FIXED, "Corrected the warehouse mapping for {brand} and re-synced stock.")]),
    _t("catalog", C.SECURITY, ["API key exposed in public repository"], (2, 3),
       [(RC.CONFIG_CHANGE, "Rotated the key, removed it from git history and enabled secret "
                           "scanning push protection.")],
       ["GitHub secret scanning alert; the key was public for {k} hours.",
        "Access logs show no use of the key from unknown addresses."], weight=0.4),
    # accounts
    _t("accounts", C.AVAILABILITY, ["Customers cannot log in: {provider} sign-in fails"],
       (2, 3),
       [(RC.CONFIG_CHANGE, "Renewed the expired {provider} client secret."),
        (RC.THIRD_PARTY_FIX, "{provider} resolved their identity service outage.")],
       ["E-mail/password login works; only {provider} sign-in affected."]),
    _t("accounts", C.THIRD_PARTY, ["Password reset emails not delivered"], (3, 4),
       [(RC.THIRD_PARTY_FIX, "The mail provider removed our sending IP from a blocklist."),
        (RC.CONFIG_CHANGE, "Fixed the SPF record after the DNS migration.")]),
    _t("accounts", C.SECURITY, ["Credential stuffing attempt on login endpoint",
                                "Spike in failed logins from {k} IPs"], (2, 3),
       [(RC.CONFIG_CHANGE, "Enabled CAPTCHA after 3 failures and blocked the source ranges; "
                           "affected accounts forced to reset passwords.")],
       ["{n} failed logins in 10 minutes; {k} successful logins look suspicious."]),
    _t("accounts", C.SECURITY, ["Suspicious admin login from unknown IP"], (2, 3),
       [(RC.FALSE_ALARM, "It was a colleague on a new VPN exit node; confirmed in person."),
        (RC.CONFIG_CHANGE, "Session revoked, password reset, hardware key enforced.")],
       weight=0.5),
    _t("accounts", C.SOFTWARE_BUG, ["Account page shows wrong order history"], (2, 3),
       [(RC.FIXED, "Fixed a cache key that ignored the customer id.")], weight=0.4),
    # order management
    _t("order-management", C.SOFTWARE_BUG, ["Orders stuck in 'payment authorised'",
                                            "{n} orders not released to the warehouse"], (2, 3),
       [(RC.FIXED, "Fixed the release job's query and released the stuck orders."),
        (RC.RESTART, "Restarted the order-release worker; backlog processed.")],
       ["Warehouse cut-off for same-day shipping is 15:00."]),
    _t("order-management", C.THIRD_PARTY, ["Order confirmation emails delayed {minutes} min"],
       (3, 4),
       [(RC.THIRD_PARTY_FIX, "The mail provider cleared their queue backlog.")]),
    _t("order-management", C.AVAILABILITY, ["Returns portal returns 502"], (3, 4),
       [(RC.RESTART, "Restarted the returns service after a failed config reload.")]),
    _t("order-management", C.SOFTWARE_BUG, ["Invoice PDFs missing VAT number"], (4, 5),
       [(RC.FIXED, "Fixed the invoice template for B2B customers.")], weight=0.6),
    # ERP / warehouse sync
    _t("erp-sync", C.DATA, ["ERP stock sync stuck", "ERP stock sync {minutes} min behind"],
       (2, 4),
       [(RC.RESTART, "Restarted the sync worker and replayed the missed deltas."),
        (RC.THIRD_PARTY_FIX, "NordStock fixed their API gateway; the sync caught up.")],
       ["Risk of overselling low-stock items while the sync is behind."], weight=1.3),
    _t("erp-sync", C.NETWORK, ["Warehouse order export failing: SFTP authentication error"],
       (2, 3),
       [(RC.CONFIG_CHANGE, "Deployed the rotated SFTP key; exports are flowing again.")]),
    _t("erp-sync", C.DATA, ["Nightly ERP price sync incomplete"], (3, 5),
       [(RC.FIXED, "Skipped products with invalid tax classes and re-ran the sync.")]),
    # CDN
    _t("cdn", C.NETWORK, ["CDN 5xx in {region}", "Elevated 503s from CDN edge in {region}"],
       (2, 3),
       [(RC.THIRD_PARTY_FIX, "CDN provider rerouted traffic away from a faulty POP."),
        (RC.CONFIG_CHANGE, "Raised the origin timeout and purged the error responses.")],
       ["Only {region} POPs affected; other regions normal."], weight=1.2),
    _t("cdn", C.OTHER, ["TLS certificate on {host} expires in {days} days"], (4, 5),
       [(RC.CONFIG_CHANGE, "Renewed the certificate and enabled automatic renewal.")]),
    _t("cdn", C.PERFORMANCE, ["CDN cache hit ratio dropped to {hit}%"], (4, 4),
       [(RC.CONFIG_CHANGE, "Removed a tracking query parameter from the cache key.")]),
    _t("cdn", C.NETWORK, ["DNS resolution failures for {host}"], (2, 3),
       [(RC.CONFIG_CHANGE, "Fixed the delegation after the DNS provider migration.")]),
)

#: Customer-facing symptoms per service: titles of incidents that turn out to be duplicates.
SYMPTOMS: dict[str, tuple[str, ...]] = {
    "storefront": ("Customers report the shop is very slow",),
    "checkout": ("Customers cannot complete checkout", "Customers report errors at checkout"),
    "payments": ("Customers report card payments failing",),
    "search": ("Customers report search shows old prices",),
    "catalog": ("Customer care: wrong prices on product pages",),
    "accounts": ("Customers report login problems",),
    "order-management": ("Customers ask where their order confirmation is",),
    "erp-sync": ("Warehouse reports orders missing from the pick list",),
    "cdn": ("Customers report images not loading",),
}

#: Notes any incident may get while it is worked on.
GENERIC_NOTES: tuple[str, ...] = (
    "Checked the dashboards: error rate {pct}% since {hhmm}.",
    "No deploys on this service in the last 24h.",
    "Customer care has {k} tickets about this.",
    "Looking at logs around {hhmm}; nothing obvious yet.",
    "Mitigation in place; monitoring for 30 min before resolving.",
    "Reproduced in staging.",
    "Added a dashboard panel for this signal.",
    "Runbook step 3 (restart) did not help.",
)
HOLD_REASONS: dict[bool, tuple[str, ...]] = {
    True: ("Waiting for {vendor} support (case {ticket}).",
           "Waiting for {vendor} to deploy their fix."),
    False: ("Waiting for tonight's change window to deploy the fix.",
            "Waiting for the customer to confirm the fix.",
            "Waiting for the database team's maintenance to finish."),
}
REOPEN_NOTES: tuple[str, ...] = (
    "Reopened: customer care reports the problem is back ({k} new tickets).",
    "Reopened: the alert fired again at {hhmm}.",
)
CANCEL_NOTES: tuple[str, ...] = (
    "False alarm: the synthetic check failed after a monitoring agent update.",
    "Opened by mistake; already tracked in another ticket.",
    "Customer confirmed it was their local network.",
)
DETECTION: tuple[str, ...] = (
    "Prometheus alert", "synthetic check", "Sentry error spike", "SLO burn-rate alert",
)
IMPACT_TEXT: dict[int, str] = {
    1: "Most customers affected; revenue at risk.",
    2: "Part of the customers or one sales channel affected.",
    3: "Few customers affected; a workaround exists.",
}
VENDORS: dict[str, str] = {
    "payments": "Adyen", "erp-sync": "NordStock", "cdn": "the CDN provider",
    "accounts": "the mail provider", "order-management": "the mail provider",
}

_FILL: dict[str, Callable[[random.Random], str]] = {
    "psp": lambda r: r.choices(["Adyen", "Stripe", "PayPal", "Klarna"], [5, 2, 2, 1])[0],
    "scheme": lambda r: r.choice(["Visa", "Mastercard", "Amex"]),
    "pct": lambda r: str(r.randint(3, 45)),
    "secs": lambda r: str(r.choice([2, 3, 4, 5])),
    "release": lambda r: f"r{r.randint(1800, 2400)}",
    "country": lambda r: r.choice(["Germany", "France", "the Netherlands", "Austria",
                                   "Switzerland", "Belgium", "Denmark"]),
    "region": lambda r: r.choice(["eu-west", "eu-central", "us-east", "ap-southeast"]),
    "ios": lambda r: r.choice(["17.5", "18.0", "18.1", "18.2"]),
    "minutes": lambda r: str(r.choice([15, 20, 25, 30, 40, 45, 60, 90])),
    "term": lambda r: r.choice(['"café"', '"größe 42"', '"tênis"', '"crème"']),
    "ms": lambda r: str(r.choice([400, 600, 800, 1200])),
    "n": lambda r: f"{r.choice([120, 340, 800, 1500, 4200, 12000, 48000])}",
    "brand": lambda r: r.choice(["Nordkap", "Alpina", "Urban Trail", "Kestrel"]),
    "provider": lambda r: r.choice(["Apple", "Google", "Facebook"]),
    "host": lambda r: r.choice(["static.shop.example", "img.shop.example",
                                "api.shop.example"]),
    "days": lambda r: str(r.randint(3, 14)),
    "disk": lambda r: str(r.randint(85, 95)),
    "hit": lambda r: str(r.randint(40, 70)),
    "k": lambda r: str(r.randint(3, 40)),
    "ticket": lambda r: f"{r.randint(10, 99)}-{r.randint(1000, 9999)}",
    "hhmm": lambda r: f"{r.randint(0, 23):02d}:{r.randrange(0, 60, 5):02d}",
}


class _Fill(dict[str, str]):
    """Placeholder values for one incident, drawn from the generator the first time used."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng

    def __missing__(self, key: str) -> str:
        value = _FILL[key](self.rng)
        self[key] = value
        return value

    def text(self, template: str) -> str:
        return template.format_map(self)


# -- building incidents --------------------------------------------------------------------


class _Future(Exception):
    """The next move of a walk would happen after ``now``: the incident stays where it is."""


@dataclass
class _Plan:
    """An incident before it is built: enough to number and link it in created order."""

    id: str
    created_at: datetime
    service: str
    title: str
    impact: int
    urgency: int
    template: _Template | None = None
    live: str | None = None
    duplicate_of: _Plan | None = None
    link: tuple[LinkKind, _Plan] | None = None
    fill: _Fill | None = None
    number: int = 0
    #: Its number's series: SEC for a security incident (restricted from the start).
    series: str = INC

    @property
    def ref(self) -> str:
        return ref(self.number, self.series)

    @property
    def restricted(self) -> bool:
        """Whether it is logged restricted (a security incident)."""
        category = self.template.category if self.template is not None else None
        return category == C.SECURITY or self.live in LIVE_SECURITY

    @property
    def priority(self) -> int:
        return int(priority_for(self.impact, self.urgency))


@dataclass(slots=True)
class _Incident:
    """An incident being built: the columns of ``models.Incident``, without ORM overhead."""

    id: str
    number: int
    series: str
    title: str
    description: str
    service: str
    category: str
    impact: int
    urgency: int
    priority: int
    status: str
    team: str | None
    assignee: str | None
    escalation_level: int
    management_engaged: bool
    major: bool
    reporter: str | None
    created_at: datetime
    updated_at: datetime
    detected_at: datetime | None
    started_at: datetime | None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    on_hold_since: datetime | None = None
    hold_seconds: float = 0.0
    reopen_count: int = 0
    resolution_code: str | None = None
    resolution_note: str | None = None
    links: list[dict[str, str]] = field(default_factory=list)
    version: int = 1
    field_versions: dict[str, int] = field(default_factory=dict)
    restricted: bool = False

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in Incident.model_fields}


@dataclass(slots=True)
class _Event:
    """A timeline event being built: the columns of ``models.TimelineEvent``."""

    id: str
    incident_id: str
    at: datetime
    kind: str
    actor: str | None
    text: str
    data: dict[str, Any]

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in TimelineEvent.model_fields}


#: The least time between two writes of one incident: the events of one write are at its
#: time plus a microsecond each (as :class:`Writer` stamps them), so a timeline sorted by time
#: keeps each write's events together and in order.
_STEP = timedelta(seconds=1)
_TICK = timedelta(microseconds=1)


@dataclass
class _Walk:
    """Moves one incident through its life with the domain's effect functions.

    Each move asks :mod:`incidenttui.domain.effects` for its :class:`Effect` and applies it
    the way :class:`incidenttui.server.service.Writer` does (fields set, versions bumped,
    events appended), so seeded incidents hold exactly what live ones would."""

    seeder: _Seeder
    incident: _Incident
    events: list[_Event] = field(default_factory=list)
    last: datetime | None = None

    def _at(self, at: datetime) -> datetime:
        if self.last is not None and at < self.last + _STEP:
            at = self.last + _STEP
        if at >= self.seeder.now:
            raise _Future
        return at

    def expect(self, at: datetime) -> None:
        """Raise :class:`_Future` now if a follow-up move due at ``at`` would be too late.

        Keeps pairs of moves together (acknowledge then assign), so no incident is left
        acknowledged with nobody assigned.
        """
        if at >= self.seeder.now:
            raise _Future

    def state(self) -> dict[str, Any]:
        """The incident's fields as the effect functions read them (service.incident_state)."""
        incident = self.incident
        return {name: getattr(incident, name) for name in _STATE_FIELDS}

    def effect(self, at: datetime, actor: str, effect: Effect) -> None:
        """Writer.effect: set the changes, bump the versions, append the events."""
        incident = self.incident
        if effect.changes:
            version = incident.version + 1
            field_versions = dict(incident.field_versions)
            for name, value in effect.changes.items():
                setattr(incident, name, value)
                field_versions[name] = version
            incident.field_versions = field_versions
            incident.version = version
            incident.updated_at = at
        elif effect.events:
            incident.version += 1
            incident.updated_at = at
        self.append(at, actor, effect.events)

    def append(self, at: datetime, actor: str, drafts: Sequence[EventDraft]) -> None:
        """Writer.event for each draft: a microsecond apart, in order."""
        for index, draft in enumerate(drafts):
            self.events.append(_Event(draft.id or self.seeder.new_id(), self.incident.id,
                                      at + index * _TICK, draft.kind.value, actor, draft.text,
                                      draft.data))
        if drafts:
            self.last = at + (len(drafts) - 1) * _TICK

    def act(self, at: datetime, actor: str, action: Action, code: str | None = None,
            note: str | None = None, comment: str | None = None) -> None:
        """A lifecycle move (``note`` is the resolution note; ``comment`` a separate note)."""
        at = self._at(at)
        self.effect(at, actor, act_effect(self.state(), action, at, resolution_code=code,
                                          resolution_note=note, note=comment))

    def note(self, at: datetime, actor: str, text: str) -> None:
        """Writer.note: a timeline note; the incident's version moves on."""
        at = self._at(at)
        self.effect(at, actor, note_effect(text))

    def tagged(self, at: datetime, actor: str, tag: str, text: str) -> None:
        """A quick entry of a major incident: a note with its tag (its id drawn as a plain
        note's, so the rest of the data set stays as it was)."""
        at = self._at(at)
        self.effect(at, actor, Effect({}, [EventDraft(EventKind.NOTE, text, {"tag": tag})]))

    def major_entry(self, at: datetime, actor: str, kind: EventKind,
                    data: dict[str, Any]) -> None:
        """Writer.major_event: a role, a stakeholder update or an action item. Its id comes
        from the incident and the entry, not from the generator, so adding one leaves every
        other random choice of the data set as it was."""
        at = self._at(at)
        digest = hashlib.sha256(f"{self.incident.id}/{kind}/{at.isoformat()}".encode())
        entry_id = str(uuid.UUID(bytes=digest.digest()[:16], version=4))
        self.effect(at, actor, major_event_effect(self.state(), kind, data, entry_id, at))

    def patch(self, at: datetime, actor: str, **asked: Any) -> None:
        """Writer.patch: field changes (here assignment and impact/urgency)."""
        at = self._at(at)
        self.effect(at, actor, patch_effect(self.state(), asked))

    def escalate(self, at: datetime, actor: str, kind: EscalationKind, reason: str,
                 to_team: str | None = None, to_user: str | None = None) -> None:
        """Writer.escalate: functional to a team (level rises) or hierarchical (management)."""
        at = self._at(at)
        target_level = self.seeder.team_levels[to_team] if to_team else None
        self.effect(at, actor, escalate_effect(self.state(), kind, reason, to_team=to_team,
                                               to_user=to_user, target_level=target_level))

    def link(self, at: datetime, actor: str, kind: LinkKind, target: _Plan) -> None:
        """Writer.link: add the link and a link event naming the target's number."""
        at = self._at(at)
        self.effect(at, actor, link_effect(self.state(), kind, target.id, target.ref))


#: The fields of an incident the effect functions read: all of them but the number.
_STATE_FIELDS = tuple(name for name in Incident.model_fields if name != "number")


class _Seeder:
    """Generates the whole data set in memory, deterministically from ``seed`` and ``now``."""

    def __init__(self, now: datetime, seed: int) -> None:
        self.now = now
        self.seed = seed
        self.rng = random.Random(seed)
        org = demo_organisation()
        self.team_levels = {team.id: team.level for team in org.teams}
        self.members: dict[str, list[str]] = {}
        for user in org.users:
            if user.role != Role.VIEWER:
                self.members.setdefault(user.team, []).append(user.id)
        self.owner = {service.id: service.team for service in org.services}
        self.plans: list[_Plan] = []
        self.walks: list[_Walk] = []

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def ago(self, minutes: float) -> datetime:
        return self.now - timedelta(minutes=minutes)

    def member(self, team: str, *, exclude: str | None = None) -> str:
        people = [u for u in self.members[team] if u != exclude] or self.members[team]
        return self.rng.choice(people)

    # -- planning ----------------------------------------------------------------------------

    def plan(self) -> list[_Plan]:
        """Every incident with its creation time and links, in created order."""
        rng = self.rng
        past: list[_Plan] = []
        by_service: dict[str, list[_Template]] = {}
        for template in TEMPLATES:
            by_service.setdefault(template.service, []).append(template)
        services = list(SERVICE_WEIGHTS)
        earliest, latest = HISTORY_DAYS * 86_400, 26 * 3_600
        while len(past) < PAST_INCIDENTS:
            service = rng.choices(services, [SERVICE_WEIGHTS[s] for s in services])[0]
            templates = by_service[service]
            template = rng.choices(templates, [t.weight for t in templates])[0]
            impact, urgency = self._pick_priority(template.priorities)
            fill = _Fill(rng)
            created = self.now - timedelta(seconds=rng.randint(latest, earliest))
            plan = _Plan(self.new_id(), created, service, fill.text(rng.choice(template.titles)),
                         impact, urgency, template=template, fill=fill)
            past.append(plan)
            if len(past) < PAST_INCIDENTS and rng.random() < 0.05:
                # Customer care logs the symptom minutes after the alert: a duplicate.
                child_impact, child_urgency = self._pick_priority(
                    (plan.priority, max(plan.priority, 4)))
                past.append(_Plan(self.new_id(), created + timedelta(seconds=rng.randint(
                    240, 1800)), service, rng.choice(SYMPTOMS[service]), child_impact,
                    child_urgency, template=template, duplicate_of=plan, fill=_Fill(rng)))
        past.sort(key=lambda p: p.created_at)
        self._plan_links(past)
        self.plans = sorted(past + self._live_plans(past), key=lambda p: p.created_at) \
            + self._offline_plans()
        return self.plans

    def _pick_priority(self, bounds: tuple[int, int]) -> tuple[int, int]:
        low, high = bounds
        weights = {1: 2, 2: 8, 3: 40, 4: 38, 5: 12}
        choices = list(range(low, high + 1))
        priority = self.rng.choices(choices, [weights[p] for p in choices])[0]
        cells = [cell for cell, p in MATRIX.items() if int(p) == priority]
        impact, urgency = self.rng.choice(cells)
        return int(impact), int(urgency)

    def _plan_links(self, past: list[_Plan]) -> None:
        causes = {"checkout": ("payments", "cdn"), "storefront": ("cdn", "search", "catalog"),
                  "order-management": ("erp-sync", "payments"), "search": ("catalog",)}
        for index, plan in enumerate(past):
            if plan.duplicate_of is not None:
                continue
            earlier = [p for p in past[:index] if p.duplicate_of is None]
            roll = self.rng.random()
            cause = [p for p in earlier if p.service in causes.get(plan.service, ())
                     and timedelta(0) < plan.created_at - p.created_at < timedelta(hours=6)]
            if cause and roll < 0.6:
                plan.link = (LinkKind.CAUSED_BY, cause[-1])
                continue
            related = [p for p in earlier if p.service == plan.service
                       and plan.created_at - p.created_at < timedelta(days=10)]
            if related and roll < 0.08:
                plan.link = (LinkKind.RELATED, related[-1])

    # -- past incidents ----------------------------------------------------------------------

    def create(self, plan: _Plan, at: datetime, reporter: str, team: str, description: str,
               *, assignee: str | None = None, detected: timedelta = timedelta(minutes=2),
               started: timedelta = timedelta(minutes=10), major: bool = False,
               category: Category | None = None) -> _Walk:
        """Writer.create: a new incident and its ``created`` event, from create_effect."""
        if category is None:
            assert plan.template is not None
            category = plan.template.category
        fields = {"title": plan.title, "description": description, "service": plan.service,
                  "category": category, "impact": plan.impact, "urgency": plan.urgency,
                  "team": team, "assignee": assignee, "major": major,
                  "detected_at": at - detected, "started_at": at - detected - started}
        effect = create_effect(plan.id, fields, reporter=reporter, now=at,
                               team=self.owner[plan.service])
        assert (category == C.SECURITY) == plan.restricted, plan.live
        walk = _Walk(self, _Incident(**effect.changes, number=plan.number, series=plan.series))
        walk.append(at, reporter, effect.events)
        self.walks.append(walk)
        return walk

    def past(self, plan: _Plan) -> None:
        """One incident of the last 90 days, walked as far as ``now`` allows."""
        rng = self.rng
        template = plan.template
        assert template is not None and plan.fill is not None
        fill = plan.fill
        owner = self.owner[plan.service]
        via_desk = plan.duplicate_of is not None or rng.random() < 0.55
        team = "service-desk" if via_desk else owner
        reporter = self.member(team)
        t = plan.created_at
        hhmm = t.strftime("%H:%M")
        if plan.duplicate_of is not None or via_desk and rng.random() < 0.5:
            source = f"Reported by customer care: {fill['k']} tickets since {hhmm} UTC."
        else:
            source = f"Detected by {rng.choice(DETECTION)} at {hhmm} UTC."
        description = f"{source}\n\nImpact: {IMPACT_TEXT[plan.impact]}"
        detected = timedelta(seconds=rng.randint(30, 900))
        started = timedelta(seconds=rng.randint(60, 1800 if plan.priority <= 2 else 7200))
        walk = self.create(plan, t, reporter, team, description, detected=detected,
                           started=started, major=plan.priority == 1 and rng.random() < 0.7)
        with contextlib.suppress(_Future):  # the rest of its life is still to come
            self._walk_past(walk, plan, template, fill, via_desk, owner)

    def _walk_past(self, walk: _Walk, plan: _Plan, template: _Template, fill: _Fill,
                   via_desk: bool, owner: str) -> None:
        rng = self.rng
        incident = walk.incident
        p = Priority(plan.priority)
        target = DEFAULT_SLA[p]
        t = plan.created_at
        minutes = timedelta(minutes=1)

        # Acknowledge: fast for P1, slow for P5; a few response breaches.
        ack_range = {1: (1, 9), 2: (2, 22), 3: (8, 100), 4: (20, 360), 5: (60, 1200)}[p]
        ack_delay = rng.uniform(*ack_range) * minutes
        if rng.random() < 0.03:
            ack_delay = target.response * rng.uniform(1.2, 3.0)
        desk = self.member("service-desk")
        responder = self.member(incident.team or owner)

        if plan.duplicate_of is not None:
            parent = plan.duplicate_of
            t += rng.uniform(2, 15) * minutes
            assign_at = t + rng.uniform(0.2, 1) * minutes
            walk.expect(assign_at)
            walk.act(t, desk, Action.ACKNOWLEDGE)
            t = assign_at
            walk.patch(t, desk, assignee=desk)
            t += rng.uniform(1, 5) * minutes
            walk.link(t, desk, LinkKind.DUPLICATE_OF, parent)
            t += rng.uniform(1, 5) * minutes
            if rng.random() < 0.5:
                walk.act(t, desk, Action.CANCEL, comment=f"Duplicate of {parent.ref}; "
                                                         "customers told it is being worked on.")
                return
            walk.act(t, desk, Action.RESOLVE, RC.DUPLICATE.value,
                     f"Duplicate of {parent.ref}; follow-up happens there.")
            t += rng.uniform(20, 72) * 60 * minutes
            walk.act(t, desk, Action.CLOSE)
            return

        if rng.random() < 0.03:
            # Cancelled: a false alarm or a ticket opened by mistake.
            t += ack_delay
            if rng.random() < 0.5:
                walk.act(t, responder, Action.ACKNOWLEDGE)
                t += rng.uniform(2, 30) * minutes
            walk.act(t, responder, Action.CANCEL, comment=fill.text(rng.choice(CANCEL_NOTES)))
            return

        t += ack_delay
        assign_at = t + rng.uniform(0.2, 2) * minutes
        walk.expect(assign_at)
        walk.act(t, responder, Action.ACKNOWLEDGE)
        t = assign_at
        walk.patch(t, responder, assignee=responder)
        assignee = responder

        if rng.random() < 0.05:
            # Re-assessed: the impact turned out larger or smaller than logged.
            new_impact = max(1, min(3, incident.impact + rng.choice([-1, 1])))
            t += rng.uniform(3, 20) * minutes
            walk.patch(t, assignee, impact=new_impact)
            p = Priority(incident.priority)
            target = DEFAULT_SLA[p]

        engage = {Priority.P1: 1.0, Priority.P2: 0.35, Priority.P3: 0.02}.get(p, 0.0)
        if rng.random() < engage:
            t += rng.uniform(2, 15) * minutes
            walk.escalate(t, assignee, EscalationKind.HIERARCHICAL,
                          f"{p.label} with customer impact on {plan.service}; informing "
                          "the duty manager.")

        # First-contact resolution at the service desk, or functional escalation.
        fcr_chance = 0.5 if p >= Priority.P3 else 0.1
        if via_desk and (template.category == C.SECURITY or rng.random() >= fcr_chance):
            t += rng.uniform(3, 30) * minutes
            expert = self.member(owner)
            hand_over = rng.random() < 0.5
            assign_at = t + rng.uniform(1, 10) * minutes
            if not hand_over:
                walk.expect(assign_at)
            walk.escalate(t, assignee, EscalationKind.FUNCTIONAL,
                          rng.choice([f"Beyond the service desk runbook; handing to {owner}.",
                                      f"No known error matches; needs {owner}.",
                                      f"Belongs to {owner} (service owner)."]),
                          to_team=owner, to_user=expert if hand_over else None)
            if not hand_over:
                t = assign_at
                walk.patch(t, expert, assignee=expert)
            assignee = expert
        if template.category == C.SECURITY and incident.team != "security":
            t += rng.uniform(3, 20) * minutes
            analyst = self.member("security")
            walk.escalate(t, assignee, EscalationKind.FUNCTIONAL,
                          "Possible security issue; handing to Security Operations.",
                          to_team="security", to_user=analyst)
            assignee = analyst

        t += rng.uniform(0.5, 10) * minutes
        walk.act(t, assignee, Action.START)
        if plan.link is not None:
            kind, other = plan.link
            t += rng.uniform(2, 20) * minutes
            walk.link(t, assignee, kind, other)

        self._work(walk, plan, template, fill, t, assignee, target.resolution)

    def _work(self, walk: _Walk, plan: _Plan, template: _Template, fill: _Fill,
              t: datetime, assignee: str, resolution_target: timedelta) -> None:
        """Notes, maybe a hold, the resolution, maybe a reopen, and the close."""
        rng = self.rng
        incident = walk.incident
        hours = timedelta(hours=1)
        opened = incident.created_at
        share = rng.uniform(0.08, 0.75) if rng.random() >= 0.03 else rng.uniform(1.1, 2.5)
        resolve_at = max(opened + resolution_target * share, t + timedelta(minutes=10))
        third_party = template.category == C.THIRD_PARTY or plan.service == "erp-sync"
        hold: tuple[datetime, datetime] | None = None
        if rng.random() < (0.3 if third_party else 0.1):
            span = (resolve_at - t).total_seconds()
            hold_start = t + timedelta(seconds=span * rng.uniform(0.2, 0.6))
            hold_for = timedelta(hours=rng.uniform(0.3, 4 if incident.priority <= 2 else 30))
            hold = (hold_start, hold_start + hold_for)
            resolve_at += hold_for

        notes = list(template.notes) + list(GENERIC_NOTES)
        count = rng.randint(1, 3) + (3 if incident.priority == 1 else 0)
        span = (resolve_at - t).total_seconds()
        steps: list[tuple[datetime, Callable[[datetime], None]]] = []
        for text in rng.sample(notes, min(count, len(notes))):
            at = t + timedelta(seconds=span * rng.uniform(0.05, 0.95))
            if hold is not None and hold[0] - timedelta(minutes=1) <= at <= hold[1]:
                continue  # nobody works on it while it waits
            steps.append((at, lambda at, text=text: walk.note(at, assignee, fill.text(text))))
        if hold is not None:
            reason = fill.text(rng.choice(HOLD_REASONS[third_party]).replace(
                "{vendor}", VENDORS.get(plan.service, "the vendor")))
            steps.append((hold[0], lambda at: walk.act(at, assignee, Action.HOLD,
                                                       comment=reason)))
            steps.append((hold[1], lambda at: walk.act(at, assignee, Action.RESUME)))
        for at, step in sorted(steps, key=lambda s: s[0]):
            step(at)

        code, note = rng.choice(template.fixes)
        walk.act(resolve_at, assignee, Action.RESOLVE, code.value, fill.text(note))
        t = resolve_at
        if rng.random() < 0.05:
            t += hours * rng.uniform(0.5, 20)
            walk.act(t, self.member("service-desk"), Action.REOPEN,
                     comment=fill.text(rng.choice(REOPEN_NOTES)))
            t += hours * rng.uniform(0.5, 6)
            walk.note(t, assignee, "Root cause was only partly fixed; applying the full fix.")
            t += hours * rng.uniform(0.2, 3)
            walk.act(t, assignee, Action.RESOLVE, RC.FIXED.value,
                     "Applied the complete fix and verified with customer care.")
        t += hours * rng.uniform(20, 72)
        walk.act(t, self.member("service-desk"), Action.CLOSE,
                 comment="Customer care confirmed; closing." if rng.random() < 0.3 else None)

    # -- live incidents ----------------------------------------------------------------------

    def _live_plans(self, past: list[_Plan]) -> list[_Plan]:
        def live(key: str, minutes_ago: float, service: str, title: str, impact: int,
                 urgency: int) -> _Plan:
            return _Plan(self.new_id(), self.ago(minutes_ago), service, title, impact, urgency,
                         live=key)

        return [
            live("major", 50, "payments", MAJOR_TITLE, 1, 1),
            live("checkout-dup", 46, "checkout", "Customers cannot complete checkout", 1, 2),
            live("checkout-latency", 40, "checkout", "Checkout p95 latency above 2s", 2, 1),
            live("ddos", 28, "storefront",
                 "DDoS on storefront: L7 flood on /search and product pages", 2, 1),
            live("leaked-key", 190, "erp-sync",
                 "Leaked API key: ERP integration key found in public GitHub repo", 2, 1),
            live("search-lag", 95, "search", "Search index lag 40 min", 2, 2),
            live("login", 6, "accounts", "Customers cannot log in with Apple ID", 2, 1),
            live("vendor-hold", 300, "erp-sync",
                 "ERP stock sync stuck: NordStock WMS API returns 503", 2, 2),
            live("cdn", 15, "cdn", "CDN 5xx in eu-west", 2, 2),
            live("breach", 3, "accounts",
                 "Personal data breach: customer export bucket was publicly readable", 1, 1),
        ]

    def _offline_plans(self) -> list[_Plan]:
        """Incidents logged on a client while it was offline: the server numbered them when
        they arrived, after every other one (so the others keep their numbers). Their ids
        come from a generator of their own: the shared one must not move, or every past
        incident would change."""
        ids = random.Random(f"{self.seed}:offline")
        return [_Plan(str(uuid.UUID(int=ids.getrandbits(128), version=4)), self.ago(270),
                      "checkout", FORGOTTEN_TITLE, 2, 2, live="forgotten")]

    def live(self, plan: _Plan, plans: Mapping[str, _Plan]) -> None:
        """A live incident, scripted minute by minute up to now."""
        getattr(self, f"_live_{plan.live.replace('-', '_')}")(plan, plans)  # type: ignore[union-attr]

    def _live_major(self, plan: _Plan, plans: Mapping[str, _Plan]) -> None:
        a = self.ago
        w = self.create(
            plan, plan.created_at, "amira.haddad", "service-desk",
            "Alert CheckoutPaymentErrors firing: /checkout/pay returns 504 for about a third of "
            "card payments since the alert fired. PayPal and Klarna unaffected.\n\n"
            f"Impact: {IMPACT_TEXT[1]} Card payments are ~70% of revenue.",
            detected=timedelta(minutes=3), started=timedelta(minutes=5), major=True,
            category=C.AVAILABILITY)
        w.act(a(49), "amira.haddad", Action.ACKNOWLEDGE)
        w.patch(a(48.7), "amira.haddad", assignee="amira.haddad")
        w.note(a(48), "amira.haddad", "Customer care: 14 tickets in 5 minutes, customers see "
                                      "'Your payment could not be processed'.")
        w.escalate(a(47), "amira.haddad", EscalationKind.FUNCTIONAL,
                   "Card payments failing at ~35%; needs the PSP integration experts.",
                   to_team="payments-experts", to_user="daniel.okafor")
        w.act(a(46), "daniel.okafor", Action.START)
        w.escalate(a(45), "daniel.okafor", EscalationKind.HIERARCHICAL,
                   "P1 on checkout, revenue impact about EUR 18k per hour; engaging the duty "
                   "manager (Claire Dubois) as incident commander.")
        w.note(a(44), "daniel.okafor", "Adyen API calls time out after 10s (our client timeout) "
                                       "from both EU regions; successful authorisations take "
                                       "6-8s.")
        w.effect(a(42), "tom.becker", public_update_effect(
            w.state(), "Some card payments at checkout are failing. PayPal and Klarna work. We "
                       "are working with our payment provider.",
            {"checkout": "partial_outage", "payments": "major_outage"}))
        w.note(a(41), "claire.dubois", "Commander: Claire Dubois. Comms: Tom Becker. Ops: Daniel "
                                       "Okafor. Bridge open; next stakeholder update in 30 min.")
        for role, user in (("commander", "claire.dubois"), ("communications", "tom.becker"),
                           ("operations", "daniel.okafor")):
            w.major_entry(a(41), "claire.dubois", EventKind.ROLE, {"role": role, "user": user})
        past_adyen = [p for p in self.plans if p.live is None and "Adyen" in p.title
                      and p.created_at < plan.created_at]
        if past_adyen:
            w.link(a(40), "elena.petrova", LinkKind.RELATED, past_adyen[-1])
        w.note(a(38), "elena.petrova", "Adyen status page: 'Investigating elevated latency in "
                                       "EU'. Opened Adyen support case 0042-7781.")
        w.note(a(35), "tom.becker", "Stakeholder update #1 sent: checkout degraded, about 1 in 3 "
                                    "card payments fail, PayPal and Klarna work. Next update "
                                    "in 30 min.")
        w.major_entry(a(35), "tom.becker", EventKind.STATUS_UPDATE, {
            "state": "Checkout degraded: card payments time out at the PSP (Adyen)",
            "impact": "About 1 in 3 card payments fail; PayPal and Klarna work",
            "next_steps": "Lower our retries; prepare failover of card traffic to Stripe",
            "next_update_due": iso(a(5)), "public": True,
            "public_text": "Some card payments fail at checkout. PayPal and Klarna work. "
                           "We are working on a fix."})
        w.tagged(a(31), "kenji.watanabe", "finding", "Retry storm: our client retries 3x on "
                 "timeout, tripling load on Adyen. Lowered retries to 1 via flag psp.retries.")
        w.note(a(27), "daniel.okafor", "Error rate down from 35% to 22% after the retry change; "
                                       "baseline is 0.4%.")
        w.tagged(a(23), "elena.petrova", "decision", "Preparing failover of card traffic to "
                 "Stripe (secondary PSP); checking the 3-D Secure config first.")
        w.note(a(15), "daniel.okafor", "Stripe now takes 25% of card traffic; success rate "
                                       "there 99.1%.")
        w.note(a(9), "claire.dubois", "Stakeholder update #2 sent. Marketing paused the 10:00 "
                                      "newsletter to avoid extra load.")
        w.major_entry(a(9), "tom.becker", EventKind.STATUS_UPDATE, {
            "state": "Recovering: card traffic moving to Stripe",
            "impact": "About 1 in 10 card payments fail, falling",
            "next_steps": "Raise Stripe's share; wait for Adyen's fix (ETA unknown)",
            "next_update_due": iso(a(-21)), "public": True,
            "public_text": "Card payments are recovering. If a payment fails, please try "
                           "again or use PayPal."})
        w.major_entry(a(8), "claire.dubois", EventKind.ACTION_ITEM, {
            "item": "5f0c3e8e-7c1a-4a53-9d1e-1b0a4f4c2a01",
            "text": "Alert on PSP latency before customers notice", "owner": "kenji.watanabe",
            "due": (a(0) + timedelta(days=7)).date().isoformat(), "done": False})
        w.effect(a(10), "tom.becker", public_update_effect(
            w.state(), "Card payments are recovering: most succeed again. We are moving card "
                       "traffic to our second payment provider and keep monitoring.",
            {"checkout": "degraded", "payments": "partial_outage"}))
        w.note(a(6), "elena.petrova", "Adyen confirms a degraded node in their Amsterdam "
                                      "cluster; fix ETA 30 min.")
        w.note(a(2), "kenji.watanabe", "Stripe share raised to 60%. Checkout error rate 7% and "
                                       "falling.")

    def _live_checkout_dup(self, plan: _Plan, plans: Mapping[str, _Plan]) -> None:
        a = self.ago
        w = self.create(plan, plan.created_at, "lucia.moreno", "service-desk",
                        "Customer care: customers abort at the payment step with an error.\n\n"
                        f"Impact: {IMPACT_TEXT[1]}", detected=timedelta(minutes=1),
                        started=timedelta(minutes=11), category=C.AVAILABILITY)
        w.act(a(45), "lucia.moreno", Action.ACKNOWLEDGE)
        w.patch(a(44.8), "lucia.moreno", assignee="lucia.moreno")
        w.link(a(44), "lucia.moreno", LinkKind.DUPLICATE_OF, plans["major"])
        w.act(a(43), "lucia.moreno", Action.RESOLVE, RC.DUPLICATE.value,
              f"Duplicate of {plans['major'].ref}; customer care tells customers to "
              "use PayPal meanwhile.")

    def _live_checkout_latency(self, plan: _Plan, plans: Mapping[str, _Plan]) -> None:
        a = self.ago
        w = self.create(plan, plan.created_at, "priya.nair", "platform",
                        "SLO burn-rate alert CheckoutLatencyHigh: p95 2.4s against a 1s "
                        f"objective.\n\nImpact: {IMPACT_TEXT[2]}",
                        detected=timedelta(minutes=2), started=timedelta(minutes=14),
                        category=C.PERFORMANCE)
        w.act(a(38), "priya.nair", Action.ACKNOWLEDGE)
        w.patch(a(37.5), "priya.nair", assignee="priya.nair")
        w.note(a(36), "priya.nair", "Latency is time spent waiting on the PSP; checkout pods "
                                    "healthy (CPU 35%, no GC pressure).")
        w.link(a(35), "priya.nair", LinkKind.CAUSED_BY, plans["major"])

    def _live_ddos(self, plan: _Plan, plans: Mapping[str, _Plan]) -> None:
        a = self.ago
        w = self.create(plan, plan.created_at, "lars.nielsen", "network",
                        "Edge requests at 1.4M/min against a 90k baseline; origin CPU 95%, "
                        f"storefront p95 6s.\n\nImpact: {IMPACT_TEXT[2]}",
                        detected=timedelta(minutes=3), started=timedelta(minutes=4),
                        category=C.SECURITY)
        w.act(a(27), "lars.nielsen", Action.ACKNOWLEDGE)
        w.patch(a(26.5), "lars.nielsen", assignee="lars.nielsen")
        w.act(a(26), "lars.nielsen", Action.START)
        w.note(a(24), "lars.nielsen", "60% of requests from ~12k residential IPs sharing one TLS "
                                      "fingerprint; mostly /search?q=<random> and product pages.")
        w.escalate(a(22), "lars.nielsen", EscalationKind.FUNCTIONAL,
                   "Botnet traffic; needs the SOC for WAF rules and threat intel.",
                   to_team="security", to_user="noah.fischer")
        w.note(a(18), "noah.fischer", "Bot-management challenge enabled on /search; rate limit "
                                      "100 req/min per IP on product pages.")
        w.note(a(12), "noah.fischer", "Origin CPU back to 40%, storefront p95 1.1s. Attack "
                                      "still running at the edge.")
        w.note(a(4), "lars.nielsen", "Traffic shifting to /category pages; extending the rule.")

    def _live_leaked_key(self, plan: _Plan, plans: Mapping[str, _Plan]) -> None:
        a = self.ago
        w = self.create(plan, plan.created_at, "sofia.lindqvist", "platform",
                        "GitHub secret scanning: the ERP integration API key was committed to a "
                        "public repository by a contractor.\n\n"
                        f"Impact: {IMPACT_TEXT[2]}", detected=timedelta(minutes=5),
                        started=timedelta(hours=3), category=C.SECURITY)
        w.act(a(186), "sofia.lindqvist", Action.ACKNOWLEDGE)
        w.escalate(a(182), "sofia.lindqvist", EscalationKind.FUNCTIONAL,
                   "Leaked credential; Security Operations owns secret exposure.",
                   to_team="security", to_user="aisha.khan")
        w.act(a(178), "aisha.khan", Action.START)
        w.note(a(170), "aisha.khan", "Key revoked at the ERP vendor; new key in Vault and "
                                     "deployed to erp-sync.")
        w.escalate(a(160), "aisha.khan", EscalationKind.HIERARCHICAL,
                   "Possible personal data exposure; informing management and the DPO. The "
                   "72-hour breach-notification clock runs from detection.")
        w.note(a(120), "noah.fischer", "Access logs: 3 calls with the key from unknown IPs "
                                       "(hosting ASN), stock endpoints only; no customer or "
                                       "order data read.")
        w.note(a(45), "aisha.khan", "Repository history rewritten, contractor's access reviewed. "
                                    "Breach assessment with the DPO at 16:00.")

    def _live_breach(self, plan: _Plan, plans: Mapping[str, _Plan]) -> None:
        """A personal-data breach the SOC became aware of yesterday evening and logs now, as
        it records what it did through the night against the playbook; the 72-hour
        notification clock runs from that awareness (detection), not from the logging, and the
        authority is not notified yet. (Logged last of all, so the other incidents keep their
        numbers and their content whatever this one holds.)"""
        a = self.ago
        playbook = DEFAULT_PLAYBOOKS[PlaybookKind.DATA_BREACH]
        w = self.create(plan, plan.created_at, "noah.fischer", "security",
                        "External researcher report (received 21:40 yesterday): the nightly "
                        "CRM export bucket (crm-exports-eu) allowed public listing and reads. "
                        "It holds names, e-mail and postal addresses of about 41,000 "
                        f"customers; no payment data.\n\nImpact: {IMPACT_TEXT[1]}",
                        assignee="noah.fischer", detected=timedelta(hours=12),
                        started=timedelta(days=6), category=C.SECURITY)
        w.act(a(2.9), "noah.fischer", Action.ACKNOWLEDGE)
        w.act(a(2.8), "noah.fischer", Action.START)
        w.note(a(2.6), "noah.fischer", check_text(playbook, "isolate"))
        w.note(a(2.5), "noah.fischer", "Bucket made private at 21:55 yesterday; public access "
                                       "block enabled on the whole account.")
        w.note(a(2.2), "aisha.khan", check_text(playbook, "revoke-access"))
        w.escalate(a(2.0), "aisha.khan", EscalationKind.HIERARCHICAL,
                   "Personal-data breach: informing management and the DPO; the 72-hour "
                   "notification clock runs from 21:40 yesterday.")
        w.note(a(1.6), "aisha.khan", "Access logs: 312 GET requests from 4 external IPs over "
                                     "6 days, the researcher's included.")
        w.note(a(1.3), "aisha.khan", check_text(playbook, "root-cause"))
        w.note(a(1.0), "noah.fischer", check_text(playbook, "scope"))
        w.note(a(0.8), "noah.fischer", "Affected: 41,212 customers (name, e-mail, postal "
                                       "address). Draft notification for the DPO.")

    def _live_search_lag(self, plan: _Plan, plans: Mapping[str, _Plan]) -> None:
        a = self.ago
        w = self.create(plan, plan.created_at, "mateo.rossi", "platform",
                        "Prometheus alert SearchIndexLag: newest indexed change is 40 min old; "
                        f"search shows old prices and stock.\n\nImpact: {IMPACT_TEXT[2]}",
                        detected=timedelta(minutes=1), started=timedelta(minutes=40),
                        category=C.PERFORMANCE)
        w.act(a(80), "mateo.rossi", Action.ACKNOWLEDGE)
        w.patch(a(79), "mateo.rossi", assignee="mateo.rossi")
        w.act(a(70), "mateo.rossi", Action.START)
        w.note(a(66), "mateo.rossi", "Indexer consumer lag 2.1M messages: the 08:00 bulk price "
                                     "import flooded the topic.")
        w.note(a(30), "mateo.rossi", "Scaled indexer workers 4 -> 12; lag shrinking about 50k "
                                     "messages/min.")

    def _live_login(self, plan: _Plan, plans: Mapping[str, _Plan]) -> None:
        w = self.create(plan, plan.created_at, "tom.becker", "service-desk",
                        "Customer care: customers using 'Sign in with Apple' get 'Something "
                        "went wrong'. E-mail and Google sign-in work.\n\n"
                        f"Impact: {IMPACT_TEXT[2]}", detected=timedelta(minutes=4),
                        started=timedelta(minutes=20), category=C.AVAILABILITY)
        w.note(self.ago(3), "tom.becker", "Third ticket in 5 minutes; all iOS app users.")

    def _live_vendor_hold(self, plan: _Plan, plans: Mapping[str, _Plan]) -> None:
        a = self.ago
        w = self.create(plan, plan.created_at, "amira.haddad", "service-desk",
                        "Warehouse reports stock levels in the shop have not changed since "
                        f"06:10.\n\nImpact: {IMPACT_TEXT[2]}", detected=timedelta(minutes=20),
                        started=timedelta(minutes=30), category=C.THIRD_PARTY)
        w.act(a(290), "amira.haddad", Action.ACKNOWLEDGE)
        w.escalate(a(280), "amira.haddad", EscalationKind.FUNCTIONAL,
                   "ERP sync is not in the service desk runbook; platform owns it.",
                   to_team="platform", to_user="priya.nair")
        w.act(a(270), "priya.nair", Action.START)
        w.note(a(255), "priya.nair", "The sync job retries every 5 min; NordStock WMS API answers "
                                     "503 to every call. Oversell risk on low-stock items.")
        w.note(a(230), "priya.nair", "Workaround: items with stock below 5 show 'available "
                                     "soon' until the sync runs again.")
        w.act(a(190), "priya.nair", Action.HOLD,
              comment="Waiting for NordStock support (case NS-58213): their API gateway "
                      "maintenance overran.")
        w.note(a(60), "priya.nair", "NordStock: fix expected within 2 hours.")

    def _live_cdn(self, plan: _Plan, plans: Mapping[str, _Plan]) -> None:
        a = self.ago
        w = self.create(plan, plan.created_at, "fatima.elamrani", "network",
                        "Synthetic check: 5% of requests to img.shop.example from eu-west get "
                        f"503 from the edge.\n\nImpact: {IMPACT_TEXT[2]}",
                        detected=timedelta(minutes=2), started=timedelta(minutes=6),
                        category=C.NETWORK)
        w.act(a(12), "fatima.elamrani", Action.ACKNOWLEDGE)
        w.patch(a(11.5), "fatima.elamrani", assignee="fatima.elamrani")
        w.note(a(8), "fatima.elamrani", "Only the Frankfurt and Paris POPs; asked the CDN "
                                        "provider whether they see it too.")

    def _live_forgotten(self, plan: _Plan, plans: Mapping[str, _Plan]) -> None:
        """A forgotten acknowledgement: logged and taken at the service desk four and a half
        hours ago on a laptop without network (it reached the server later, hence its
        number), one note, then nothing (the shift changed). No SLA is near breach, so only
        the stale view (`list --stale`, the queue's stale preset) brings it back."""
        a = self.ago
        w = self.create(plan, plan.created_at, "lucia.moreno", "service-desk",
                        "Customer care: a few customers see a gift card balance of 0.00 at "
                        "checkout although the card was topped up.\n\n"
                        f"Impact: {IMPACT_TEXT[2]}", detected=timedelta(minutes=10),
                        started=timedelta(minutes=30), category=C.SOFTWARE_BUG)
        w.act(a(266), "lucia.moreno", Action.ACKNOWLEDGE)
        w.patch(a(265.5), "lucia.moreno", assignee="lucia.moreno")
        w.note(a(262), "lucia.moreno", "Two cards affected so far, both topped up in the app; "
                                       "asked the customers for their card numbers.")

    # -- everything --------------------------------------------------------------------------

    def build(self, numbers: Callable[[str], int]) -> list[_Walk]:
        """Number the planned incidents in created order (those logged offline last: the
        server numbered them when they arrived), each in its series (``numbers`` gives the
        next number of a series), and walk each one."""
        plans = self.plan()
        for plan in plans:
            plan.series = series_for(plan.restricted)
            plan.number = numbers(plan.series)
        live = {p.live: p for p in plans if p.live}
        for plan in plans:
            if plan.live:
                self.live(plan, live)  # type: ignore[arg-type]
            else:
                self.past(plan)
        return self.walks


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def seed_demo(db: Database, *, now: datetime | None = None, seed: int = 7) -> bool:
    """Write the demo data set into ``db``; False (and nothing written) if it holds incidents.

    First the organisation (:data:`ORGANISATION_FILE`: teams, users without tokens,
    services, on-call schedules, escalation policies), applied like ``incidenttui admin
    apply`` does; then about 300 past incidents over the last 90 days and a few live ones,
    all timed relative to ``now`` (default: the current time) and fully determined by
    ``seed``. Every row is recorded in the change feed, in one transaction. What the database
    already holds (e.g. made with ``incidenttui admin``) is kept as it is.
    """
    seeder = _Seeder(_utc(now), seed)
    with db.write() as session:
        if session.exec(select(Incident.id).limit(1)).first() is not None:
            return False
        apply_organisation(session)
        blocks = {series: iter(next_numbers(session, _NUMBER_BLOCK, series))
                  for series in COUNTERS}
        walks = seeder.build(lambda series: next(blocks[series]))
        # Give back the numbers the blocks reserved but the seed did not use.
        for series, (counter, start) in COUNTERS.items():
            last = max((w.incident.number for w in walks if w.incident.series == series),
                       default=start)
            session.execute(update(Counter).where(col(Counter.name) == counter)
                            .values(value=last))
        _write(session, walks)
        _start_clocks(session)
        _maintenance(session, seeder.now, seed)
    return True


def _maintenance(session: Any, now: datetime, seed: int) -> None:
    """A maintenance window on the ERP sync, running now: the warehouse's monitoring
    integration (Events API v2) sent an alert during it, which the window holds back (no
    incident, nobody paged) until it ends; the status page shows the window."""
    import hashlib

    from incidenttui.server import maintenance
    from incidenttui.server.alerts.dedup import key_hash
    from incidenttui.server.models import Integration, MaintenanceWindow

    ident = uuid.UUID(int=random.Random(seed + 19).getrandbits(128), version=4)
    row = MaintenanceWindow(
        id=str(ident), services=["erp-sync"], starts_at=now - timedelta(minutes=25),
        ends_at=now + timedelta(minutes=95), created_by="priya.nair", created_at=now
        - timedelta(days=2), reason="NordStock warehouse system upgrade: stock and order "
                                    "updates reach the warehouse with a delay.")
    session.add(row)
    # Nobody knows this integration's key (its hash is of a random one): the demo shows
    # what it held; a real one is made with incidenttui admin create-integration.
    integration = Integration(
        id=str(uuid.UUID(int=random.Random(seed + 20).getrandbits(128), version=4)),
        name="NordStock WMS monitoring", service="erp-sync", kind="events",
        key_hash=hashlib.sha256(uuid.uuid4().bytes).hexdigest(), created_by="priya.nair",
        created_at=now - timedelta(days=30))
    session.add(integration)
    session.flush()
    holder = maintenance.Holder(session, now - timedelta(minutes=12))
    window = maintenance.domain_window(row)
    for _ in range(3):
        holder.hold(window, integration.id, key_hash(integration.id, "wms-api-503"), {
            "alert_key": "wms-api-503", "group_key": "wms-api-503", "service": "erp-sync",
            "severity": "error", "summary": "NordStock WMS API returns 503 (upgrade)",
            "source": "wms-gw-1", "labels": {}, "details": {"endpoint": "/v2/stock"},
            "starts_at": now - timedelta(minutes=12)})
        session.flush()
    maintenance._record(session, row)


def apply_organisation(session: Session) -> None:
    """Apply the demo organisation in ``session``'s transaction through the code of
    ``incidenttui admin apply`` (audited and in the change feed), on top of what the
    database holds: an item it has already (same id) is kept as it is, and nothing it has
    is removed or deactivated."""
    from incidenttui.domain import organisation as org_doc
    from incidenttui.server.audit import Origin
    from incidenttui.server.organisation import apply, current

    held, demo = current(session), demo_organisation()
    merged = {}
    for section in org_doc.SECTIONS:
        have = held.by_id(section)
        merged[section] = (*getattr(held, section),
                           *(item for item in getattr(demo, section) if item.id not in have))
    # checked again as one document: the demo's items may name what the database holds
    desired = org_doc.parse(org_doc.document(Organisation(**merged)))
    apply(session, desired, origin=Origin("demo-seed", client="incidenttui demo"))


def _start_clocks(session: Session) -> None:
    """The open incidents of a service with a policy get its clock from when they were
    opened, as if the policy had been there then: the app derives the same position and
    countdown from the timeline, so the server does what the queue's AUTO column says. The
    demo shows the unacknowledged one escalating by itself (at once: it is overdue, then
    level by level), and a forgotten acknowledgement escalating again."""
    from incidenttui.server.escalation import start_clock
    from incidenttui.server.models import Service

    policies = {s.id: s.policy_id for s in session.exec(select(Service)) if s.policy_id}
    running = session.exec(select(Incident).where(
        col(Incident.status).in_([s.value for s in Status if s.is_open]),
        col(Incident.service).in_(list(policies)))).all()
    for incident in running:
        start_clock(session, incident.id, policies[incident.service], incident.created_at)


#: More numbers than the seed ever uses (about 310); the rest are returned.
_NUMBER_BLOCK = 1_000


def _write(session: Session, walks: list[_Walk]) -> None:
    walks = sorted(walks, key=lambda w: (w.incident.created_at, w.incident.number))
    # Core bulk INSERTs (executemany) of plain rows: the same columns, types and bind
    # processing (UTC datetimes, JSON) as ORM objects, at a fraction of the cost.
    tables = SQLModel.metadata.tables
    session.execute(insert(tables[Incident.__tablename__]),
                    [w.incident.row() for w in walks])
    session.execute(insert(tables[TimelineEvent.__tablename__]),
                    [e.row() for w in walks for e in w.events])
    # Each incident is followed by its events, so any prefix of the feed is consistent.
    # incident_json/event_json read attributes, so the snapshots are exactly the API's.
    # Restricted incidents' rows reach only who may see them (server/visibility.py); whoever
    # logged or was assigned one without a role that sees them all is made a member.
    roles = {user.id: user.role for user in demo_organisation().users}
    members = []
    changes: list[ChangeRow] = []
    for walk in walks:
        incident = walk.incident
        secret = is_restricted(incident.category, incident.restricted)
        if secret:
            people = {p for p in (incident.reporter, incident.assignee)
                      if p is not None and roles.get(p) not in SEES_ALL_RESTRICTED}
            members += [{"incident_id": incident.id, "user_id": p, "added_by": incident.reporter,
                         "added_at": incident.created_at} for p in sorted(people)]
        changes.append(("incident", incident.id, incident_json(cast(Incident, incident)),
                        incident.id, secret))
        changes += [("event", e.id, event_json(cast(TimelineEvent, e)), incident.id, secret)
                    for e in walk.events]
    if members:
        session.execute(insert(tables[IncidentMember.__tablename__]), members)
    record_changes(session, changes)
