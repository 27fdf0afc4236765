"""The commander screen's forms: a role, a stakeholder update, an action item, marking one
done, a review field, and where to write the review.

Each dismisses with the data of one command (None when cancelled); what is valid is the
domain's to say (domain/major.py), and a refusal shows in the form, which stays open.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Label, Select, TextArea

from incidenttui.domain import Refused
from incidenttui.domain.major import (
    MajorRole,
    ReviewField,
    cadence,
    check_due,
    check_status_update,
    iso,
)
from incidenttui.screens.forms import Form


class RoleForm(Form):
    """Who holds a role: dismisses with ``{"role", "user"}`` (user None: nobody)."""

    def __init__(self, ref: str, roles: dict[MajorRole, str | None]) -> None:
        super().__init__()
        self.TITLE_TEXT = f"Assign a role on {ref}"
        self.roles = roles

    def fields(self) -> ComposeResult:
        yield Label("Role")
        yield Select([(r.label, r.value) for r in MajorRole], value=MajorRole.COMMANDER.value,
                     allow_blank=False, id="role", compact=True)
        yield Label("User id (empty: nobody holds it)")
        yield Input(id="user", placeholder="e.g. claire.dubois", compact=True)

    def on_mount(self) -> None:
        self.query_one("#user").focus()

    def answer(self) -> dict[str, Any] | None:
        role = MajorRole(str(self.query_one("#role", Select).value))
        user = self.query_one("#user", Input).value.strip() or None
        if user is not None and (" " in user or len(user) > 64):
            self.error("A user id is one word (e.g. claire.dubois).")
            return None
        return {"role": role.value, "user": user, "from": self.roles.get(role)}


class StatusUpdateForm(Form):
    """A stakeholder update: dismisses with its data as domain/major.py checks it. A
    public wording makes it public (the status page shows only that wording)."""

    def __init__(self, ref: str, priority: int, now: datetime) -> None:
        super().__init__()
        self.TITLE_TEXT = f"Stakeholder update on {ref}"
        self.now = now
        self.minutes = int(cadence(priority).total_seconds() // 60)

    def fields(self) -> ComposeResult:
        yield Label("Current state")
        yield Input(id="state", placeholder="e.g. card payments degraded", compact=True)
        yield Label("Impact on customers")
        yield Input(id="impact", placeholder="e.g. 1 in 3 card payments fail", compact=True)
        yield Label("Next steps")
        yield Input(id="next-steps", placeholder="e.g. failing over to Stripe", compact=True)
        yield Label("Next update in (minutes)")
        yield Input(str(self.minutes), id="next-in", type="integer", compact=True)
        yield Label("Public wording for the status page (empty: internal only)")
        yield Input(id="public-text", compact=True)

    def on_mount(self) -> None:
        self.query_one("#state").focus()

    def answer(self) -> dict[str, Any] | None:
        value = {name: self.query_one(f"#{name}", Input).value.strip()
                 for name in ("state", "impact", "next-steps", "next-in", "public-text")}
        minutes = int(value["next-in"]) if value["next-in"].isdigit() else 0
        if not 1 <= minutes <= 24 * 60:
            self.error("The next update is due in 1 to 1440 minutes.")
            return None
        due = self.now.astimezone(UTC).replace(microsecond=0) + timedelta(minutes=minutes)
        data = {"state": value["state"], "impact": value["impact"],
                "next_steps": value["next-steps"], "next_update_due": iso(due),
                "public": bool(value["public-text"]),
                "public_text": value["public-text"] or None}
        try:
            return check_status_update(data)
        except Refused as exc:
            self.error(exc.reason)
            return None


class ActionItemForm(Form):
    """A new action item: dismisses with ``{"text", "owner", "due", "done"}``."""

    def __init__(self, ref: str) -> None:
        super().__init__()
        self.TITLE_TEXT = f"Action item on {ref}"

    def fields(self) -> ComposeResult:
        yield Label("What is to be done")
        yield Input(id="text", compact=True)
        yield Label("Owner (user id, optional)")
        yield Input(id="owner", compact=True)
        yield Label("Due (YYYY-MM-DD, optional)")
        yield Input(id="due", placeholder="2026-05-08", compact=True)

    def on_mount(self) -> None:
        self.query_one("#text").focus()

    def answer(self) -> dict[str, Any] | None:
        text = self.query_one("#text", Input).value.strip()
        owner = self.query_one("#owner", Input).value.strip() or None
        if not text:
            self.error("Say what is to be done.")
            return None
        try:
            due = check_due(self.query_one("#due", Input).value)
        except Refused as exc:
            self.error(exc.reason)
            return None
        return {"text": text, "owner": owner, "due": due, "done": False}


class ItemDoneForm(Form):
    """Mark action item N done (or open again): dismisses with ``(item id, done)``."""

    def __init__(self, ref: str, items: list[Any]) -> None:
        super().__init__()
        self.TITLE_TEXT = f"Action items of {ref}: done or open again"
        self.items = items

    def fields(self) -> ComposeResult:
        lines = [f"{n}. [{'x' if i.done else ' '}] {i.text}"
                 for n, i in enumerate(self.items, 1)]
        yield Label("\n".join(lines) or "No action items yet.", markup=False)
        yield Label("Item number (a done one opens again)")
        yield Input(id="number", type="integer", compact=True)

    def on_mount(self) -> None:
        self.query_one("#number").focus()

    def answer(self) -> tuple[str, bool] | None:
        text = self.query_one("#number", Input).value.strip()
        number = int(text) if text.isdigit() else 0
        if not 1 <= number <= len(self.items):
            self.error(f"Give an item number from 1 to {len(self.items)}." if self.items
                       else "There is no action item yet (a: add one).")
            return None
        item = self.items[number - 1]
        return item.id, not item.done


class ReviewFieldForm(Form):
    """One field of the post-incident review (root cause, contributing factors, …):
    dismisses with ``{"field", "text"}``. Enter makes a new line; ctrl+s saves."""

    def __init__(self, ref: str, written: dict[ReviewField, str]) -> None:
        super().__init__()
        self.TITLE_TEXT = f"Review of {ref}: what the record cannot say"
        self.written = written

    def fields(self) -> ComposeResult:
        yield Label("Field")
        yield Select([(f.label, f.value) for f in ReviewField],
                     value=ReviewField.ROOT_CAUSE.value, allow_blank=False, id="field",
                     compact=True)
        yield Label("Text (enter: new line · ctrl+s: save)")
        yield TextArea(self.written.get(ReviewField.ROOT_CAUSE, ""), id="text",
                       soft_wrap=True, compact=True)

    def on_mount(self) -> None:
        self.query_one("#text").focus()

    @on(Select.Changed, "#field")
    def _field(self, event: Select.Changed) -> None:
        self.query_one("#text", TextArea).text = self.written.get(
            ReviewField(str(event.value)), "")

    def answer(self) -> dict[str, Any]:
        return {"field": str(self.query_one("#field", Select).value),
                "text": self.query_one("#text", TextArea).text.strip()}


class ReviewFileForm(Form):
    """Where to write the review: dismisses with the path."""

    def __init__(self, ref: str, default: str) -> None:
        super().__init__()
        self.TITLE_TEXT = f"Write the post-incident review of {ref}"
        self.default = default

    def fields(self) -> ComposeResult:
        yield Label("File (Markdown)")
        yield Input(self.default, id="path", compact=True)

    def on_mount(self) -> None:
        self.query_one("#path").focus()

    def answer(self) -> str | None:
        path = self.query_one("#path", Input).value.strip()
        if not path:
            self.error("Name a file.")
            return None
        return path
