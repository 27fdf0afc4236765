"""The API's routers, one module per room: incidents, the change feed, the directory and the
service's own endpoints. Every router uses :class:`~incidenttui.server.deps.AuthRoute` and
reads the app's database and notifier from ``request.app.state``."""
