"""The compacted terminal output shows exactly what Textual wrote, in fewer bytes: both streams
are played on a real terminal emulator (pyte) and the screens compared cell by cell, for both
forms the compactor writes (Textual's order, and drawn one rendition after another)."""

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


# The same move in 16 colours (Textual's ANSI theme colours for the same components).
SIXTEEN_COLOUR_MOVE = (TRUECOLOR_MOVE.replace("38;2;224;224;224", "37")
                       .replace("48;2;18;18;18", "40").replace("38;2;185;60;91", "91")
                       .replace("48;2;254;166;43", "43").replace("48;2;0;0;0", "40"))


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
    # Drawn by rendition: each colour is set once for both rows (the cursor's row only
    # changes the background), the cells between its runs stepped over.
    assert compacted == SgrCompactor().by_style(TRUECOLOR_MOVE)
    assert compacted.count("38;2;185;60;91") == 1 and compacted.count("38;2;224;224;224") == 2
    assert len(compacted.encode()) <= 360  # Textual's order, compacted: 428 B


def test_a_cursor_move_in_16_colours_keeps_textuals_order() -> None:
    # A colour change is 2-5 bytes here: the moves between renditions would cost more.
    compacted = SgrCompactor().compact(SIXTEEN_COLOUR_MOVE)
    by_style = SgrCompactor().by_style(SIXTEEN_COLOUR_MOVE)
    assert by_style is not None and len(compacted) < len(by_style)
    assert compacted.index("INC-1575") < compacted.index("P1") < compacted.index("INC-1511")
    assert_same_screen(screen_after(SIXTEEN_COLOUR_MOVE), screen_after(compacted))
    assert_same_screen(screen_after(SIXTEEN_COLOUR_MOVE), screen_after(by_style))


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


def test_writes_it_cannot_place_are_not_drawn_by_style() -> None:
    compactor = SgrCompactor()
    # Another sequence (an erase paints with the background of its moment), text after a
    # newline (it may have scrolled), control characters, a combining mark opening a run
    # (it joins the cell before it), overlapping runs (the later must stay on top).
    for data in ("\x1b[2;1H\x1b[41mA\x1b[K\x1b[0m", "\x1b[2;1HA\nB", "\x1b[2;1HA\tB",
                 "\x1b[2;1H\x1b[1mA\x1b[0m\u0301B", "\x1b[2;1H\x1b[1mABC\x1b[2;2H\x1b[0mX",
                 "plain\x1b[1mA\x1b[0m"):
        assert compactor.by_style(data) is None, repr(data)
        assert_same_screen(screen_after(data), screen_after(SgrCompactor().compact(data)))
    assert compactor.by_style("\x1b[2;1H\x1b[4:3mA\x1b[0m") is None  # an SGR not modelled


def test_after_wide_or_ambiguous_text_the_next_run_is_placed_absolutely() -> None:
    # How wide 漢 or … is, is the terminal's call: no relative move counts on it.
    data = ("\x1b[3;1H\x1b[31mab\x1b[0m\x1b[32m\x1b[0m  \x1b[31m漢…\x1b[0m  \x1b[31mcd\x1b[0m"
            "\x1b[3;20Hx")
    out = SgrCompactor().by_style(data)
    assert out is not None and "\x1b[3;10H" in out  # 'cd', after '漢…' (3 cells)
    assert "\x1b[2C" in out  # stepping over the two spaces after 'ab' (ASCII) is relative
    assert_same_screen(screen_after(data), screen_after(out))


def test_the_cursor_ends_where_textual_left_it() -> None:
    # No move after the last text: the cursor stays after it, so it is drawn last; a
    # newline after it goes on from there.
    for tail in ("", "\n", "\r", "\x1b[9;4H\n"):
        data = ("\x1b[2;1H\x1b[31mred\x1b[0m plain \x1b[31mred\x1b[0m\x1b[3;1H\x1b[31mred\x1b[0m"
                " end" + tail)
        out = SgrCompactor().by_style(data)
        assert out is not None
        assert_same_screen(screen_after(data), screen_after(out))


# Chops of styled runs at distinct places: at most two on a row, which never overlap
# (columns 1-36 and 41-76).
CHOPS = st.lists(st.tuples(st.integers(1, 10), st.sampled_from([1, 41]), st.integers(0, 5),
                           st.lists(st.tuples(st.text("ab …é漢", min_size=1, max_size=6),
                                              STYLES), min_size=1, max_size=5)),
                 min_size=1, max_size=8, unique_by=lambda chop: chop[:2])


@settings(max_examples=150, deadline=None)
@given(chops=CHOPS, colour_system=st.sampled_from(["standard", "256", "truecolor"]),
       left=STYLES, tail=st.sampled_from(["", "\n", "\x1b[1;2H", "\x1b[5;7H\n"]))
def test_random_frames_drawn_by_style_look_the_same(chops: list, colour_system: str,
                                                    left: Style | None, tail: str) -> None:
    """Random frames drawn one rendition after another, after a write that left a style."""
    from rich.color import ColorSystem

    system = {"standard": ColorSystem.STANDARD, "256": ColorSystem.EIGHT_BIT,
              "truecolor": ColorSystem.TRUECOLOR}[colour_system]
    codes = left._make_ansi_codes(system) if left else ""
    before = f"\x1b[12;1H\x1b[{codes}m" if codes else "\x1b[12;1H"
    parts = []
    for y, x, offset, runs in chops:
        parts.append(f"\x1b[{y};{x + offset}H")
        parts.extend(Strip.render_style(style, text, system) if style else text
                     for text, style in runs)
    data = "".join(parts) + tail
    compactor = SgrCompactor()
    first = compactor.compact(before)
    out = compactor.by_style(data)
    assert out is not None
    assert_same_screen(screen_after(before, data), screen_after(first, out))
    # and what compact() writes is the shorter form, to the same effect
    written = compactor.compact(data)
    assert len(written) <= len(out)
    assert_same_screen(screen_after(before, data), screen_after(first, written))


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
