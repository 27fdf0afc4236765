"""Cell helpers: exact widths with wide characters, SLA text that reads without colour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rich.cells import cell_len

from incidenttui.widgets.cells import fit, sla_text

NOW = datetime(2026, 3, 2, 9, 35, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "short", "a" * 50, "漢字テスト" * 5, "🔥🚒 fire", "x漢"])
@pytest.mark.parametrize("width", [1, 2, 5, 9, 20])
def test_fit_is_exactly_the_width(text: str, width: int) -> None:
    assert cell_len(fit(text, width)) == width


def test_fit_marks_a_cut() -> None:
    assert fit("abcdefghij", 5) == "abcd…"
    assert fit("abc", 5) == "abc  "
    assert fit("abc", 0) == ""


def test_sla_text() -> None:
    assert sla_text(NOW + timedelta(minutes=19), NOW) == ("19m", False)
    text, breached = sla_text(NOW - timedelta(hours=1, minutes=5), NOW)
    assert breached and text.startswith("!")
    assert sla_text(None, NOW, paused=True) == ("paused", False)
    assert sla_text(None, NOW) == ("-", False)
