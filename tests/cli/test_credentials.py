"""Where the token lives: a secure keyring, or nowhere without the user's say-so.

With no backend (keyring's fail backend) and with keyrings.alt's silent PlaintextKeyring,
``login`` refuses and lists the options; ``--insecure-storage`` writes a 0600 file;
``INCIDENTTUI_TOKEN`` overrides. The token never lands in the store, the data directory
(except the opt-in file) or any output."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from incidenttui.credentials import SERVICE, CredentialError, load_token, save_token

SERVER = "https://incidents.example.org"
OPTIONS = ("Secret Service", "keyrings.cryptfile", "INCIDENTTUI_TOKEN", "--insecure-storage")


class MemoryKeyring(KeyringBackend):
    """A real backend class that keeps secrets in memory (a stand-in for Secret Service)."""

    priority = 5  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("INCIDENTTUI_DATA_DIR", str(path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("INCIDENTTUI_TOKEN", raising=False)
    return path


@pytest.fixture
def use_backend() -> Iterator:
    previous = keyring.get_keyring()

    def use(backend: KeyringBackend) -> KeyringBackend:
        keyring.set_keyring(backend)
        return backend

    yield use
    keyring.set_keyring(previous)


def plaintext_keyring() -> KeyringBackend:
    file_module = pytest.importorskip(
        "keyrings.alt.file", reason="keyrings.alt is not installed (pip install keyrings.alt)")
    return file_module.PlaintextKeyring()


# -- in process -------------------------------------------------------------------------------


def test_a_secure_backend_stores_the_token_per_server(data_dir, use_backend, monkeypatch):
    backend = use_backend(MemoryKeyring())
    where = save_token(SERVER, "tok-A-123456")
    save_token("https://other.example.org", "tok-B-654321")
    assert "keyring" in where and "tok-A" not in where
    assert backend.secrets == {(SERVICE, SERVER): "tok-A-123456",
                               (SERVICE, "https://other.example.org"): "tok-B-654321"}
    assert load_token(SERVER) == "tok-A-123456"
    assert load_token("https://nowhere.example.org") is None
    monkeypatch.setenv("INCIDENTTUI_TOKEN", "  tok-from-env  ")
    assert load_token(SERVER) == "tok-from-env"
    assert not data_dir.exists() or not any(data_dir.rglob("*"))  # no file written


def test_no_backend_is_refused_with_the_options(data_dir, use_backend):
    use_backend(fail.Keyring())
    with pytest.raises(CredentialError) as refused:
        save_token(SERVER, "tok-secret-777")
    message = str(refused.value)
    for option in OPTIONS:
        assert option in message, option
    assert "fail" in message and "tok-secret-777" not in message
    assert not data_dir.exists() or not any(data_dir.rglob("*"))
    assert load_token(SERVER) is None


def test_the_plaintext_keyring_is_refused_too(data_dir, use_backend):
    backend = use_backend(plaintext_keyring())
    with pytest.raises(CredentialError) as refused:
        save_token(SERVER, "tok-secret-888")
    assert all(option in str(refused.value) for option in OPTIONS)
    assert "PlaintextKeyring" in str(refused.value)
    assert not Path(backend.file_path).exists()
    # A token someone put in the plaintext file by hand is not read either.
    backend.set_password(SERVICE, SERVER, "planted")
    assert load_token(SERVER) is None


def test_insecure_storage_is_an_explicit_0600_file(data_dir, use_backend, monkeypatch):
    use_backend(fail.Keyring())
    old = os.umask(0o000)  # even with a permissive umask
    try:
        where = save_token(SERVER, "tok-file-1", insecure_storage=True)
        save_token("https://other.example.org", "tok-file-2", insecure_storage=True)
    finally:
        os.umask(old)
    path = data_dir / "credentials.json"
    assert str(path) in where and "0600" in where and "tok-file" not in where
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_token(SERVER) == "tok-file-1"
    assert load_token("https://other.example.org") == "tok-file-2"
    monkeypatch.setenv("INCIDENTTUI_TOKEN", "tok-env")
    assert load_token(SERVER) == "tok-env"
    assert [p.name for p in data_dir.iterdir()] == ["credentials.json"]


# -- the login verb and the other verbs -------------------------------------------------------


def scan_for(token: str, root: Path, *outputs: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """Files under ``root`` (other than ``allowed`` names) and outputs that hold ``token``."""
    found = [str(p) for p in root.rglob("*") if p.is_file() and p.name not in allowed
             and token.encode() in p.read_bytes()]
    found += [f"output {n}" for n, text in enumerate(outputs) if token in text]
    return found


def test_login_without_a_secure_backend_refuses(cli_server, make_cli, failure):
    token = cli_server.tokens["responder"]
    cli = make_cli(cli_server.base_url, None)
    result = cli("login", stdin=token + "\n")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    for option in OPTIONS:
        assert option in result.stderr, option
    assert scan_for(token, cli.data_dir, result.stdout, result.stderr) == []
    assert not (cli.data_dir / "credentials.json").exists()


def test_login_with_the_plaintext_keyring_refuses(cli_server, make_cli, tmp_path):
    plaintext_keyring()  # skips when keyrings.alt is missing
    token = cli_server.tokens["responder"]
    cli = make_cli(cli_server.base_url, None)
    result = cli("login", stdin=token + "\n",
                 env={"PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "PlaintextKeyring" in result.stderr
    for option in OPTIONS:
        assert option in result.stderr, option
    assert scan_for(token, tmp_path, result.stdout, result.stderr) == []


def test_insecure_storage_then_env_override_and_no_token_anywhere(cli_server, make_cli):
    token = cli_server.tokens["responder"]
    cli = make_cli(cli_server.base_url, None)
    outputs = []
    login = cli("login", "--insecure-storage", stdin=token + "\n")
    outputs += [login.stdout, login.stderr]
    assert login.returncode == 0, login.stderr
    assert "as rita" in login.stdout and "0600" in login.stdout
    path = cli.data_dir / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert token.encode() in path.read_bytes()
    # The verbs use the stored token (no INCIDENTTUI_TOKEN set) ...
    synced = cli("sync", "--json")
    outputs += [synced.stdout, synced.stderr]
    assert synced.returncode == 0 and '"ok": true' in synced.stdout, synced.stdout
    # ... and INCIDENTTUI_TOKEN overrides it: a revoked one is refused, and not echoed.
    bad = "revoked-token-aaaa-bbbb"
    overridden = cli("sync", "--json", env={"INCIDENTTUI_TOKEN": bad})
    outputs += [overridden.stdout, overridden.stderr]
    assert '"ok": false' in overridden.stdout and "401" in overridden.stdout
    assert bad not in overridden.stdout + overridden.stderr
    # A wrong token at login is refused and nothing is stored.
    wrong = cli("login", "--insecure-storage", stdin=bad + "\n")
    outputs += [wrong.stdout, wrong.stderr]
    assert wrong.returncode == 1 and "nothing was stored" in wrong.stderr
    assert bad.encode() not in path.read_bytes()
    # The token is in the opt-in file only: not the store (nor its WAL), not current-server,
    # not any output.
    assert scan_for(token, cli.data_dir, *outputs, allowed=("credentials.json",)) == []
    assert any(cli.data_dir.glob("stores/*.db"))
    assert (cli.data_dir / "current-server").read_text().strip() == cli_server.base_url
