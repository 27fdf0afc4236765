"""Fewer bytes to the terminal: every style run says only what changes.

Textual writes each run of styled text as ``ESC[<all of its style>m text ESC[0m``: a run
repeats its colours in full even when only one attribute differs from the run before, and
closes with a reset that the next run undoes. Over SSH that is most of a cursor move's bytes
(a truecolor colour is ~16 bytes). :class:`SgrCompactor` rewrites the stream so that each
SGR sequence carries only the difference from what the terminal already shows, and a reset
followed by a cursor move and a new style becomes one short change. The characters, their
positions and the final rendition on screen are exactly what Textual wrote; every write
ends in the rendition Textual left (a reset), so writes stay independent of each other.

In truecolor a colour change is 16-18 bytes, and a queue row alternates between its text
colour and its priority/breach colour four times. So a write whose text all lands at known
places is also drawn *by style* (:meth:`SgrCompactor.by_style`): the runs of each rendition
together, wherever they are on screen, reached by cursor moves of 1-8 bytes. Of the two
forms the shorter is written; in 16 colours, where a change is 2-5 bytes, that is usually
Textual's order.

:func:`compact_driver` wraps the platform's driver class with it (the app's
``get_driver_class``); headless test drivers are left alone.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from rich.cells import cell_len

#: Attributes and the code that turns each off (bold and dim share 22, underlines 24, ...).
_OFF = {"1": "22", "2": "22", "3": "23", "4": "24", "21": "24", "5": "25", "6": "25",
        "7": "27", "8": "28", "9": "29", "51": "54", "52": "54", "53": "55"}
#: Which attributes an "off" code clears.
_CLEARS: dict[str, tuple[str, ...]] = {}
for _attr, _off in _OFF.items():
    _CLEARS.setdefault(_off, ())
    _CLEARS[_off] += (_attr,)

# SGR, other CSI, OSC (hyperlinks), other two-byte escapes, line moves, and text.
_TOKEN = re.compile(r"\x1b\[([0-9;:]*)m|(\x1b\[[0-9;]*H|\r|\n)"
                    r"|\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b.?"
                    r"|[^\x1b\r\n]+", re.S)

# (attributes, foreground, background, underline colour); colours as their SGR parameters.
State = tuple[frozenset[str], tuple[str, ...], tuple[str, ...], tuple[str, ...]]
DEFAULT: State = (frozenset(), (), (), ())
_UNSEEN = object()


def _apply(state: State, params: str) -> State | None:
    """``state`` after the SGR parameters ``params``; None for a parameter not modelled."""
    if ":" in params:  # sub-parameters (curly underlines): not modelled
        return None
    attrs, fg, bg, ul = state
    attrs = set(attrs)
    codes = params.split(";") if params else ["0"]
    i = 0
    while i < len(codes):
        code = codes[i].lstrip("0") or "0"
        if code == "0":
            attrs, fg, bg, ul = set(), (), (), ()
        elif code in _OFF:
            attrs.add(code)
        elif code in _CLEARS:
            attrs.difference_update(_CLEARS[code])
        elif code in ("38", "48", "58"):
            kind = codes[i + 1] if i + 1 < len(codes) else ""
            length = 3 if kind == "5" else 5 if kind == "2" else 0
            if not length or i + length > len(codes):
                return None
            colour = (code, *codes[i + 1:i + length])
            i += length - 1
            if code == "38":
                fg = colour
            elif code == "48":
                bg = colour
            else:
                ul = colour
        elif code == "39":
            fg = ()
        elif code == "49":
            bg = ()
        elif code == "59":
            ul = ()
        elif 30 <= int(code) <= 37 or 90 <= int(code) <= 97:
            fg = (code,)
        elif 40 <= int(code) <= 47 or 100 <= int(code) <= 107:
            bg = (code,)
        else:
            return None
        i += 1
    return frozenset(attrs), fg, bg, ul


def _full(state: State) -> list[str]:
    attrs, fg, bg, ul = state
    return sorted(attrs, key=int) + list(fg) + list(bg) + list(ul)


def _change(old: State | None, new: State) -> str:
    """The shortest SGR sequence taking the terminal from ``old`` to ``new`` ('' if none)."""
    if old == new:
        return ""
    reset = ";".join(["0", *_full(new)])
    if old is None:
        return f"\x1b[{reset}m"
    codes: list[str] = []
    kept = set(old[0])
    for off in sorted({_OFF[a] for a in old[0] - new[0]}, key=int):
        codes.append(off)
        kept.difference_update(_CLEARS[off])
    codes += sorted(new[0] - kept, key=int)
    for was, now, default in zip(old[1:], new[1:], ("39", "49", "59"), strict=True):
        if was != now:
            codes += list(now) or [default]
    delta = ";".join(codes)
    return f"\x1b[{delta if len(delta) < len(reset) else reset}m"


def _short_move(move: str) -> str:
    """``ESC[row;1H`` as ``ESC[rowH`` (column 1 is the default), ``ESC[1;1H`` as ``ESC[H``."""
    if move.endswith(";1H"):
        move = move[:-3] + "H"
    return "\x1b[H" if move == "\x1b[1H" else move


def _position(move: str) -> tuple[int, int]:
    """The (row, column) an ``ESC[row;colH`` move goes to, 1-based (0 counts as 1)."""
    row, _, col = move[2:-1].partition(";")
    return max(1, int(row or 1)), max(1, int(col or 1))


def _goto(at: tuple[int, int] | None, row: int, col: int) -> str:
    """The shortest move from ``at`` (None: not known for sure) to ``(row, col)``.

    Relative moves are used only from a place known for sure (see :class:`_Run`): forward
    (CUF) on the same row, or back to its start (CR) and on from there; else an absolute
    move. A cursor left past the last column (pending wrap) only ever meets CR, which every
    terminal takes back to column 1."""
    absolute = _short_move(f"\x1b[{row};{col}H")
    if at is None or at[0] != row:
        return absolute
    if at[1] == col:
        return ""
    if col == 1:
        return "\r"
    relative = _forward(col - at[1]) if col > at[1] else "\r" + _forward(col - 1)
    return relative if len(relative) < len(absolute) else absolute


def _forward(n: int) -> str:
    return "\x1b[C" if n == 1 else f"\x1b[{n}C"


class _Run(NamedTuple):
    """Text drawn in one rendition at a known place on one row."""

    row: int
    col: int
    end: int  # the column after it
    state: State
    text: str
    #: Whether the cursor is surely at ``end`` after it: printable ASCII is one cell on
    #: every terminal; wider or ambiguous characters are only as wide as the terminal thinks,
    #: so after them the next run is placed absolutely, never relative to them.
    sure: bool
    lead: tuple[str, ...]  # the moves before it in Textual's order


class _Plan(NamedTuple):
    """A write made only of text at known places, SGR and cursor moves."""

    runs: list[_Run]  # in Textual's order
    tail: list[str]  # the moves after the last run
    left: State  # the rendition the write leaves


class SgrCompactor:
    """Rewrites one write's worth of terminal output (see the module docstring)."""

    def __init__(self) -> None:
        # A screen uses a few dozen styles: their transitions are worked out once.
        self._applied: dict[tuple[State, str], State | None] = {}
        self._changes: dict[tuple[State | None, State], str] = {}
        #: The rendition the last write left the terminal in (None: not known).
        self._left: State | None = DEFAULT

    def _apply(self, state: State, params: str) -> State | None:
        key = (state, params)
        if (after := self._applied.get(key, _UNSEEN)) is _UNSEEN:
            if len(self._applied) > 4096:
                self._applied.clear()
            after = self._applied[key] = _apply(state, params)
        return after  # type: ignore[return-value]

    def _change(self, old: State | None, new: State) -> str:
        key = (old, new)
        if (change := self._changes.get(key)) is None:
            if len(self._changes) > 4096:
                self._changes.clear()
            change = self._changes[key] = _change(old, new)
        return change

    def compact(self, data: str) -> str:
        """``data`` (one write, as Textual made it) in fewer bytes, to the same effect."""
        if "\x1b" not in data:
            return data
        tokens = list(_TOKEN.finditer(data))
        plan = self._plan(tokens)
        if plan is None:
            return self._in_order(tokens)
        in_order, by_style = self._write(plan, plan.runs), self._write(plan, self._by_style(plan))
        self._left = plan.left
        # Both hold the same text: the one with fewer characters has fewer bytes.
        return by_style if len(by_style) < len(in_order) else in_order

    def by_style(self, data: str) -> str | None:
        """``data`` drawn one rendition after another, if its text all goes to known places
        (None if not); as :meth:`compact` would write it, without counting it as written."""
        plan = self._plan(list(_TOKEN.finditer(data)))
        return None if plan is None else self._write(plan, self._by_style(plan))

    def _in_order(self, tokens: list[re.Match[str]]) -> str:
        """The write in Textual's order, each SGR sequence only the change."""
        out: list[str] = []
        moves: list[str] = []  # cursor moves not yet written
        # What the terminal has, and what the stream has asked for so far (None: not known).
        shown: State | None = self._left
        wanted: State | None = self._left
        for match in tokens:
            params, move = match.group(1), match.group(2)
            if params is not None:
                if wanted is None and params.split(";")[0] in ("", "0"):
                    wanted = DEFAULT  # a reset: known again (shown stays unknown)
                after = self._apply(wanted, params) if wanted is not None else None
                if after is None:  # not modelled: bring the terminal up to date, pass it on
                    out.append(self._change(shown, wanted) if wanted is not None else "")
                    out.append(match.group())
                    shown = wanted = None
                else:
                    wanted = after
            elif move is not None:
                # Moves leave the rendition alone, so a style change can wait for the text
                # after them; and moves with nothing written between them end where the
                # last absolute one goes (Textual moves past empty chops and ends lines
                # with a newline before moving again).
                if move[-1] == "H":
                    moves.clear()
                    move = _short_move(move)
                moves.append(move)
            else:
                out.extend(moves)
                moves.clear()
                if wanted is not None:  # text and other sequences see Textual's rendition
                    out.append(self._change(shown, wanted))
                    shown = wanted
                out.append(match.group())
        out.extend(moves)
        if wanted is not None:
            out.append(self._change(shown, wanted))
        self._left = wanted
        return "".join(out)

    def _by_style(self, plan: _Plan) -> list[_Run]:
        """The runs in the order that draws one rendition after another, each rendition's
        from the top left (see the module docstring)."""
        runs = list(plan.runs)
        # The moves after the last text: relative ones (or none) go on from where that text
        # ends, so it is drawn last.
        last = runs.pop() if not plan.tail or plan.tail[0][-1] != "H" else None
        groups: dict[State, list[_Run]] = {}
        for run in runs:
            groups.setdefault(run.state, []).append(run)
        ordered: list[_Run] = []
        shown = self._left
        while groups:
            # Next the rendition cheapest to change to (the first seen among equals).
            state = min(groups, key=lambda s: len(self._change(shown, s)))
            ordered.extend(sorted(groups.pop(state)))  # by row and column
            shown = state
        if last is not None:
            ordered.append(last)
        return ordered

    def _write(self, plan: _Plan, runs: list[_Run]) -> str:
        """The text of ``plan`` drawn as ``runs`` in this order: in Textual's order each run
        after its own moves, in any other with the shortest move to it."""
        out: list[str] = []
        shown = self._left
        at: tuple[int, int] | None = None  # where the cursor surely is
        in_order = runs is plan.runs
        for run in runs:
            if in_order:
                out.extend(run.lead)
            else:
                out.append(_goto(at, run.row, run.col))
            out.append(self._change(shown, run.state))
            out.append(run.text)
            shown = run.state
            at = (run.row, run.end) if run.sure else None
        out.extend(plan.tail)
        out.append(self._change(shown, plan.left))
        return "".join(out)

    def _plan(self, tokens: list[re.Match[str]]) -> _Plan | None:
        """The write as runs of text at known places, or None when it is not only that: a
        sequence other than SGR and cursor moves, text at a place not known from an
        absolute move, control or zero-width characters, runs that overlap, or a start in a
        rendition not known."""
        if (wanted := self._left) is None:
            return None
        runs: list[_Run] = []
        moves: list[str] = []  # the moves since the last text
        at: tuple[int, int] | None = None  # where the next text goes
        for match in tokens:
            params, move = match.group(1), match.group(2)
            if params is not None:
                if (after := self._apply(wanted, params)) is None:
                    return None
                wanted = after
            elif move is not None:
                if move[-1] == "H":  # as in _in_order: only the last absolute move counts
                    moves = [_short_move(move)]
                    at = _position(move)
                else:  # a newline may scroll: text after one is not at a known place
                    moves.append(move)
                    at = (at[0], 1) if move == "\r" and at is not None else None
            else:
                text = match.group()
                if (at is None or text[0] == "\x1b" or not text.isprintable()
                        or not cell_len(text[0])):
                    return None
                row, col = at
                end = col + cell_len(text)
                sure = text.isascii()
                if runs and not moves and runs[-1].state == wanted:  # one run, as it flows
                    before = runs.pop()
                    col, text, sure = before.col, before.text + text, before.sure and sure
                    moves = list(before.lead)
                runs.append(_Run(row, col, end, wanted, text, sure, tuple(moves)))
                at = (row, end)
                moves = []
        if not runs:
            return None
        placed = sorted((run.row, run.col, run.end) for run in runs)
        for (row, _, end), (next_row, next_col, _) in zip(placed, placed[1:], strict=False):
            if row == next_row and next_col < end:
                return None  # drawn in another order, the later run would not be on top
        return _Plan(runs, moves, wanted)


def compact_driver(base: type[Any]) -> type[Any]:
    """``base`` (a Textual driver class) with its output passed through an SgrCompactor."""

    class CompactDriver(base):  # type: ignore[valid-type,misc]
        _compactor = SgrCompactor()

        def write(self, data: str) -> None:
            super().write(self._compactor.compact(data))

    CompactDriver.__name__ = CompactDriver.__qualname__ = f"Compact{base.__name__}"
    return CompactDriver
