"""Which TLS certificates the client trusts: the default trust store, or a CA bundle.

A team whose server has a certificate from its own CA names that CA's PEM bundle with
``--ca-bundle PATH``, ``INCIDENTTUI_CA_BUNDLE`` or ``ca_bundle`` in ``config.toml`` (in that
order). The bundle then replaces the default trust store, as curl's ``--cacert`` does. It is
read once at start: a missing, unreadable or invalid file is a usage error with a sentence
that names the file and where it was configured, never a traceback. There is no way to turn
verification off.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incidenttui.settings import Settings

if TYPE_CHECKING:  # ssl loads only for a bundle: without one, the first paint needs none
    import ssl

ENV_CA_BUNDLE = "INCIDENTTUI_CA_BUNDLE"


class TrustError(Exception):
    """The configured CA bundle cannot be used; the message names the file and the origin."""


@dataclass(frozen=True)
class CaBundle:
    """A CA bundle path and where it was configured (``--ca-bundle``, the variable, ...)."""

    path: Path
    origin: str


def configured_bundle(explicit: str | None, settings: Settings | None) -> CaBundle | None:
    """The bundle to use: ``explicit`` (the flag), then the environment, then the config
    file's ``ca_bundle``; None means the default trust store."""
    if explicit:
        return CaBundle(Path(explicit).expanduser(), "--ca-bundle")
    env = os.environ.get(ENV_CA_BUNDLE)
    if env:
        return CaBundle(Path(env).expanduser(), ENV_CA_BUNDLE)
    if settings is not None and settings.ca_bundle is not None:
        return CaBundle(settings.ca_bundle, f"{settings.path or 'config.toml'}: ca_bundle")
    return None


def load_bundle(bundle: CaBundle) -> ssl.SSLContext:
    """A client TLS context (hostname checks and certificate verification on) that trusts
    exactly the CA certificates in ``bundle``."""
    import re
    import ssl

    where = f"{bundle.origin} {bundle.path}"
    path = bundle.path
    if path.is_dir():
        raise TrustError(f"{where}: is a directory; give the PEM file of the CA certificates")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TrustError(f"{where}: no such file") from None
    except OSError as exc:
        raise TrustError(f"{where}: cannot read it ({exc.strerror or exc})") from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise TrustError(f"{where}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    try:
        # Given a CA file, the default context loads its CAs alone, not the system's.
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(path))
    except ssl.SSLError as exc:
        detail = re.sub(r"\s*\(_ssl\.c:\d+\)", "", str(exc.reason or exc))
        raise TrustError(f"{where}: not a valid PEM CA bundle (OpenSSL: {detail})") from None
    if not context.get_ca_certs():
        raise TrustError(f"{where}: holds no CA certificate (only server certificates?)")
    return context


def client_verify(explicit: str | None, settings: Settings | None) -> bool | ssl.SSLContext:
    """What the HTTP client's ``verify=`` gets: True (the default store) or the configured
    bundle's context. Raises :class:`TrustError` for a bundle that cannot be used."""
    bundle = configured_bundle(explicit, settings)
    return True if bundle is None else load_bundle(bundle)


def client_trust(args: Any, settings: Settings | None = None) -> bool | ssl.SSLContext:
    """:func:`client_verify` for a command line: ``args.ca_bundle`` (a verb's flag) or
    ``args.global_ca_bundle`` (the app's), then the environment, then the config file (read
    here unless given). A bundle or config file that cannot be used is a usage error
    (:class:`VerbError`, exit 2), raised before anything starts."""
    from incidenttui.config import VerbError
    from incidenttui.settings import SettingsError, load_settings

    explicit = getattr(args, "ca_bundle", None) or getattr(args, "global_ca_bundle", None)
    if settings is None and not explicit and not os.environ.get(ENV_CA_BUNDLE):
        try:
            settings = load_settings()
        except SettingsError as exc:
            raise VerbError(f"config: {exc}", 2) from None
    try:
        return client_verify(explicit, settings)
    except TrustError as exc:
        raise VerbError(str(exc), 2) from None
