"""The service's own endpoints: liveness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from incidenttui import __version__
from incidenttui.domain import Priority
from incidenttui.server import queries, visibility
from incidenttui.server.deps import AuthRoute, database, metrics
from incidenttui.server.errors import ApiError

router = APIRouter(route_class=AuthRoute, tags=["service"])


@router.get("/healthz")
def healthz(request: Request) -> dict[str, str]:
    """Liveness and database reachability."""
    db = database(request)
    try:
        with db.read() as session:
            session.execute(text("SELECT 1"))
    except OperationalError:
        raise ApiError(503, "The database is unavailable.") from None
    return {"status": "ok", "version": __version__, "database": db.dialect}


@router.get("/metrics", response_class=PlainTextResponse)
def prometheus_metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    registry = metrics(request)
    with database(request).read() as session:
        registry.feed_changes.set(visibility.public_changes(session))
        counts = queries.open_counts(session)
    for priority in Priority:
        registry.open_incidents.labels(priority.label).set(counts.get(int(priority), 0))
    return Response(registry.render(), media_type="text/plain; version=0.0.4")
