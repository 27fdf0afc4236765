"""Help: the keys of the screen below, read from its bindings (so remapped keys show)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    AREA = "help"
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help.close")]

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        rows: list[tuple[str, str, str]] = []
        seen: set[tuple[str, str]] = set()
        for key, active in self.under.active_bindings.items():
            binding = active.binding
            if not binding.description or (binding.action, binding.description) in seen:
                continue
            seen.add((binding.action, binding.description))
            display = self.app.get_key_display(binding)
            keys = [display] + [k for k, a in self.under.active_bindings.items()
                                if a.binding.action == binding.action and k != key]
            rows.append((", ".join(dict.fromkeys(keys)), binding.description,
                         binding.tooltip or ""))
        width = max((len(k) for k, _, _ in rows), default=4)
        lines = [f"{k:<{width}}  {d}" + (f" — {t}" if t else "") for k, d, t in rows]
        area = getattr(self.under, "AREA", "screen")
        with VerticalScroll(id="help"):
            yield Static(Content(f"Keys: {area}  (esc closes; ctrl+p or : lists every command)"),
                         classes="form-title")
            yield Static(Content("\n".join(lines)), id="help-keys")
            # A screen may explain what it shows (the KPI screen: its definitions).
            explained = getattr(self.under, "HELP", ())
            if explained:
                yield Static(Content("\n".join(explained)), id="help-text")
            yield Static(Content(
                "Remap keys in config.toml: [keys] \"incident.acknowledge\" = \"A\" "
                "(ids: see the command palette)."), classes="form-hint")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
