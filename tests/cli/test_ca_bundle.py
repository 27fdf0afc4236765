"""The client's CA bundle option: ``--ca-bundle``, ``INCIDENTTUI_CA_BUNDLE`` and ``ca_bundle``
in config.toml; a bundle that cannot be used is one readable line at start (exit 2); against a
real server behind uvicorn's TLS, an untrusted certificate is refused in words and the bundle
makes sync work."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tls_server import TeamCa, TlsServer, team_ca  # type: ignore[import-not-found]

from incidenttui.cli import main
from incidenttui.settings import SettingsError, load_settings
from incidenttui.tls import ENV_CA_BUNDLE, CaBundle, TrustError, client_verify, load_bundle

URL = "https://incidents.example.test"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> TeamCa:
    return team_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_server(certs: TeamCa, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[TlsServer]:
    server = TlsServer(tmp_path_factory.mktemp("tls-server"), certs).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Config and data in the test's directory; no bundle or server from outside."""
    monkeypatch.setenv("INCIDENTTUI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("INCIDENTTUI_DATA_DIR", str(tmp_path / "data"))
    for name in (ENV_CA_BUNDLE, "INCIDENTTUI_SERVER", "INCIDENTTUI_TOKEN"):
        monkeypatch.setenv(name, "")  # restored afterwards, even where main() sets it
        monkeypatch.delenv(name)
    (tmp_path / "config").mkdir()
    return tmp_path / "config"


def write_config(config_dir: Path, text: str) -> Path:
    path = config_dir / "config.toml"
    path.write_text(text)
    return path


# -- the config file key ------------------------------------------------------------------


def test_config_ca_bundle_is_a_path_relative_to_the_config_file(isolated: Path) -> None:
    path = write_config(isolated, 'ca_bundle = "certs/team-ca.pem"\n')
    assert load_settings(path).ca_bundle == isolated / "certs" / "team-ca.pem"
    write_config(isolated, 'ca_bundle = "~/team-ca.pem"\n')
    assert load_settings(path).ca_bundle == Path("~/team-ca.pem").expanduser()
    write_config(isolated, "theme = \"ansi-dark\"\n")
    assert load_settings(path).ca_bundle is None


@pytest.mark.parametrize("value", ["3", "true", '""', "[\"a.pem\"]"])
def test_config_ca_bundle_must_be_a_path(isolated: Path, value: str) -> None:
    path = write_config(isolated, f"ca_bundle = {value}\n")
    with pytest.raises(SettingsError, match="'ca_bundle' must be the path of a PEM file"):
        load_settings(path)


# -- which bundle, and a bundle that cannot be used -----------------------------------------


def test_the_flag_beats_the_environment_which_beats_the_config_file(
        isolated: Path, certs: TeamCa, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(isolated, 'ca_bundle = "from-config.pem"\n')
    settings = load_settings(isolated / "config.toml")
    with pytest.raises(TrustError, match=r"config\.toml: ca_bundle .*from-config\.pem: no such"):
        client_verify(None, settings)
    monkeypatch.setenv(ENV_CA_BUNDLE, str(isolated / "from-env.pem"))
    with pytest.raises(TrustError, match=rf"^{ENV_CA_BUNDLE} .*from-env\.pem: no such file"):
        client_verify(None, settings)
    context = client_verify(str(certs.ca), settings)
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    # The bundle replaces the default store: only the team CA is trusted.
    assert [dict(c["subject"][0])["commonName"] for c in context.get_ca_certs()] == ["Team CA"]


def test_no_bundle_means_the_default_trust_store(isolated: Path) -> None:
    assert client_verify(None, load_settings(isolated / "config.toml")) is True


def test_without_a_bundle_the_start_loads_no_ssl() -> None:
    """The app resolves its trust before the first paint: without a bundle, that costs no
    ``ssl`` import (httpx loads it after the paint)."""
    code = ("import sys; from incidenttui.tls import client_verify; "
            "assert client_verify(None, None) is True; print('ssl' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={k: v for k, v in os.environ.items()
                                          if k != ENV_CA_BUNDLE}).stdout.strip()
    assert out == "False"


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"),
    ("dir", "is a directory"),
    (b"", "holds no PEM certificate"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "holds no PEM certificate"),
    (b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n",
     "holds no PEM certificate"),
    (b"-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
     "not a valid PEM CA bundle"),
])
def test_a_bundle_that_cannot_be_used_is_said_in_words(tmp_path: Path, content: Any,
                                                       message: str) -> None:
    path = tmp_path / "bundle.pem"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(TrustError) as caught:
        load_bundle(CaBundle(path, "--ca-bundle"))
    assert str(caught.value).startswith(f"--ca-bundle {path}: {message}"), str(caught.value)
    assert "_ssl.c" not in str(caught.value)


def test_a_server_certificate_alone_is_not_a_ca_bundle(certs: TeamCa) -> None:
    with pytest.raises(TrustError, match="holds no CA certificate"):
        load_bundle(CaBundle(certs.cert, "--ca-bundle"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_an_unreadable_bundle_is_said_in_words(tmp_path: Path, certs: TeamCa) -> None:
    path = tmp_path / "ca.pem"
    path.write_bytes(certs.ca.read_bytes())
    path.chmod(0)
    with pytest.raises(TrustError, match=r"cannot read it \(Permission denied\)"):
        load_bundle(CaBundle(path, "--ca-bundle"))


@pytest.mark.parametrize("argv", [
    ["--ca-bundle", "{missing}", "--server", URL],
    ["--server", URL, "sync", "--ca-bundle", "{missing}"],
    ["--ca-bundle", "{missing}", "sync", "--server", URL],
    ["note", "--ca-bundle", "{missing}", "--server", URL, "INC-1", "text"],
    ["login", "--ca-bundle", "{missing}", "--server", URL],
])
def test_the_app_and_the_verbs_stop_at_start_on_a_missing_bundle(
        isolated: Path, tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
        ) -> None:
    missing = tmp_path / "nowhere" / "ca.pem"
    code = main([a.replace("{missing}", str(missing)) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err == f"incidenttui: --ca-bundle {missing}: no such file\n"
    # Nothing was started or changed: no local store was made for the server.
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").rglob("*.db"))


def test_a_bad_ca_bundle_in_the_config_file_stops_the_app_in_words(
        isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_config(isolated, 'ca_bundle = "missing.pem"\n')
    assert main(["--server", URL]) == 2
    assert capsys.readouterr().err == (
        f"incidenttui: {isolated / 'config.toml'}: ca_bundle {isolated / 'missing.pem'}: "
        "no such file\n")


# -- against a real server over TLS ---------------------------------------------------------


def test_an_untrusted_certificate_is_refused_and_the_change_stays_queued(
        tls_server: TlsServer, make_cli: Any) -> None:
    run = make_cli(tls_server.url, tls_server.tokens["responder"])
    result = run("sync")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.startswith(
        f"not synced: TLS certificate of {tls_server.url} is not trusted "
        "(unable to get local issuer certificate)"), result.stdout
    assert "--ca-bundle" in result.stdout
    # Offline-first all the same: a note is kept and queued.
    incident = tls_server.create("TLS untrusted: payment webhook failing")
    synced = run("sync", "--ca-bundle", str(tls_server.certs.ca))
    assert synced.returncode == 0, synced.stdout + synced.stderr
    queued = run("note", f"INC-{incident['number']}", "checked the webhook logs")
    assert queued.returncode == 0, queued.stderr
    assert "queued (offline: TLS certificate of" in queued.stdout, queued.stdout
    sent = run("sync", env={ENV_CA_BUNDLE: str(tls_server.certs.ca)})
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert sent.stdout.strip() == "synced; 0 pending, 0 conflicts"


def test_with_the_team_ca_every_way_of_giving_it_reaches_the_server(
        tls_server: TlsServer, make_cli: Any, tmp_path: Path) -> None:
    incident = tls_server.create("TLS trusted: checkout latency")
    ca = str(tls_server.certs.ca)
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "config.toml").write_text(f'ca_bundle = "{ca}"\n')
    ways: list[tuple[tuple[str, ...], dict[str, str]]] = [
        (("--ca-bundle", ca, "sync"), {}),
        (("sync", "--ca-bundle", ca), {}),
        (("sync",), {ENV_CA_BUNDLE: ca}),
        (("sync",), {"INCIDENTTUI_CONFIG_DIR": str(config)}),
    ]
    for number, (argv, env) in enumerate(ways):
        run = make_cli(tls_server.url, tls_server.tokens["responder"], name=f"d{number}")
        result = run(*argv, env=env)
        assert result.returncode == 0, (argv, result.stdout, result.stderr)
        shown = run("show", f"INC-{incident['number']}")
        assert "TLS trusted: checkout latency" in shown.stdout, (argv, shown.stderr)


def test_login_checks_the_token_over_tls_with_the_bundle(tls_server: TlsServer,
                                                         make_cli: Any) -> None:
    run = make_cli(tls_server.url, None)
    untrusted = run("login", "--insecure-storage", stdin=tls_server.tokens["responder"] + "\n")
    assert untrusted.returncode == 0, untrusted.stderr
    assert "(not checked: TLS certificate of" in untrusted.stdout, untrusted.stdout
    trusted = run("login", "--insecure-storage", "--ca-bundle", str(tls_server.certs.ca),
                  stdin=tls_server.tokens["responder"] + "\n")
    assert trusted.returncode == 0, trusted.stderr
    assert f"logged in to {tls_server.url} as rita;" in trusted.stdout, trusted.stdout
