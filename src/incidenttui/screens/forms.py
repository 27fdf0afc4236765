"""Small modal forms: confirm, resolve, assign, priority, link, new incident.

Each returns its answer through ``dismiss`` (None when cancelled with Escape); the calling
screen turns the answer into commands. Choices from the store's directory (teams, users,
services) are read in a worker thread after the form is up, never on the event loop.
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from incidenttui.domain import Category, ResolutionCode
from incidenttui.messages import DirectoryLoaded


class Form(ModalScreen[Any]):
    """A modal form: Escape cancels, Enter on the last field (or ctrl+s) submits."""

    AREA = "form"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "submit", "Submit", id="form.submit"),
    ]
    TITLE_TEXT = ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="form"):
            yield Static(Content(self.TITLE_TEXT), classes="form-title")
            yield from self.fields()
            yield Static("", classes="form-error", markup=False)
            yield Static(Content("enter: next/submit · ctrl+s: submit · esc: cancel"),
                         classes="form-hint")

    def fields(self) -> ComposeResult:
        yield from ()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def error(self, text: str) -> None:
        self.query_one(".form-error", Static).update(Content(text))

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        if event.input is inputs[-1]:
            self.action_submit()
        else:
            self.focus_next()

    def action_submit(self) -> None:
        answer = self.answer()
        if answer is not None:
            self.dismiss(answer)

    def answer(self) -> Any:
        return True

    @staticmethod
    def _value(select: Select[Any]) -> Any:
        return None if select.value is Select.NULL else select.value


class DirectoryForm(Form):
    """A form whose choices come from the store's directory: its selects start empty and
    fill when :class:`DirectoryLoaded` arrives from the worker."""

    def on_mount(self) -> None:
        self._load_directory()

    @work(thread=True, exclusive=True, group="form-directory")
    def _load_directory(self) -> None:
        store = self.app.store
        if store is None:
            return
        try:
            loaded = DirectoryLoaded(store.teams(), store.users(), store.services())
        except Exception as exc:  # a locked or damaged store: say so, keep the form
            self.app.report_error("Reading teams and services failed", exc)
            return
        self.post_message(loaded)

    def on_directory_loaded(self, message: DirectoryLoaded) -> None:
        self.choices(message)

    def choices(self, directory: DirectoryLoaded) -> None:
        """Fill the selects from ``directory``."""


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; y or Enter confirms, n or Escape declines."""

    AREA = "confirm"
    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="form"):
            yield Static(Content(self.question), classes="form-title")
            yield Static(Content("y: yes · n: no"), classes="form-hint")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class ResolveScreen(Form):
    """Resolution code and note (both required): dismisses with ``(code, note)``."""

    def __init__(self, refs: str) -> None:
        super().__init__()
        self.TITLE_TEXT = f"Resolve {refs}"

    def fields(self) -> ComposeResult:
        yield Label("Resolution code")
        yield Select([(c.value.replace("_", " "), c.value) for c in ResolutionCode],
                     value=ResolutionCode.FIXED.value, allow_blank=False, id="code",
                     compact=True)
        yield Label("What was done (required)")
        yield Input(id="note", placeholder="e.g. rolled back release 2024.11.3", compact=True)

    def on_mount(self) -> None:
        self.query_one("#note").focus()

    def answer(self) -> tuple[str, str] | None:
        note = self.query_one("#note", Input).value.strip()
        if not note:
            self.error("A resolution note is required.")
            return None
        return str(self.query_one("#code", Select).value), note


class AssignScreen(DirectoryForm):
    """Team and optional person: dismisses with the field changes."""

    def __init__(self, refs: str) -> None:
        super().__init__()
        self.TITLE_TEXT = f"Assign {refs}"

    def fields(self) -> ComposeResult:
        yield Label("Team")
        yield Select([], id="team", prompt="choose a team", compact=True)
        yield Label("Person (optional)")
        yield Select([], id="user", prompt="nobody in particular", compact=True)

    def choices(self, directory: DirectoryLoaded) -> None:
        self.query_one("#team", Select).set_options(
            (Content(f"{t.id} — {t.name} (L{t.level})"), t.id) for t in directory.teams)
        self.query_one("#user", Select).set_options(
            (Content(f"{u.id} — {u.display_name}"), u.id) for u in directory.users)

    def answer(self) -> dict[str, Any] | None:
        team = self._value(self.query_one("#team", Select))
        if team is None:
            self.error("Choose a team.")
            return None
        return {"team": team, "assignee": self._value(self.query_one("#user", Select))}


LEVELS = [("1 high", 1), ("2 medium", 2), ("3 low", 3)]


class PriorityScreen(Form):
    """Impact and urgency (the matrix gives the priority)."""

    def __init__(self, ref: str, impact: int, urgency: int) -> None:
        super().__init__()
        self.TITLE_TEXT = f"Reprioritise {ref}"
        self._impact, self._urgency = impact, urgency

    def fields(self) -> ComposeResult:
        yield Label("Impact")
        yield Select(LEVELS, value=self._impact, allow_blank=False, id="impact", compact=True)
        yield Label("Urgency")
        yield Select(LEVELS, value=self._urgency, allow_blank=False, id="urgency",
                     compact=True)

    def answer(self) -> dict[str, int]:
        return {"impact": int(self.query_one("#impact", Select).value),
                "urgency": int(self.query_one("#urgency", Select).value)}


class LinkScreen(Form):
    """Link to another incident: dismisses with ``(kind, target key)``."""

    def __init__(self, ref: str) -> None:
        super().__init__()
        self.TITLE_TEXT = f"Link {ref} to…"

    def fields(self) -> ComposeResult:
        yield Label("Relation")
        yield Select([("duplicate of", "duplicate_of"), ("related to", "related"),
                      ("caused by", "caused_by")], value="related", allow_blank=False,
                     id="kind", compact=True)
        yield Label("Other incident (INC-number)")
        yield Input(id="target", placeholder="INC-1042", compact=True)

    def on_mount(self) -> None:
        self.query_one("#target").focus()

    def answer(self) -> tuple[str, str] | None:
        target = self.query_one("#target", Input).value.strip()
        if not target:
            self.error("Name the other incident.")
            return None
        return str(self.query_one("#kind", Select).value), target


class NewIncidentScreen(DirectoryForm):
    """Log a new incident: dismisses with a CreateIncident command."""

    TITLE_TEXT = "New incident"

    def fields(self) -> ComposeResult:
        yield Label("Title")
        yield Input(id="title", placeholder="what is broken, for whom", compact=True)
        yield Static(id="suggestion", classes="form-hint", markup=False)
        yield Label("Service")
        yield Select([], id="service", prompt="choose a service", compact=True)
        yield Label("Category")
        yield Select([(c.value.replace("_", " "), c.value) for c in Category],
                     value=Category.AVAILABILITY.value, allow_blank=False, id="category",
                     compact=True)
        yield Label("Impact / urgency (1 high … 3 low)")
        yield Select(LEVELS, value=2, allow_blank=False, id="impact", compact=True)
        yield Select(LEVELS, value=2, allow_blank=False, id="urgency", compact=True)
        yield Label("Description")
        yield Input(id="description", compact=True)

    def on_mount(self) -> None:
        self.query_one("#title").focus()
        #: The category/service model (domain/suggest.py), trained in a worker.
        self.suggester: Any = None
        self.suggestion: Any = None
        #: What the form itself last put in each select: a different value is the user's
        #: choice, which a later suggestion never overrides.
        self._filled: dict[str, Any] = {"category": Category.AVAILABILITY.value,
                                        "service": Select.NULL}
        self._chosen: set[str] = set()
        self._services: set[str] = set()
        self._train()

    @work(thread=True, exclusive=True, group="form-suggest")
    def _train(self) -> None:
        store = self.app.store
        if store is None:
            return
        try:
            suggester = store.suggester()
        except Exception as exc:  # a locked store: no suggestion, the form still works
            self.app.report_error("Learning from past incidents failed", exc)
            return
        self.app.call_from_thread(self._trained, suggester)

    def _trained(self, suggester: Any) -> None:
        self.suggester = suggester
        self._suggest()

    @on(Input.Changed, "#title, #description")
    def _suggest(self) -> None:
        """Suggest a category and service for what is typed (fast: a few words against a
        few classes, so on the event loop); fill the selects the user has not chosen."""
        if self.suggester is None:
            return
        self.suggestion = self.suggester.suggest(self.query_one("#title", Input).value,
                                                 self.query_one("#description", Input).value)
        hint = self.query_one("#suggestion", Static)
        if self.suggestion is None:
            hint.update(Content(""))
            return
        s = self.suggestion
        hint.update(Content(f"suggested: {s.category.replace('_', ' ')} {s.category_p:.0%}"
                            f" · {s.service} {s.service_p:.0%} (from {s.examples} past "
                            "incidents)"))
        self._fill("category", s.category)
        self._fill("service", s.service)

    def _fill(self, name: str, value: str) -> None:
        known = self._services if name == "service" else {c.value for c in Category}
        if name in self._chosen or value not in known:
            return  # the user chose, or the directory is not loaded yet
        self._filled[name] = value
        self.query_one(f"#{name}", Select).value = value

    @on(Select.Changed, "#category, #service")
    def _chose(self, event: Select.Changed) -> None:
        name = event.select.id or ""
        if event.value != self._filled.get(name):
            self._chosen.add(name)

    def choices(self, directory: DirectoryLoaded) -> None:
        self.query_one("#service", Select).set_options(
            (Content(f"{s.id} — {s.name}"), s.id) for s in directory.services)
        self._services = {s.id for s in directory.services}
        self._suggest()  # a suggestion made before the services were there

    def answer(self) -> Any:
        from incidenttui.store.commands import CreateIncident

        title = self.query_one("#title", Input).value.strip()
        service = self._value(self.query_one("#service", Select))
        if not title:
            self.error("A title is required.")
            return None
        if service is None:
            self.error("Choose a service.")
            return None
        return CreateIncident.new(
            title=title, service=service,
            category=str(self.query_one("#category", Select).value),
            impact=int(self.query_one("#impact", Select).value),
            urgency=int(self.query_one("#urgency", Select).value),
            description=self.query_one("#description", Input).value.strip())
