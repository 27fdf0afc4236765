"""Helpers for the Pilot-driven app tests: the screen as text, bounded waits, a frozen clock,
text snapshots and the inertness check.

The screen text is what the compositor would send, minus styles: every text segment of the
current screen (and the screens visible under a modal), so a raw ESC, C1 control or bidi
override that reached a cell shows up here.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import textual
from rich.console import Console
from textual.pilot import Pilot

#: The sizes every screen is checked at: the SSH jump host and a roomy terminal.
SIZES = [(80, 24), (120, 40)]
SIZE_IDS = ["80x24", "120x40"]

#: The pinned Textual the snapshots were made with.
PINNED_TEXTUAL = "8.2.8"
#: Set to 1 to rewrite the snapshot files instead of comparing against them.
UPDATE_ENV = "INCIDENTTUI_UPDATE_SNAPSHOTS"
SNAPSHOT_DIR = Path(__file__).resolve().parent.parent / "screens" / "snapshots"

#: Nothing of this may reach a terminal cell: ESC, other C0 controls (newline aside), DEL,
#: C1 controls (0x9b is CSI), bidi embeddings/overrides/isolates.
FORBIDDEN = re.compile("[\x00-\x09\x0b-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069]")


# -- what is on the screen ------------------------------------------------------------------


def screen_text(app: Any) -> str:
    """The whole screen as plain text, one line per row (modal screens over what is below)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system=None, record=True, legacy_windows=False, safe_box=False)
    update = app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens)
    console.print(update)
    return console.export_text(styles=False)


def screen_lines(app: Any) -> list[str]:
    return screen_text(app).split("\n")[: app.size[1]]


def assert_inert(text: str, where: str = "screen") -> None:
    """No control, escape or bidi-override character in ``text``."""
    bad = sorted({f"U+{ord(c):04X}" for c in FORBIDDEN.findall(text)})
    assert not bad, f"{where} holds raw control/bidi characters: {', '.join(bad)}"


def widget_text(widget: Any) -> str:
    """The plain text a Static-like widget shows."""
    content = getattr(widget, "content", None)
    if content is None:
        content = widget.render()
    return str(getattr(content, "plain", content))


def notification_texts(app: Any) -> list[str]:
    return [f"{n.title or ''}: {n.message}" for n in app._notifications]


# -- waiting --------------------------------------------------------------------------------


async def wait_for(pilot: Pilot[Any], predicate: Callable[[], Any], timeout: float = 10.0,
                   what: str = "condition", step: float = 0.02) -> Any:
    """Poll ``predicate`` (letting the app run between polls) until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            text = screen_text(pilot.app)
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; screen:\n"
                                 f"{text}\nnotifications: {notification_texts(pilot.app)}")
        await pilot.pause(step)


async def wait_text(pilot: Pilot[Any], needle: str, timeout: float = 10.0) -> str:
    """Wait until ``needle`` is on the screen; returns the screen text."""
    def check() -> str | None:
        text = screen_text(pilot.app)
        return text if needle in text else None

    return str(await wait_for(pilot, check, timeout, f"{needle!r} on screen"))


async def wait_lines(pilot: Pilot[Any], predicate: Callable[[list[str]], Any],
                     timeout: float = 10.0, what: str = "screen lines") -> list[str]:
    """Wait until the screen's lines satisfy ``predicate``; returns them.

    Widgets paint on their own schedule (the footer builds its bindings after the screen
    mounts), so a test checks the whole screen by waiting for it, not by reading it once."""
    def check() -> list[str] | None:
        lines = screen_lines(pilot.app)
        return lines if predicate(lines) else None

    return list(await wait_for(pilot, check, timeout, what))


async def wait_no_text(pilot: Pilot[Any], needle: str, timeout: float = 10.0) -> str:
    def check() -> str | None:
        text = screen_text(pilot.app)
        return text if needle not in text else None

    return str(await wait_for(pilot, check, timeout, f"{needle!r} to leave the screen"))


async def wait_online(pilot: Pilot[Any], timeout: float = 20.0) -> None:
    await wait_for(pilot, lambda: pilot.app.sync_status.state == "online", timeout,
                   "sync to be online")


async def wait_synced(pilot: Pilot[Any], timeout: float = 20.0) -> None:
    """Online with nothing left in the outbox."""
    app = pilot.app
    await wait_for(pilot, lambda: app.sync_status.state == "online"
                   and app.store is not None and app.store.pending_count() == 0
                   and app.sync_status.pending == 0, timeout, "everything to be synced")


async def wait_store(pilot: Pilot[Any], timeout: float = 10.0) -> None:
    await wait_for(pilot, lambda: pilot.app.store is not None, timeout, "the store to load")


async def wait_screen(pilot: Pilot[Any], name: str, timeout: float = 10.0) -> Any:
    """Wait until the current screen's class is ``name``; returns the screen."""
    return await wait_for(pilot, lambda: pilot.app.screen if
                          type(pilot.app.screen).__name__ == name else None, timeout,
                          f"screen {name} (now {type(pilot.app.screen).__name__})")


async def wait_queue(pilot: Pilot[Any], predicate: Callable[[list[str]], bool],
                     timeout: float = 10.0, what: str = "queue rows") -> list[str]:
    """Wait until the queue view's ids satisfy ``predicate``; returns them."""
    from incidenttui.widgets.queue_view import QueueView

    def check() -> list[str] | None:
        screen = pilot.app.screen
        views = list(screen.query(QueueView)) if type(screen).__name__ == "QueueScreen" \
            else []
        if views and predicate(views[0].ids):
            return list(views[0].ids) or ["(empty)"]
        return None

    ids = await wait_for(pilot, check, timeout, what)
    return [] if ids == ["(empty)"] else ids


async def type_text(pilot: Pilot[Any], text: str) -> None:
    """Type ``text`` key by key, as a user would."""
    keys = ["space" if c == " " else c for c in text]
    for start in range(0, len(keys), 50):
        await pilot.press(*keys[start:start + 50])


async def paste(pilot: Pilot[Any], text: str) -> None:
    """Paste ``text`` into the focused widget, as a terminal's bracketed paste does (one
    event, so long texts cost no more than short ones)."""
    from textual import events

    pilot.app.post_message(events.Paste(text))
    await pilot.pause()


# -- a frozen clock -------------------------------------------------------------------------


class _FrozenDatetime(datetime):
    frozen: datetime = datetime(2026, 3, 2, 9, 35, tzinfo=UTC)

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        value = cls.frozen
        return value.astimezone(tz) if tz is not None else value.replace(tzinfo=None)

    @classmethod
    def utcnow(cls) -> datetime:  # type: ignore[override]
        return cls.frozen.replace(tzinfo=None)


def freeze_clock(monkeypatch: Any, when: datetime) -> None:
    """Make every ``datetime.now()`` in incidenttui (and ``utcnow()``) return ``when``.

    Patches the ``datetime`` and ``utcnow`` names in each loaded incidenttui module, so it
    follows code that other modules add; the app's lazily imported modules are imported first.
    """
    import importlib
    import pkgutil

    import incidenttui.screens
    import incidenttui.widgets

    names = ["incidenttui.tui", "incidenttui.store.store", "incidenttui.sync.engine",
             "incidenttui.sync.status"]
    for package in (incidenttui.screens, incidenttui.widgets):
        names += [f"{package.__name__}.{m.name}"
                  for m in pkgutil.iter_modules(package.__path__)]
    for name in names:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    frozen = type("FrozenDatetime", (_FrozenDatetime,), {"frozen": when})
    import incidenttui.sqltypes as sqltypes

    real_utcnow = sqltypes.utcnow
    for name, module in list(sys.modules.items()):
        if not (name == "incidenttui" or name.startswith("incidenttui.")) or module is None:
            continue
        if getattr(module, "datetime", None) is datetime:
            monkeypatch.setattr(module, "datetime", frozen)
        if getattr(module, "utcnow", None) is real_utcnow:
            monkeypatch.setattr(module, "utcnow", lambda: when)


# -- snapshots ------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.split("\n")).rstrip("\n") + "\n"


def assert_snapshot(name: str, text: str, size: tuple[int, int]) -> None:
    """Compare the screen text with ``snapshots/<name>.txt``; ``INCIDENTTUI_UPDATE_SNAPSHOTS=1``
    rewrites it. The header names the Textual version and size it was taken with."""
    header = f"# textual {textual.__version__} · {size[0]}x{size[1]}\n"
    actual = header + _normalise(text)
    path = SNAPSHOT_DIR / f"{name}.txt"
    if os.environ.get(UPDATE_ENV) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), (f"no snapshot {path.name}; run with {UPDATE_ENV}=1 to create it, "
                           "then review it")
    expected = path.read_text(encoding="utf-8")
    if expected != actual:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            f"{path.name} (expected)", "actual"))
        raise AssertionError(f"screen differs from snapshot {path.name} (if the change is "
                             f"intended, rerun with {UPDATE_ENV}=1 and review):\n{diff}")


def region_visible(widget: Any, size: tuple[int, int]) -> bool:
    """The widget is displayed, non-empty and entirely on a screen of ``size``."""
    region = widget.region
    return (widget.display and region.width > 0 and region.height > 0 and region.x >= 0
            and region.y >= 0 and region.right <= size[0] and region.bottom <= size[1])


def lines_containing(lines: Iterable[str], needle: str) -> list[str]:
    return [line for line in lines if needle in line]
