"""What this user may do, offline: the capabilities the server last reported on ``/me``.

Pure (standard library and the domain only): the store keeps the values in its meta table,
the screens ask :meth:`Capabilities.refusal` before they open a form, and
:meth:`Store.execute` asks it before it applies a command. The server stays the authority;
this only spares the user a change that would come back refused.

Which list applies to an incident:

* a normal incident: ``capabilities`` (what ``/me`` lists for normal incidents);
* a restricted one (:func:`~incidenttui.domain.permissions.is_restricted`): what the server
  lists in ``restricted_capabilities`` (without membership), or else what the role may do as
  a *member* — the store holds a restricted incident only because the server showed it to
  this user, so for a role that does not see all restricted incidents, that means a member.

Nothing known yet (a store that never reached ``/me``): everything is allowed locally.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from incidenttui.domain.enums import Role
from incidenttui.domain.permissions import Operation, Visibility, is_restricted, may, operations

#: Store meta keys.
ROLE_KEY = "role"
CAPABILITIES_KEY = "capabilities"
RESTRICTED_CAPABILITIES_KEY = "restricted_capabilities"


def _ops(values: Iterable[str]) -> frozenset[Operation]:
    # An operation a newer server names that this client does not know: ignored.
    known = {op.value for op in Operation}
    return frozenset(Operation(v) for v in values if v in known)


@dataclass(frozen=True)
class Capabilities:
    """The user's role and what ``/me`` said they may do (None: not known yet)."""

    role: str | None = None
    normal: frozenset[Operation] | None = None
    restricted: frozenset[Operation] | None = None

    @classmethod
    def from_me(cls, role: str, capabilities: Iterable[str] | None,
                restricted_capabilities: Iterable[str] | None) -> Capabilities:
        """From a ``/me`` answer; an older server omits the lists: the domain's matrix for
        the role stands in."""
        normal = _ops(capabilities) if capabilities is not None else _role_ops(role)
        restricted = (_ops(restricted_capabilities) if restricted_capabilities is not None
                      else _role_ops(role, Visibility.RESTRICTED))
        return cls(role, normal, restricted)

    @property
    def known(self) -> bool:
        return self.normal is not None

    def may(self, operation: Operation | str, category: str | None = None,
            restricted: bool = False) -> bool:
        """Whether the user may do ``operation`` on an incident of ``category`` (and flag)."""
        operation = Operation(operation)
        if self.normal is None:
            return True
        if not _restricted(category, restricted):
            return operation in self.normal
        if self.restricted is not None and operation in self.restricted:
            return True
        return operation in self.normal and self._as_member(operation)

    def _as_member(self, operation: Operation) -> bool:
        try:
            return may(Role(self.role or ""), operation, Visibility.RESTRICTED, member=True)
        except ValueError:  # a role this client does not know: trust the server's lists
            return False

    def refusal(self, operation: Operation | str, what: str, category: str | None = None,
                restricted: bool = False) -> str | None:
        """Why the user may not do ``operation`` (``what``: "acknowledge incidents"), in
        words; None when they may."""
        if self.may(operation, category, restricted):
            return None
        role = self.role or "unknown"
        if _restricted(category, restricted) and self.normal is not None \
                and Operation(operation) in self.normal:
            return f"Your role {role} may not {what} on a restricted incident."
        return f"Your role {role} may not {what}."


def _restricted(category: str | None, restricted: bool) -> bool:
    try:
        return is_restricted(category or "other", restricted)
    except ValueError:  # a category from a newer server: only the flag counts
        return bool(restricted)


def _role_ops(role: str, visibility: Visibility = Visibility.NORMAL) -> frozenset[Operation]:
    try:
        return operations(Role(role), visibility)
    except ValueError:
        return frozenset()
