"""Bindings by area: the ids users remap keys by stay ``area.name``, and an action with
arguments must be named (two would share an id otherwise)."""

from __future__ import annotations

import pytest

from incidenttui.screens.escalate import EscalateScreen
from incidenttui.screens.playbook import PlaybookScreen
from incidenttui.widgets.bindings import bind, leave


def test_a_binding_is_identified_by_its_area_and_action() -> None:
    binding = bind("playbook", "space,x", "check", "Check step", tooltip="why")
    assert (binding.key, binding.action, binding.description, binding.id, binding.tooltip,
            binding.show) == ("space,x", "check", "Check step", "playbook.check", "why", True)
    assert bind("escalate", "up", "team(-1)", "Up", name="team_up", show=False).id == \
        "escalate.team_up"


def test_an_action_with_arguments_needs_a_name() -> None:
    with pytest.raises(ValueError, match="binding 'team\\(1\\)' of 'escalate' needs a name"):
        bind("escalate", "down", "team(1)", "Next team")


def test_escape_leaves_or_cancels() -> None:
    back = leave("kpis")
    assert (back.key, back.action, back.description, back.id) == ("escape", "back", "Back",
                                                                  "kpis.back")
    assert leave("escalate", "cancel", "Cancel").id == "escalate.cancel"


@pytest.mark.parametrize(("screen", "ids"), [
    (PlaybookScreen, ["playbook.back", "playbook.check"]),
    (EscalateScreen, ["escalate.cancel", "escalate.kind", "escalate.submit",
                      "escalate.team_up", "escalate.team_down"]),
])
def test_the_screens_keep_their_public_binding_ids(screen: type, ids: list[str]) -> None:
    """config.toml's [keys] names these ids: they are part of the public surface."""
    assert [b.id for b in screen.BINDINGS] == ids
