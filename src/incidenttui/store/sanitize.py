"""Make untrusted text inert: the one function every title, note and payload passes through.

Textual's ``Content`` and Rich's ``Text`` pass ESC through, so an OSC 52 sequence in an alert
title would write the responder's clipboard. Control characters are replaced by visible
symbols (ESC becomes ``␛``), C1 controls and bidirectional overrides by ``�``. Newlines and
tabs survive in multi-line text and become spaces in one-line text.
"""

from __future__ import annotations

import re

_C0 = {c: chr(0x2400 + c) for c in range(0x20)}  # control pictures: ␀ … ␟
_C0[0x7F] = "\u2421"  # ␡
_TABLE: dict[int, str] = {**_C0}
_TABLE.update({c: "\ufffd" for c in range(0x80, 0xA0)})  # C1 controls (CSI is 0x9b)
# Bidirectional embeddings, overrides and isolates ("Trojan Source"), and line separators.
_TABLE.update({c: "\ufffd" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))})
_TABLE.update({0x2028: " ", 0x2029: " ", 0xFEFF: ""})

_MULTILINE = dict(_TABLE)
_MULTILINE.update({0x0A: "\n", 0x09: "    ", 0x0D: ""})
_ONELINE = dict(_TABLE)
_ONELINE.update({0x0A: " ", 0x09: " ", 0x0D: " "})
_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_text(value: str | None, *, multiline: bool = True, limit: int = 100_000) -> str:
    """``value`` with every control, escape and bidi override made visible or removed."""
    if not value:
        return ""
    if value.isascii() and value.isprintable() and len(value) <= limit:
        return value  # the common case: nothing to neutralise
    if len(value) > limit:
        value = value[:limit] + "…"
    value = _SURROGATES.sub("\ufffd", value)
    return value.translate(_MULTILINE if multiline else _ONELINE)


def clean_line(value: str | None, limit: int = 2_000) -> str:
    """One-line text (titles, names): newlines become spaces."""
    return clean_text(value, multiline=False, limit=limit)
