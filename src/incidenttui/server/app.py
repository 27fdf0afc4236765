"""The HTTP API application: built from the route modules in :mod:`incidenttui.server.routes`.

Every write runs in one database transaction together with its ``Idempotency-Key`` record and
its change-feed entries (:mod:`incidenttui.server.writes`); every route authenticates before
the body is read (:mod:`incidenttui.server.deps`) and no body over the limit is read at all
(:mod:`incidenttui.server.limits`).
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from fastapi import FastAPI

from incidenttui import __version__
from incidenttui.api.paths import EVENTS_V2, INTEGRATIONS
from incidenttui.server import service
from incidenttui.server.alerts import add_routes as add_alert_routes
from incidenttui.server.changes import ChangeNotifier
from incidenttui.server.db import Database
from incidenttui.server.errors import ApiError, install_error_handlers
from incidenttui.server.escalation import Escalator, escalation_interval
from incidenttui.server.limits import BodyLimit
from incidenttui.server.maintenance import Releaser
from incidenttui.server.metrics import Metrics, MetricsMiddleware
from incidenttui.server.notify import Channels, Deliverer
from incidenttui.server.ratelimit import FailureLimiter
from incidenttui.server.routes import (
    directory,
    escalation,
    feed,
    incidents,
    mount,
    oncall,
    operations,
    status,
)

__all__ = ["ApiError", "app_from_env", "create_app"]


def auth_limiter_from_env() -> FailureLimiter:
    """The failed-authentication limit: ``INCIDENTTUI_AUTH_FAILURES`` as ``N/SECONDS``
    (default 10/60: ten failures from one address in a minute, then 429 until the oldest
    leaves the window)."""
    import os

    value = os.environ.get("INCIDENTTUI_AUTH_FAILURES", "10/60")
    count, _, window = value.partition("/")
    try:
        return FailureLimiter(int(count), float(window or 60))
    except ValueError:
        raise ValueError(f"INCIDENTTUI_AUTH_FAILURES={value!r}: use N/SECONDS, e.g. 10/60"
                         ) from None


def create_app(database: Database | str, *, migrate: bool = True,
               auth_limiter: FailureLimiter | None = None,
               run_policies: bool = True) -> FastAPI:
    """The API application over ``database`` (a :class:`Database` or a URL);
    ``auth_limiter``: how failed authentications are limited per address (default:
    :func:`auth_limiter_from_env`); ``run_policies``: whether this process carries out the
    escalation policies and sends their notifications (server/escalation.py)."""
    db = database if isinstance(database, Database) else Database(database)
    if migrate:
        db.migrate()
    with db.write() as session:
        service.ensure_counters(session)
    notifier = ChangeNotifier()
    metrics = Metrics()

    channels = Channels.from_env()
    escalator = Escalator(db, escalation_interval(), on_steps=lambda _n: notifier.notify(),
                          channels=channels)
    deliverer = Deliverer(db, channels, escalation_interval())
    releaser = Releaser(db, on_release=lambda: notifier.notify())

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        notifier.bind(asyncio.get_running_loop())
        if run_policies:
            escalator.start()
            deliverer.start()
            releaser.start()
        try:
            yield
        finally:
            escalator.stop()
            deliverer.stop()
            releaser.stop()

    app = FastAPI(title="incidenttui", version=__version__, lifespan=lifespan,
                  description="The incidenttui server: ITIL incidents, timelines, a change feed.")
    app.state.db = db
    app.state.deliverer = deliverer  # tests send their own rounds (deliver_due)
    app.state.notifier = notifier
    app.state.metrics = metrics
    app.state.channels = channels  # stakeholder updates go out as escalations do
    app.state.auth_limiter = auth_limiter if auth_limiter is not None else auth_limiter_from_env()
    # Innermost first: the metrics middleware (outermost) counts every answer, 413s too.
    # The alert routes bound their bodies themselves (512 KiB, in their own answer shapes).
    app.add_middleware(BodyLimit, own_limits=(EVENTS_V2, INTEGRATIONS))
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    install_error_handlers(app)
    add_alert_routes(app)  # first: routes match in order, and alert storms come this way
    for module in (incidents, feed, operations, directory, oncall, escalation, status):
        mount(app, module.router)
    return app


def app_from_env() -> FastAPI:
    """The app for uvicorn's worker processes (``--workers N``): the database URL comes from
    ``INCIDENTTUI_SERVER_DB``; the parent process has already migrated it."""
    import os

    from incidenttui.server.serve import tune_interpreter

    tune_interpreter()
    return create_app(os.environ["INCIDENTTUI_SERVER_DB"], migrate=False)
