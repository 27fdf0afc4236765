"""The change feed's cursor as the client sees it: an opaque, authenticated token.

The feed's own position is the global ``changes.seq``. Handing it out as it is leaks what a
caller may not see: the difference between two cursors (or between two rows' seqs) counts the
changes written in between, restricted ones included, and a long-poll answered with a moved
cursor says that something happened. So the position leaves the server only encrypted and
authenticated, with a fresh random nonce each time: two tokens for the same position differ,
and no token says anything about another.

The construction uses only the standard library (HMAC-SHA256 as the pseudo-random function),
encrypt-then-MAC::

    token = "c1." + base64url(nonce[12] || seq XOR HMAC(k_enc, nonce)[:8] || tag[16])
    tag   = HMAC(k_mac, "c1" || nonce || ciphertext)[:16]

``k_enc`` and ``k_mac`` are derived from one secret kept in the database
(``server_secrets``, created by migration 0009), so every replica reads and writes the same
tokens and a token survives restarts. A forged or altered token fails the tag check.

Integer cursors (``?cursor=1234``) are what clients stored before this change. They are
accepted up to the *legacy horizon* — the feed's head when the database was upgraded, kept
next to the secret — since an older server could only have handed out those. A caller who
probes integers learns only where the rows written before the upgrade sat, which the old
server told every caller anyway; everything after the horizon is reached only through tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import weakref
from typing import TYPE_CHECKING

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from incidenttui.server.models import ServerSecret

if TYPE_CHECKING:
    from incidenttui.server.db import Database

#: The names of the two ``server_secrets`` rows the feed uses.
KEY_NAME = "feed_cursor_key"
HORIZON_NAME = "feed_legacy_horizon"

_PREFIX = "c1."
_VERSION = b"c1"
_NONCE = 12
_SEQ = 8
_TAG = 16
#: The token's length is fixed (its position never shows through a length).
TOKEN_LENGTH = len(_PREFIX) + len(base64.urlsafe_b64encode(b"\0" * (_NONCE + _SEQ + _TAG))
                                  .rstrip(b"="))
#: The largest integer cursor older servers took.
LEGACY_MAX = 2**62
_LEGACY = re.compile(r"[0-9]{1,19}\Z")
_TOKEN = re.compile(re.escape(_PREFIX) + r"[A-Za-z0-9_-]+\Z")


class BadCursor(ValueError):
    """The cursor is neither a token this server made nor an integer from before them."""


class UnknownCursor(ValueError):
    """A well-formed cursor that lies beyond what this feed holds (its database was replaced
    or restored from an older backup): the client must start again."""


class CursorCodec:
    """Turns feed positions into tokens and back with one server secret."""

    def __init__(self, secret: bytes, horizon: int) -> None:
        #: Integer cursors up to this are accepted (the feed's head when tokens came in).
        self.horizon = horizon
        self._enc = self._key(secret, b"encrypt")
        self._mac = self._key(secret, b"authenticate")

    @staticmethod
    def _key(secret: bytes, purpose: bytes) -> bytes:
        return hmac.new(secret, b"incidenttui feed cursor " + purpose, hashlib.sha256).digest()

    def _pad(self, nonce: bytes) -> bytes:
        return hmac.new(self._enc, nonce, hashlib.sha256).digest()[:_SEQ]

    def _tag(self, nonce: bytes, sealed: bytes) -> bytes:
        return hmac.new(self._mac, _VERSION + nonce + sealed, hashlib.sha256).digest()[:_TAG]

    def encode(self, seq: int) -> str:
        """A fresh token for feed position ``seq`` (a new nonce every call)."""
        nonce = os.urandom(_NONCE)
        plain = seq.to_bytes(_SEQ, "big")
        sealed = bytes(a ^ b for a, b in zip(plain, self._pad(nonce), strict=True))
        raw = nonce + sealed + self._tag(nonce, sealed)
        return _PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def decode(self, cursor: str) -> int:
        """The feed position of ``cursor``: a token of this server, or an integer up to the
        legacy horizon. Raises :class:`BadCursor` or :class:`UnknownCursor`."""
        if _LEGACY.match(cursor):
            seq = int(cursor)
            if seq > LEGACY_MAX:
                raise BadCursor(cursor)
            if seq > self.horizon:
                raise UnknownCursor(cursor)
            return seq
        if len(cursor) != TOKEN_LENGTH or not _TOKEN.match(cursor):
            raise BadCursor(cursor)
        body = cursor[len(_PREFIX):]
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        nonce, sealed, tag = raw[:_NONCE], raw[_NONCE:_NONCE + _SEQ], raw[_NONCE + _SEQ:]
        if not hmac.compare_digest(tag, self._tag(nonce, sealed)):
            raise BadCursor(cursor)
        plain = bytes(a ^ b for a, b in zip(sealed, self._pad(nonce), strict=True))
        return int.from_bytes(plain, "big")


_TABLE = ServerSecret.__table__  # type: ignore[attr-defined]
#: One codec per open database (the secret is read once).
_CODECS: weakref.WeakKeyDictionary[Database, CursorCodec] = weakref.WeakKeyDictionary()


def load_codec(db: Database) -> CursorCodec:
    """The database's cursor codec, read once per :class:`Database` (the secret never
    changes). A database without the rows (made by hand, or rows deleted) gets a new secret
    and a horizon of 0; two replicas racing to make it agree on the row that was written
    first."""
    codec = _CODECS.get(db)
    if codec is not None:
        return codec
    values = _read(db)
    if KEY_NAME not in values or HORIZON_NAME not in values:
        for name, value in ((KEY_NAME, os.urandom(32).hex()), (HORIZON_NAME, "0")):
            if name not in values:
                try:
                    with db.write() as session:
                        session.execute(insert(_TABLE).values(name=name, value=value))
                except IntegrityError:
                    pass  # another replica wrote it first: theirs is read below
        values = _read(db)
    codec = CursorCodec(bytes.fromhex(values[KEY_NAME]), int(values[HORIZON_NAME]))
    _CODECS[db] = codec
    return codec


def _read(db: Database) -> dict[str, str]:
    with db.read() as session:
        rows = session.execute(select(_TABLE.c.name, _TABLE.c.value).where(
            _TABLE.c.name.in_([KEY_NAME, HORIZON_NAME]))).all()
    return {name: value for name, value in rows}
