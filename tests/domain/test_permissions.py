"""The permission matrix: complete, read the way the issue states it, and the README's table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from incidenttui.domain.enums import Category, Role
from incidenttui.domain.permissions import (
    DESCRIPTIONS,
    JOINS,
    MATRIX,
    RULES,
    SCOPED,
    SEES_ALL_RESTRICTED,
    Decision,
    Operation,
    Visibility,
    can_see,
    decide,
    is_restricted,
    markdown_table,
    may,
    may_at_all,
    operations,
    visibility_of,
)
from incidenttui.domain.roles import PERMISSION_OPERATIONS, Permission, allowed

R, Op, V = Role, Operation, Visibility
README = Path(__file__).parents[2] / "README.md"
PEOPLE = [R.VIEWER, R.RESPONDER, R.COMMANDER, R.SECURITY, R.ADMIN]
CELLS = sorted(MATRIX.items())
IDS = [f"{r.value}-{o.value}-{v.value}" for (r, o, v), _ in CELLS]


# -- the shape of the definition -------------------------------------------------------------


def test_every_operation_has_a_rule_and_a_description() -> None:
    assert set(RULES) == set(Operation) == set(DESCRIPTIONS)


def test_matrix_is_every_role_operation_and_visibility_it_applies_to() -> None:
    expected = {(r, o, V.NORMAL) for r in Role for o in Operation}
    expected |= {(r, o, V.RESTRICTED) for r in Role for o in SCOPED}
    assert set(MATRIX) == expected
    assert all(isinstance(v, bool) for v in MATRIX.values())


def test_scoped_operations_are_those_with_a_restricted_column() -> None:
    assert {o for o, (_n, restricted) in RULES.items() if restricted is not None} == SCOPED


@pytest.mark.parametrize("operation", sorted(SCOPED))
def test_restricted_never_grants_more_than_normal_except_to_security(
        operation: Operation) -> None:
    normal, restricted = RULES[operation]
    assert restricted is not None
    assert restricted - normal <= SEES_ALL_RESTRICTED


# -- may(), read straight from the definition ------------------------------------------------


@pytest.mark.parametrize(("cell", "expected"), CELLS, ids=IDS)
def test_may_as_a_member_is_the_matrix(cell: tuple[Role, Operation, Visibility],
                                       expected: bool) -> None:
    role, operation, visibility = cell
    assert may(role, operation, visibility, member=True) is expected
    assert may(role.value, operation.value, visibility.value, member=True) is expected


@pytest.mark.parametrize(("cell", "expected"), CELLS, ids=IDS)
def test_restricted_without_membership_only_for_security_and_admin(
        cell: tuple[Role, Operation, Visibility], expected: bool) -> None:
    role, operation, visibility = cell
    if visibility is V.NORMAL:
        assert may(role, operation, member=False) is expected
        return
    sees = role in SEES_ALL_RESTRICTED or operation in JOINS
    assert may(role, operation, visibility, member=False) is (expected and sees)


@pytest.mark.parametrize("operation", sorted(set(Operation) - SCOPED))
def test_restricted_is_refused_for_operations_not_about_one_incident(
        operation: Operation) -> None:
    with pytest.raises(ValueError, match="not about one incident"):
        may(R.ADMIN, operation, V.RESTRICTED)


def test_unknown_role_operation_or_visibility_is_value_error() -> None:
    for args in (("superuser", Op.READ), (R.ADMIN, "delete_everything"),
                 (R.ADMIN, Op.READ, "secret")):
        with pytest.raises(ValueError):
            may(*args)


# -- the statements, written out -----------------------------------------------------


def test_integration_may_only_ingest_alerts_and_ask_who_it_is() -> None:
    assert operations(R.INTEGRATION) == {Op.INGEST_ALERTS, Op.READ_SELF}
    assert operations(R.INTEGRATION, V.RESTRICTED, member=True) == frozenset()
    assert [r for r in Role if may(r, Op.INGEST_ALERTS)] == [R.INTEGRATION]


def test_viewer_only_reads() -> None:
    assert operations(R.VIEWER) == {Op.READ, Op.READ_SELF, Op.READ_DIRECTORY,
                                    Op.MANAGE_OWN_TOKENS}


@pytest.mark.parametrize("visibility", list(Visibility))
def test_security_may_do_all_a_responder_may_and_more(visibility: Visibility) -> None:
    responder = operations(R.RESPONDER, visibility, member=True)
    security = operations(R.SECURITY, visibility, member=False)
    assert responder < security
    assert {Op.RECORD_BREACH_NOTIFICATION, Op.MANAGE_MEMBERS, Op.UNRESTRICT} <= security


def test_admin_may_do_everything_but_send_alerts() -> None:
    assert operations(R.ADMIN) == set(Operation) - {Op.INGEST_ALERTS}
    assert operations(R.ADMIN, V.RESTRICTED) == SCOPED


def test_everyone_may_ask_who_they_are() -> None:
    assert all(may(r, Op.READ_SELF) for r in Role)


def test_a_reporter_of_a_restricted_incident_needs_no_membership_yet() -> None:
    assert may(R.RESPONDER, Op.CREATE, V.RESTRICTED)
    assert not may(R.VIEWER, Op.CREATE, V.RESTRICTED)


# -- visibility ------------------------------------------------------------------------------


@pytest.mark.parametrize("category", list(Category))
@pytest.mark.parametrize("flag", [False, True])
def test_restricted_is_the_security_category_or_the_flag(category: Category,
                                                         flag: bool) -> None:
    expected = flag or category is Category.SECURITY
    assert is_restricted(category, flag) is expected
    assert is_restricted(category.value, flag) is expected
    assert visibility_of(category, flag) is (V.RESTRICTED if expected else V.NORMAL)


def test_unknown_category_is_value_error() -> None:
    with pytest.raises(ValueError):
        is_restricted("gossip")


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("member", [False, True])
def test_can_see(role: Role, member: bool) -> None:
    assert can_see(role, restricted=False, member=member) is (role in PEOPLE)
    expected = role in SEES_ALL_RESTRICTED or (member and role in PEOPLE)
    assert can_see(role, restricted=True, member=member) is expected


# -- what a request is answered --------------------------------------------------------------


@pytest.mark.parametrize(("cell", "expected"), CELLS, ids=IDS)
@pytest.mark.parametrize("member", [False, True])
def test_decide_hides_what_the_caller_cannot_see(cell: tuple[Role, Operation, Visibility],
                                                 expected: bool, member: bool) -> None:
    role, operation, visibility = cell
    decision = decide(role, operation, visibility, member=member)
    if may(role, operation, visibility, member=member):
        assert decision is Decision.ALLOW
    elif (operation in SCOPED and operation not in JOINS
          and not can_see(role, visibility is V.RESTRICTED, member)):
        assert decision is Decision.HIDE
    else:
        assert decision is Decision.FORBID


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("operation", list(Operation))
def test_may_at_all_is_normal_or_restricted_as_a_member(role: Role,
                                                        operation: Operation) -> None:
    expected = MATRIX[role, operation, V.NORMAL] or MATRIX.get(
        (role, operation, V.RESTRICTED), False)
    assert may_at_all(role, operation) is expected


@pytest.mark.parametrize(("cell", "expected"), CELLS, ids=IDS)
def test_forbid_after_the_first_check_only_for_incidents_the_caller_sees(
        cell: tuple[Role, Operation, Visibility], expected: bool) -> None:
    # An endpoint first checks may_at_all (403 for every key alike), then looks the incident
    # up and decides; a 403 from decide must never come for an incident the caller cannot
    # see, or the status would tell that it exists.
    role, operation, visibility = cell
    if not may_at_all(role, operation) or operation not in SCOPED:
        return
    for member in (False, True):
        if decide(role, operation, visibility, member=member) is Decision.FORBID:
            assert can_see(role, visibility is V.RESTRICTED, member) or operation in JOINS


def test_decide_examples() -> None:
    assert decide(R.VIEWER, Op.NOTE) is Decision.FORBID
    assert decide(R.RESPONDER, Op.NOTE, V.RESTRICTED) is Decision.HIDE
    assert decide(R.RESPONDER, Op.NOTE, V.RESTRICTED, member=True) is Decision.ALLOW
    assert decide(R.VIEWER, Op.NOTE, V.RESTRICTED, member=True) is Decision.FORBID
    assert decide(R.RESPONDER, Op.UNRESTRICT, V.RESTRICTED) is Decision.HIDE
    assert decide(R.INTEGRATION, Op.READ) is Decision.HIDE
    assert decide(R.INTEGRATION, Op.READ_AUDIT) is Decision.FORBID
    assert decide(R.VIEWER, Op.CREATE, V.RESTRICTED) is Decision.FORBID
    assert decide(R.SECURITY, Op.MANAGE_MEMBERS, V.RESTRICTED) is Decision.ALLOW


# -- the coarse permissions the server checks today ------------------------------------------

#: Written out in full, as before the matrix: the routes keep their meaning.
EXPECTED: dict[Role, set[Permission]] = {
    R.VIEWER: {Permission.READ},
    R.RESPONDER: {Permission.READ, Permission.RESPOND},
    R.COMMANDER: {Permission.READ, Permission.RESPOND, Permission.COMMAND},
    R.SECURITY: {Permission.READ, Permission.RESPOND},
    R.ADMIN: set(Permission),
    R.INTEGRATION: set(),
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_allowed_on_top_of_the_matrix(role: Role, permission: Permission) -> None:
    assert allowed(role, permission) is (permission in EXPECTED[role])
    assert allowed(role, permission) is all(may(role, o)
                                            for o in PERMISSION_OPERATIONS[permission])


# -- the README ------------------------------------------------------------------------------


def test_markdown_table_has_a_row_per_cell_column() -> None:
    table = markdown_table()
    rows = table.splitlines()
    assert len(rows) == 2 + len(Operation) + len(SCOPED)
    assert all(row.count("|") == 4 + len(Role) for row in rows)
    assert rows[0].split("|")[4:-1] == [f" {r.value} " for r in Role]


def test_readme_holds_exactly_the_generated_table() -> None:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- permissions:begin -->\n(.*?)<!-- permissions:end -->", text,
                      re.DOTALL)
    assert found, "README.md lacks the <!-- permissions:begin/end --> markers"
    assert found.group(1) == markdown_table(), (
        "README.md's permission table is stale: paste in the output of "
        "python -c 'from incidenttui.domain.permissions import markdown_table as t; "
        "print(t(), end=\"\")'")
