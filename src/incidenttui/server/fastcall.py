"""The write routes' parameters read straight from the request, without FastAPI's dependency
solving, when they are plain.

FastAPI answers every request by solving the endpoint's dependencies, reading each path,
header and body parameter through its own validators, and a JSON body by decoding it into
Python objects first; on the write routes that is a third of the event loop's work per
request. Those routes take the same few plain parameters (the request, the admitted caller,
an incident key from the path, the ``Idempotency-Key`` header, a JSON body model), so
:func:`fast_call` reads them itself: string parameters checked against their declared
lengths, the body validated from its bytes in one pass (``model_validate_json``).

Whatever it does not recognise as plain and valid — a value over its length, a body that
is not JSON or does not validate, a missing required body — goes to FastAPI's own handler,
which reads the request again and answers as it always does (422 naming the field, ...):
every error answer stays FastAPI's. The body read here is kept on the request, so FastAPI
does not read it twice.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from annotated_types import MaxLen
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

#: Calls the endpoint with the request's parameters, or answers None: "use FastAPI's path".
FastCall = Callable[[Request], Awaitable[Response | None]]


def is_json(content_type: bytes) -> bool:
    """Whether FastAPI reads a body of ``content_type`` as JSON (application/json or +json)."""
    kind = content_type.split(b";", 1)[0].strip().lower()
    return kind == b"application/json" or (kind.startswith(b"application/")
                                            and kind.endswith(b"+json"))


def _max_length(field: Any) -> int | None | bool:
    """A plain string parameter's declared maximum length (None: none); False when the
    parameter is not a plain string (it has other constraints, or another type)."""
    info = field.field_info
    if field.field_info.annotation not in (str, str | None):
        return False
    limit = None
    for item in info.metadata:
        if isinstance(item, MaxLen):
            limit = item.max_length
        else:
            return False  # a pattern, a minimum, ...: FastAPI checks those
    return limit


def fast_call(route: APIRoute, caller_param: Callable[..., Any],
              caller_of: Callable[[Request], Any]) -> FastCall | None:
    """The fast reading of ``route``'s parameters, or None when the route has any that are
    not plain. ``caller_param`` is the dependency that gives the caller (its parameter is
    filled by ``caller_of(request)``, the caller admitted before)."""
    dependant = route.dependant
    if (not inspect.iscoroutinefunction(route.endpoint) or dependant.query_params
            or dependant.cookie_params or len(dependant.body_params) > 1
            or dependant.request_param_name is None):
        return None
    callers = [d.name for d in dependant.dependencies if d.call is caller_param]
    if len(callers) != 1 or len(dependant.dependencies) != 1:
        return None
    paths: list[tuple[str, int | None]] = []
    for field in dependant.path_params:
        limit = _max_length(field)
        if limit is False:
            return None
        paths.append((field.name, limit))  # type: ignore[arg-type]
    headers: list[tuple[str, bytes, int | None]] = []
    for field in dependant.header_params:
        limit = _max_length(field)
        if limit is False or field.field_info.is_required():
            return None
        headers.append((field.name, field.alias.lower().encode("latin-1"), limit))  # type: ignore[arg-type]
    body_name: str | None = None
    model: type[BaseModel] | None = None
    body_required = False
    if dependant.body_params:
        field = dependant.body_params[0]
        annotation = field.field_info.annotation
        candidates = [a for a in getattr(annotation, "__args__", (annotation,))
                      if a is not type(None)]
        if len(candidates) != 1 or not (isinstance(candidates[0], type)
                                        and issubclass(candidates[0], BaseModel)):
            return None
        body_name, model = field.name, candidates[0]
        body_required = field.field_info.is_required()
        if not body_required and field.field_info.default is not None:
            return None
    request_name, caller_name, endpoint = dependant.request_param_name, callers[0], \
        route.endpoint

    async def call(request: Request) -> Response | None:
        values: dict[str, Any] = {request_name: request, caller_name: caller_of(request)}
        path_params = request.scope.get("path_params", {})
        for name, limit in paths:
            value = path_params.get(name)
            if not isinstance(value, str) or (limit is not None and len(value) > limit):
                return None
            values[name] = value
        found: dict[bytes, bytes] = {}
        content_type: bytes | None = None
        for key, value in request.scope["headers"]:  # one pass, no Headers object
            if key == b"content-type":
                content_type = content_type if content_type is not None else value
            elif key not in found:
                found[key] = value
        for name, header, limit in headers:
            raw = found.get(header)
            text = raw.decode("latin-1") if raw is not None else None
            if text is not None and limit is not None and len(text) > limit:
                return None
            values[name] = text
        if body_name is not None and model is not None:
            body = await request.body()
            if not body:
                if body_required:
                    return None
                values[body_name] = None
            elif content_type is None or not is_json(content_type):
                return None
            else:
                try:
                    values[body_name] = model.model_validate_json(body)
                except ValidationError:
                    return None
        response = await endpoint(**values)
        if not isinstance(response, Response):  # FastAPI would serialise it; we do not
            raise TypeError(f"{route.path}: the endpoint must return a Response")
        return response

    return call
