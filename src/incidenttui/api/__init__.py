"""The wire contract shared by the server and the client.

- :mod:`incidenttui.api.paths` — the ``/api/v1`` prefix and every path (no imports: cheap).
- :mod:`incidenttui.api.schemas` — request and response bodies (pydantic; the OpenAPI schema).
- :mod:`incidenttui.api.errors` — the error bodies every refusal answers with.

Nothing here imports :mod:`incidenttui.server`; the server, the store and the sync engine all
import this package.
"""
