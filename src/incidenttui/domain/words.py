"""The words of incident text that say what it is about: one tokenizer for the similar
incidents search (store/similar.py) and the category/service suggestion (domain/suggest.py).
"""

from __future__ import annotations

import re

_STOP_TEXT = """
a an and are as at be been but by for from has have in into is it its more no not of on or
our over since so than that the their them then there these they this to up was we were
what when which while with within without about after all also any can could did does done
get got i if me my new now only out per see some still too very via will would you your
impact impacted customer customers reported detected ticket tickets utc minutes min
"""
#: Words too common in incident text to say anything about it.
STOPWORDS = frozenset(_STOP_TEXT.split())
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def words(text: str) -> list[str]:
    """The meaningful words of ``text`` in order, repeats kept: lower case, at least three
    letters, no numbers, no stopwords."""
    return [w for w in _WORD.findall(text.lower())
            if len(w) >= 3 and not w.isdigit() and w not in STOPWORDS]
