"""What each role may do."""

from __future__ import annotations

import pytest

from incidenttui.domain.enums import Role
from incidenttui.domain.roles import Permission, allowed

R, P = Role, Permission

#: Written out in full: every role × permission.
EXPECTED: dict[tuple[Role, Permission], bool] = {
    (R.VIEWER, P.READ): True,
    (R.VIEWER, P.RESPOND): False,
    (R.VIEWER, P.COMMAND): False,
    (R.VIEWER, P.ADMIN): False,
    (R.RESPONDER, P.READ): True,
    (R.RESPONDER, P.RESPOND): True,
    (R.RESPONDER, P.COMMAND): False,
    (R.RESPONDER, P.ADMIN): False,
    (R.COMMANDER, P.READ): True,
    (R.COMMANDER, P.RESPOND): True,
    (R.COMMANDER, P.COMMAND): True,
    (R.COMMANDER, P.ADMIN): False,
    (R.ADMIN, P.READ): True,
    (R.ADMIN, P.RESPOND): True,
    (R.ADMIN, P.COMMAND): True,
    (R.ADMIN, P.ADMIN): True,
    (R.SECURITY, P.READ): True,
    (R.SECURITY, P.RESPOND): True,
    (R.SECURITY, P.COMMAND): False,
    (R.SECURITY, P.ADMIN): False,
    (R.INTEGRATION, P.READ): False,
    (R.INTEGRATION, P.RESPOND): False,
    (R.INTEGRATION, P.COMMAND): False,
    (R.INTEGRATION, P.ADMIN): False,
}
CASES = list(EXPECTED.items())
IDS = [f"{r.value}-{p.value}" for (r, p), _ in CASES]


def test_table_covers_every_pair() -> None:
    assert len(EXPECTED) == len(Role) * len(Permission) == 24


@pytest.mark.parametrize(("pair", "expected"), CASES, ids=IDS)
def test_allowed(pair: tuple[Role, Permission], expected: bool) -> None:
    role, permission = pair
    assert allowed(role, permission) is expected


@pytest.mark.parametrize(("pair", "expected"), CASES, ids=IDS)
def test_allowed_with_role_string(pair: tuple[Role, Permission], expected: bool) -> None:
    role, permission = pair
    assert allowed(role.value, permission) is expected


def test_unknown_role_is_value_error() -> None:
    with pytest.raises(ValueError):
        allowed("superuser", P.READ)
