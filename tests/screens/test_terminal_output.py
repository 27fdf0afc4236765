"""The compacted terminal output shows exactly what Textual wrote, in fewer bytes: both streams
are played on a real terminal emulator (pyte) and the screens compared cell by cell."""

from __future__ import annotations

import pyte
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.color import Color
from rich.style import Style
from textual.app import App
from textual.strip import Strip

from incidenttui.terminal import SgrCompactor, compact_driver
from incidenttui.tui import AppConfig, IncidentApp

# One cursor move of the real app in truecolor, as Textual writes it (two queue rows, each
# with its scrollbar cell, and the cursor placed after).
TRUECOLOR_MOVE = (
    "\x1b[10;1H\x1b[38;2;224;224;224;48;2;18;18;18m  INC-1575     \x1b[0m"
    "\x1b[1;38;2;185;60;91;48;2;18;18;18mP1\x1b[0m\x1b[38;2;224;224;224;48;2;18;18;18m NEW  "
    "Checkout: search index errors (re… checkout   \x1b[0m"
    "\x1b[1;7;38;2;185;60;91;48;2;18;18;18m!554d2…\x1b[0m"
    "\x1b[38;2;224;224;224;48;2;18;18;18m L3\x1b[0m\x1b[10;80H\n"
    "\x1b[11;1H\x1b[1;38;2;224;224;224;48;2;254;166;43m  INC-1511     \x1b[0m"
    "\x1b[1;38;2;185;60;91;48;2;254;166;43mP1\x1b[0m"
    "\x1b[1;38;2;224;224;224;48;2;254;166;43m NEW  Erp-sync: search index unreachabl… "
    "erp-sync   \x1b[0m\x1b[1;7;38;2;185;60;91;48;2;254;166;43m!578d0…\x1b[0m"
    "\x1b[1;38;2;224;224;224;48;2;254;166;43m L1\x1b[0m\x1b[11;80H"
    "\x1b[11;80H\x1b[38;2;224;224;224;48;2;0;0;0m \x1b[0m\x1b[1;2H"
)


def screen_after(*writes: str, size: tuple[int, int] = (80, 24)) -> pyte.Screen:
    screen = pyte.Screen(*size)
    stream = pyte.Stream(screen)
    for data in writes:
        stream.feed(data)
    return screen


def assert_same_screen(a: pyte.Screen, b: pyte.Screen) -> None:
    assert (a.cursor.x, a.cursor.y) == (b.cursor.x, b.cursor.y)
    for y in range(a.lines):
        assert a.buffer[y] == b.buffer[y], f"line {y} differs"
    # The rendition left for whatever is written next (an erase, unstyled text).
    assert a.cursor.attrs == b.cursor.attrs


def test_a_cursor_move_in_truecolor_is_the_same_screen_in_fewer_bytes() -> None:
    compacted = SgrCompactor().compact(TRUECOLOR_MOVE)
    assert_same_screen(screen_after(TRUECOLOR_MOVE), screen_after(compacted))
    assert len(compacted.encode()) < 0.7 * len(TRUECOLOR_MOVE.encode())
    # The second row only adds what the cursor changes (bold, its background).
    assert "\x1b[1;48;2;254;166;43m  INC-1511" in compacted


def test_every_write_ends_in_the_rendition_textual_left() -> None:
    compactor = SgrCompactor()
    first = compactor.compact("\x1b[1;31mred\x1b[0m\x1b[5;1H")
    assert first.endswith("\x1b[0m") or first.endswith("H")
    assert_same_screen(screen_after("\x1b[1;31mred\x1b[0m\x1b[5;1H", "plain"),
                       screen_after(first, compactor.compact("plain")))


def test_a_write_starts_where_the_last_one_left_the_terminal() -> None:
    # Textual's own writes end reset; should one not, the next write's reset still counts.
    writes = ["\x1b[1;31mA", "\x1b[0mB", "\x1b[4mC\x1b[0m"]
    compactor = SgrCompactor()
    assert_same_screen(screen_after(*writes),
                       screen_after(*[compactor.compact(w) for w in writes]))


def test_sequences_it_does_not_model_pass_through_unchanged() -> None:
    data = "\x1b[38;2;1;2;3mA\x1b[0m\x1b[4:3mB\x1b[0m\x1b[2JC\x1b]8;id=1;https://x\x1b\\D"
    out = SgrCompactor().compact(data)
    assert "\x1b[4:3m" in out and "\x1b[2J" in out and "\x1b]8;id=1;https://x\x1b\\" in out
    assert_same_screen(screen_after(data), screen_after(out))


def test_an_erase_sees_the_background_textual_set() -> None:
    # Erases fill with the current background: the pending change must be written first.
    data = "\x1b[41mA\x1b[0m\x1b[3;1H\x1b[44m\x1b[K\x1b[0m"
    out = SgrCompactor().compact(data)
    assert_same_screen(screen_after(data), screen_after(out))


COLOURS = st.one_of(st.none(), st.sampled_from(["red", "bright_green", "default"]),
                    st.integers(16, 255).map(Color.from_ansi),
                    st.tuples(st.integers(0, 255), st.integers(0, 255),
                              st.integers(0, 255)).map(lambda c: Color.from_rgb(*c)))
STYLES = st.one_of(st.none(), st.builds(
    Style, color=COLOURS, bgcolor=COLOURS, bold=st.booleans() | st.none(),
    italic=st.booleans() | st.none(), underline=st.booleans() | st.none(),
    reverse=st.booleans() | st.none(), strike=st.booleans() | st.none(),
    blink=st.booleans() | st.none()))
RUNS = st.lists(st.tuples(st.text("ab …é漢", min_size=1, max_size=6), STYLES),
                min_size=1, max_size=8)
LINES = st.lists(st.tuples(st.integers(1, 10), st.integers(1, 30), RUNS), min_size=1,
                 max_size=6)


@settings(max_examples=150, deadline=None)
@given(lines=LINES, colour_system=st.sampled_from(["standard", "256", "truecolor"]))
def test_random_frames_look_the_same(lines: list, colour_system: str) -> None:
    """Lines of styled runs rendered the way Textual renders a strip, at random places."""
    from rich.color import ColorSystem

    system = {"standard": ColorSystem.STANDARD, "256": ColorSystem.EIGHT_BIT,
              "truecolor": ColorSystem.TRUECOLOR}[colour_system]
    parts = []
    for y, x, runs in lines:
        parts.append(f"\x1b[{y};{x}H")
        parts.extend(Strip.render_style(style, text, system) if style else text
                     for text, style in runs)
        parts.append("\n")
    data = "".join(parts)
    out = SgrCompactor().compact(data)
    assert_same_screen(screen_after(data), screen_after(out))
    assert len(out) <= len(data)


def test_the_app_writes_through_the_compacting_driver(tmp_path) -> None:
    app = IncidentApp(AppConfig(server_url=None, token=None, store_path=tmp_path / "s.db",
                                offline=True))
    platform_driver = App.get_driver_class(app)
    assert app.driver_class is not platform_driver
    assert issubclass(app.driver_class, platform_driver)
    assert app.driver_class.write is not platform_driver.write


def test_compact_driver_passes_compacted_output_on() -> None:
    written: list[str] = []

    class Recorder:
        def write(self, data: str) -> None:
            written.append(data)

    driver = compact_driver(Recorder)()
    driver.write(TRUECOLOR_MOVE)
    assert written == [SgrCompactor().compact(TRUECOLOR_MOVE)]
