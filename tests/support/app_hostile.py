"""The hostile-string corpus for the app tests: markup, terminal escapes, C1 controls, bidi
overrides, a 10,000-character line, wide CJK and emoji.

Each entry is ``(name, text, shown)``: ``shown`` is what the responder must see instead, or
None when the text must appear verbatim (markup is literal text, never interpreted).
"""

from __future__ import annotations

ESC = "\x1b"

CORPUS: list[tuple[str, str, str | None]] = [
    ("close-tag", "[/]", None),
    ("bold", "[bold]x", None),
    ("click-quit", "[@click=app.quit]y", None),
    ("link-file", "[link=file:///etc/passwd]z", None),
    ("rich-markup", "[red on white]w[/red on white] [b]b[/b]", None),
    ("sgr", f"{ESC}[31mRED", "␛[31mRED"),
    ("clear-screen", f"{ESC}[2JCLR", "␛[2JCLR"),
    ("osc52", f"{ESC}]52;c;aGVsbG8={chr(7)}", "␛]52;c;aGVsbG8=␇"),
    ("osc8", f"{ESC}]8;;https://evil.example/{chr(7)}click{ESC}]8;;{chr(7)}",
     "␛]8;;https://evil.example/␇click␛]8;;␇"),
    ("c1", "C1\x9b31mX\x85Y\x8dZ", "C1\ufffd31mX\ufffdY\ufffdZ"),
    ("bidi", "bidi\u202eevil\u202c \u2066iso\u2069", "bidi\ufffdevil\ufffd \ufffdiso\ufffd"),
    ("cjk", "漢字テスト中文の障害", None),
    ("emoji", "🔥🚒 fire 👩‍🚒 ＦＵＬＬ", None),
]

#: A 10,000-character line without a space to break at.
LONG_LINE = "L" * 9_990 + "END-OF-LONG"

#: Raw characters that must never reach a terminal cell.
RAW_FORBIDDEN = ("\x1b", "\x9b", "\x85", "\x8d", "\u202e", "\u2066", "\u2069", "\u202c",
                 "\x07")

#: Byte sequences that must never reach the terminal from the corpus.
FORBIDDEN_BYTES = (b"\x1b[31mRED", b"\x1b[2JCLR", b"\x1b]52;", b"\x1b]8;;https://evil",
                   "\x9b".encode(), "\x85".encode(), "\u202e".encode(), "\u2066".encode())
