"""The user's config file: theme, mouse, the CA bundle to trust, and key remapping by
binding id.

Example ``config.toml``::

    theme = "ansi-dark"
    mouse = false
    ca_bundle = "~/.config/incidenttui/team-ca.pem"   # relative paths: beside this file

    [keys]
    "incident.acknowledge" = "A"
    "queue.filter" = "slash,f"
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ENV_CONFIG_DIR = "INCIDENTTUI_CONFIG_DIR"


class SettingsError(Exception):
    """The config file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Settings:
    theme: str | None = None
    mouse: bool = False
    keys: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    #: The PEM file of the CAs that sign the server's certificate (None: the default store).
    ca_bundle: Path | None = None


def config_path() -> Path:
    configured = os.environ.get(ENV_CONFIG_DIR)
    if configured:
        return Path(configured).expanduser() / "config.toml"
    from platformdirs import user_config_path

    return user_config_path("incidenttui", appauthor=False) / "config.toml"


def load_settings(path: Path | None = None) -> Settings:
    """Read the config file (a missing file means defaults)."""
    path = path or config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Settings(path=path)
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror}") from None
    import tomllib  # only when there is a file to read (start-up)

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path} is not valid TOML: {exc}") from None
    theme = data.get("theme")
    if theme is not None and not isinstance(theme, str):
        raise SettingsError(f"{path}: 'theme' must be a string")
    mouse = data.get("mouse", False)
    if not isinstance(mouse, bool):
        raise SettingsError(f"{path}: 'mouse' must be true or false")
    keys = data.get("keys", {})
    if not isinstance(keys, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                             for k, v in keys.items()):
        raise SettingsError(f"{path}: [keys] maps binding ids to key names (strings)")
    ca_bundle = data.get("ca_bundle")
    if ca_bundle is not None and not (isinstance(ca_bundle, str) and ca_bundle.strip()):
        raise SettingsError(f"{path}: 'ca_bundle' must be the path of a PEM file (a string)")
    bundle = None
    if ca_bundle is not None:
        bundle = Path(ca_bundle.strip()).expanduser()
        if not bundle.is_absolute():
            bundle = path.parent / bundle
    return Settings(theme=theme, mouse=mouse, keys=dict(keys), path=path, ca_bundle=bundle)
