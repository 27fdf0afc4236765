"""The API's routers, one module per room: incidents, the change feed, the directory and the
service's own endpoints. Every router uses :class:`~incidenttui.server.deps.AuthRoute` and
reads the app's database and notifier from ``request.app.state``."""

from fastapi import APIRouter, FastAPI


def mount(app: FastAPI, router: APIRouter) -> None:
    """Put ``router``'s routes on the app itself, as routes declared on the app are.

    ``app.include_router`` keeps an included router as one branch that every request
    walks into, matching each of its routes with FastAPI's own bookkeeping and then matching
    again to handle it: a fifth of the event loop's work on a write. The routers here have
    no prefix, dependencies or other settings of their own for an inclusion to add (their
    route class and paths are the routes' own), so their routes can be the app's.
    """
    app.router.routes.extend(router.routes)
    changed = getattr(app.router, "_mark_routes_changed", None)
    if changed is not None:  # FastAPI's cache of its route list (0.16x)
        changed()
