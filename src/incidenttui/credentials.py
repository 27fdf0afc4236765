"""Where the API token lives: the OS keyring, never the config, the store or a log.

``INCIDENTTUI_TOKEN`` overrides everything. Without a secure keyring backend we say so and
list the options instead of silently writing plaintext: keyring itself raises
``NoKeyringError`` with no backend, and with keyrings.alt installed it quietly picks a
plaintext file. A 0600 file is used only when the user asked for it at login
(``--insecure-storage``), as ``gh auth login --insecure-storage`` does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from incidenttui.config import ENV_TOKEN, data_dir

SERVICE = "incidenttui"

NO_SECURE_BACKEND = """\
No secure keyring backend is available on this machine ({backend}), so the token cannot be
stored safely. Options:
  - run inside a desktop/Secret Service session (e.g. gnome-keyring or KeePassXC), or
  - install an encrypted file backend: pip install keyrings.cryptfile, then
    export PYTHON_KEYRING_BACKEND=keyrings.cryptfile.cryptfile.CryptFileKeyring, or
  - keep the token in your own secret manager and export INCIDENTTUI_TOKEN, or
  - accept a plaintext file readable only by you: incidenttui login --insecure-storage"""


class CredentialError(Exception):
    """The token cannot be stored or read; the message says what to do."""


def _insecure_file() -> Path:
    return data_dir() / "credentials.json"


def _backend_problem() -> str | None:
    """Why the active keyring backend is not a safe place for a token (None: it is)."""
    try:
        import keyring
        from keyring.backends import fail
    except Exception as exc:  # keyring broken at import on exotic hosts
        return f"keyring unusable: {type(exc).__name__}"
    backend = keyring.get_keyring()
    backends = getattr(backend, "backends", None) or [backend]
    usable = [b for b in backends if not isinstance(b, fail.Keyring)
              and "plaintext" not in type(b).__name__.lower()
              and type(b).__module__ not in ("keyring.backends.null", "keyrings.alt.file")
              and getattr(b, "priority", 1) > 0]
    if not usable:
        return f"backend: {type(backend).__module__}.{type(backend).__name__}"
    return None


def _read_insecure(server: str) -> str | None:
    path = _insecure_file()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    token = data.get(server) if isinstance(data, dict) else None
    return token if isinstance(token, str) else None


def load_token(server: str) -> str | None:
    """The token for ``server``: ``INCIDENTTUI_TOKEN``, the keyring, or the opt-in file."""
    env = os.environ.get(ENV_TOKEN)
    if env:
        return env.strip()
    if _backend_problem() is None:
        import keyring
        from keyring.errors import KeyringError

        try:
            token = keyring.get_password(SERVICE, server)
        except KeyringError:
            token = None
        if token:
            return token
    return _read_insecure(server)


def save_token(server: str, token: str, *, insecure_storage: bool = False) -> str:
    """Store ``token`` for ``server``; returns where it went (for the user, never the token)."""
    if insecure_storage:
        path = _insecure_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            data = json.loads(path.read_text()) if path.exists() else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        data[server] = token
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
        os.replace(tmp, path)
        os.chmod(path, 0o600)
        return f"plaintext file {path} (mode 0600), as you asked"
    problem = _backend_problem()
    if problem is not None:
        raise CredentialError(NO_SECURE_BACKEND.format(backend=problem))
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(SERVICE, server, token)
    except KeyringError as exc:
        raise CredentialError(f"the keyring refused to store the token: {type(exc).__name__}"
                              ) from None
    return f"the system keyring (service {SERVICE!r})"
