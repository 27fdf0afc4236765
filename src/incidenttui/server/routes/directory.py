"""The directory: who am I, and the teams, users and services."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from incidenttui.api.paths import ME, SERVICES, TEAMS, USERS
from incidenttui.api.schemas import Me, ServiceOut, TeamOut, UserOut
from incidenttui.domain.permissions import Visibility, operations
from incidenttui.server import queries
from incidenttui.server.deps import Allowed, AuthRoute, database
from incidenttui.server.errors import ERRORS
from incidenttui.server.models import Service, Team, User
from incidenttui.sqltypes import utcnow

router = APIRouter(route_class=AuthRoute, tags=["directory"], responses=ERRORS)


@router.get(ME, response_model=Me)
def me(caller: Allowed) -> Me:
    """Who the token belongs to, what they may do (on normal incidents, and on restricted
    ones they were not added to), and the server's clock."""
    role = caller.role
    return Me(user=UserOut.model_validate(caller.user), server_time=utcnow(),
              capabilities=sorted(op.value for op in operations(role)),
              restricted_capabilities=sorted(
                  op.value for op in operations(role, Visibility.RESTRICTED)))


def _lister(name: str, table: Any, schema: type[BaseModel]) -> Any:
    def list_rows(request: Request, caller: Allowed) -> list[Any]:
        with database(request).read() as session:
            return queries.directory_rows(session, table, schema)
    list_rows.__doc__ = f"All {name}."
    return list_rows


for _path, _name, _table, _schema in ((TEAMS, "teams", Team, TeamOut),
                                      (USERS, "users", User, UserOut),
                                      (SERVICES, "services", Service, ServiceOut)):
    router.add_api_route(_path, _lister(_name, _table, _schema), methods=["GET"],
                         response_model=list[_schema], name=f"list_{_name}")
