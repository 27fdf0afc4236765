"""Error answers of the HTTP API: always JSON ``{"detail", "field"}``, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from incidenttui.api.errors import ConflictOut, ErrorOut

log = logging.getLogger("incidenttui.server")

#: The error answers every authenticated route documents.
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No token, or a token that is not valid"},
    403: {"model": ErrorOut, "description": "The user's role may not do this"},
    404: {"model": ErrorOut, "description": "No such incident"},
    422: {"model": ErrorOut, "description": "Bad input; `field` names it"},
    429: {"model": ErrorOut, "description": "Too many failed authentications from this "
                                            "address; retry after `Retry-After` seconds"},
}
#: ... and every write route.
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {"model": ConflictOut | ErrorOut,
          "description": "A move the lifecycle refuses, or fields changed since base_version"},
}


class ApiError(Exception):
    """An error answer with a readable ``detail`` and, where it applies, the field at fault."""

    def __init__(self, status: int, detail: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.field, self.headers = status, detail, field, headers


def error_body(detail: str, field: str | None = None) -> dict[str, Any]:
    """The JSON body of every error answer."""
    return {"detail": detail, "field": field}


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(error_body(exc.detail, exc.field), exc.status, headers=exc.headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")),
               "type": str(e.get("type", ""))} for e in exc.errors()]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    field = ".".join(p for p in first["loc"] if p not in ("body", "query", "path",
                                                            "header")) or None
    detail = f"{field}: {first['msg']}" if field else first["msg"]
    return JSONResponse({"detail": detail, "field": field, "errors": errors}, 422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(error_body(str(exc.detail)), exc.status_code,
                        headers=getattr(exc, "headers", None))


async def _db_down(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OperationalError)
    log.error("database error: %s", exc.orig)
    return JSONResponse(error_body("The database is unavailable; try again shortly."),
                        503, headers={"Retry-After": "2"})


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error the app raises as JSON with a readable detail."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _db_down)
