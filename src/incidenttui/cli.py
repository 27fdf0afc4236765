"""The ``incidenttui`` command line: the app, the server, the demo, admin and scripting verbs.

Heavy imports (FastAPI, SQLModel, Textual) happen inside the command that needs them, so
``--help`` and the app's first paint stay fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from incidenttui import __version__
from incidenttui.config import ENV_SERVER, default_server_db
from incidenttui.domain.enums import Role

EXIT_USAGE = 2


class CliError(Exception):
    """An error to print as one readable line, exiting with ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _server_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("server", help="run the HTTP API server",
                       description="Run the incidenttui server (HTTP API under /api/v1).")
    p.add_argument("--db", default=None,
                   help="database URL: sqlite:///path (default: server.db in the data "
                        "directory) or postgresql+psycopg://user:pass@host/db")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: %(default)s)")
    p.add_argument("--port", type=int, default=8470, help="port (default: %(default)s)")
    p.add_argument("--seed", choices=["demo"], help="seed the database with the demo data set "
                                                    "(only if it holds no incidents yet)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    p.set_defaults(func=cmd_server)


def _demo_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run a seeded demo server and the app on it",
                       description="Start the server in-process on a free loopback port with a "
                                   "temporary, seeded e-commerce database and a demo user.")
    p.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    p.add_argument("--serve-only", action="store_true",
                   help="only serve: print the URL and token and wait for Ctrl-C")
    p.add_argument("--as", dest="as_user", default=None, metavar="USER",
                   help="be a seeded user instead of the demo responder, e.g. noah.fischer "
                        "(security: sees the restricted security incidents)")
    p.set_defaults(func=cmd_demo)


def _admin_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("admin", help="administer a server database",
                       description="Administer the server's database directly.")
    admin = p.add_subparsers(dest="admin_command", metavar="COMMAND", required=True)
    u = admin.add_parser("create-user", help="create a user and print a new token once",
                         description="Create a user (or re-issue an existing user's token) and "
                                     "print the bearer token once; only its hash is stored.")
    u.add_argument("name")
    u.add_argument("--role", required=True, choices=[r.value for r in Role])
    u.add_argument("--team", default=None)
    u.add_argument("--display-name", default=None)
    u.add_argument("--db", default=None, help="database URL (default: the server's default)")
    u.set_defaults(func=cmd_create_user)
    t = admin.add_parser("create-team", help="create or update a team")
    t.add_argument("team_id")
    t.add_argument("--name", required=True)
    t.add_argument("--level", type=int, default=1, choices=[1, 2, 3],
                   help="functional escalation level (1 service desk, 2 experts, 3 vendor)")
    t.add_argument("--db", default=None)
    t.set_defaults(func=cmd_create_team)
    s = admin.add_parser("create-service", help="create or update a service")
    s.add_argument("service_id")
    s.add_argument("--name", required=True)
    s.add_argument("--team", default=None, help="the owning team")
    s.add_argument("--public", action=argparse.BooleanOptionalAction, default=None,
                   help="show it on the public status page (--no-public: hide it)")
    s.add_argument("--db", default=None)
    s.set_defaults(func=cmd_create_service)
    ap = admin.add_parser("apply", help="declare teams, users, services, schedules and "
                          "policies from a TOML or YAML file",
                          description="Make the server's organisation match FILE: create and "
                                      "update what it declares, deactivate people it leaves "
                                      "out, remove teams, services, schedules and policies it "
                                      "leaves out (kept, with the reason, while incidents "
                                      "name them). Applying the same file again changes "
                                      "nothing. Tokens are never in the file.")
    ap.add_argument("file", type=Path)
    ap.add_argument("--dry-run", action="store_true", help="report the changes, make none")
    ap.add_argument("--db", default=None)
    ap.set_defaults(func=cmd_apply)
    ex = admin.add_parser("export", help="write the organisation as TOML or YAML",
                          description="Write the server's organisation in the format "
                                      "`admin apply` reads (to FILE, or standard output).")
    ex.add_argument("file", type=Path, nargs="?", default=None)
    ex.add_argument("--format", choices=["toml", "yaml"], default=None,
                    help="default: from FILE's name, else TOML")
    ex.add_argument("--db", default=None)
    ex.set_defaults(func=cmd_export)
    i = admin.add_parser("create-integration",
                         help="create an alert integration and print its key once",
                         description="Create an alert integration for a service and print its "
                                     "key once; only its hash is stored. Alertmanager sends the "
                                     "key as bearer credentials to /api/v1/integrations/"
                                     "alertmanager; Events API v2 senders put it in "
                                     "routing_key and post to /api/v1/events.")
    i.add_argument("--service", required=True, help="the service its incidents are for")
    i.add_argument("--kind", required=True, choices=["alertmanager", "events"])
    i.add_argument("--name", default=None, help="a name to tell integrations apart")
    i.add_argument("--category", default="availability",
                   help="category of its incidents unless an alert's label says (default: "
                        "%(default)s)")
    i.add_argument("--no-auto-resolve", dest="auto_resolve", action="store_false",
                   help="when every alert has recovered, leave resolving to a responder")
    i.add_argument("--severity", action="append", default=[],
                   metavar="SEVERITY=IMPACT/URGENCY",
                   help="override the severity mapping, e.g. warning=2/1 (repeatable; defaults "
                        "critical=1/1 error=2/1 warning=2/2 info=3/3)")
    i.add_argument("--db", default=None)
    i.set_defaults(func=cmd_create_integration)
    r = admin.add_parser("revoke-integration", help="revoke an alert integration's key")
    r.add_argument("integration_id")
    r.add_argument("--db", default=None)
    r.set_defaults(func=cmd_revoke_integration)
    li = admin.add_parser("list-integrations", help="list alert integrations (never their keys)")
    li.add_argument("--db", default=None)
    li.set_defaults(func=cmd_list_integrations)
    tk = admin.add_parser("tokens", help="list, create and revoke named API tokens",
                          description="Named bearer tokens: several per user, each with an "
                                      "optional expiry; a revoked or expired token fails at "
                                      "once on every server replica.")
    tokens = tk.add_subparsers(dest="tokens_command", metavar="COMMAND", required=True)
    tl = tokens.add_parser("list", help="list tokens (never their secrets)")
    tl.add_argument("--user", default=None, help="only this user's")
    tl.add_argument("--db", default=None)
    tl.set_defaults(func=cmd_tokens_list)
    tc = tokens.add_parser("create", help="create a token and print its secret once")
    tc.add_argument("user")
    tc.add_argument("--name", required=True, help="what it is for, e.g. laptop, ci")
    tc.add_argument("--expires", default=None, metavar="DURATION",
                    help="expire after e.g. 90m, 12h, 30d or 2w (default: never)")
    tc.add_argument("--db", default=None)
    tc.set_defaults(func=cmd_tokens_create)
    tr = tokens.add_parser("revoke", help="revoke a token at once")
    tr.add_argument("token_id")
    tr.add_argument("--db", default=None)
    tr.set_defaults(func=cmd_tokens_revoke)
    a = admin.add_parser("audit", help="verify or export the audit log",
                         description="The audit log: every change on the server, hash-chained.")
    audit = a.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    v = audit.add_parser("verify", help="check the chain; exit 1 naming the first bad entry",
                         description="Check every entry's hash, the links between them and the "
                                     "recorded head. Exit 0 when intact; otherwise print the "
                                     "first entry that breaks and exit 1.")
    v.add_argument("--anchor", default=None, metavar="SEQ:HASH",
                   help="a head kept outside the database (from an earlier verify): a log "
                        "rewritten up to it fails too")
    v.add_argument("--file", default=None,
                   help="verify an export (JSON lines) instead of the database")
    v.add_argument("--db", default=None)
    v.set_defaults(func=cmd_audit_verify)
    e = audit.add_parser("export", help="write the audit log as JSON lines",
                         description="Write every entry, oldest first, one JSON object a line.")
    e.add_argument("file", nargs="?", default=None, help="where to write (default: stdout)")
    e.add_argument("--db", default=None)
    e.set_defaults(func=cmd_audit_export)


def build_parser(*, commands: bool = True) -> argparse.ArgumentParser:
    """The whole command line; without ``commands``, only the app's own options (no help):
    enough to start the app without building every verb's parser first."""
    parser = argparse.ArgumentParser(
        prog="incidenttui", add_help=commands,
        description="A terminal incident console for IT operations teams.",
        epilog=f"Environment: {ENV_SERVER}, INCIDENTTUI_TOKEN, INCIDENTTUI_DATA_DIR, "
               "INCIDENTTUI_CA_BUNDLE, NO_COLOR.")
    parser.add_argument("--version", action="version", version=f"incidenttui {__version__}")
    parser.add_argument("--server", default=None, metavar="URL", dest="global_server",
                        help=f"the server to use (default: ${ENV_SERVER} or the last login)")
    parser.add_argument("--offline", action="store_true",
                        help="open the app on the local cache without syncing")
    parser.add_argument("--ca-bundle", default=None, metavar="PATH", dest="global_ca_bundle",
                        help="trust the server certificates signed by the CAs in this PEM file "
                             "instead of the default trust store (default: "
                             "$INCIDENTTUI_CA_BUNDLE or ca_bundle in config.toml)")
    mouse = parser.add_mutually_exclusive_group()
    mouse.add_argument("--mouse", action="store_true", default=None,
                       help="enable mouse support (off by default: over SSH it sends input on "
                            "every movement)")
    mouse.add_argument("--no-mouse", action="store_false", dest="mouse",
                       help="disable mouse support (the default)")
    parser.add_argument("--theme", default=None,
                        help="colour theme, e.g. ansi-dark (16 colours), textual-dark")
    if not commands:
        return parser
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _server_parser(sub)
    _demo_parser(sub)
    _admin_parser(sub)
    from incidenttui.scripting import add_verbs

    add_verbs(sub)
    return parser


def _open_db(url: str | None):  # type: ignore[no-untyped-def]
    from incidenttui.server.db import Database, DatabaseURLError

    try:
        db = Database(url or default_server_db())
        db.migrate()
    except DatabaseURLError as exc:
        raise CliError(f"--db: {exc}", EXIT_USAGE) from None
    except Exception as exc:  # connection refused, bad credentials, unwritable file
        raise CliError(f"cannot open the database: {_first_line(exc)}") from None
    return db


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def cmd_server(args: argparse.Namespace) -> int:
    from incidenttui.server.app import create_app
    from incidenttui.server.serve import serve

    db = _open_db(args.db)
    if args.seed == "demo":
        from incidenttui.demo.seed import seed_demo

        if seed_demo(db):
            print("seeded the demo data set", file=sys.stderr)
        else:
            print("the database already holds incidents; not seeding", file=sys.stderr)
    app = create_app(db, migrate=False)
    print(f"incidenttui server {__version__} on http://{args.host}:{args.port} "
          f"({db.dialect})", file=sys.stderr)
    if args.workers > 1:
        # Several processes on one port: uvicorn imports the app in each worker.
        import uvicorn

        os.environ["INCIDENTTUI_SERVER_DB"] = db.url
        uvicorn.run("incidenttui.server.app:app_from_env", factory=True, host=args.host,
                    port=args.port, workers=args.workers, log_level="warning")
    else:
        serve(app, args.host, args.port, log_level="warning")
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    """The Textual app on the configured server (or its cache with --offline)."""
    from dataclasses import replace

    from incidenttui.config import VerbError, server_url
    from incidenttui.settings import SettingsError, load_settings
    from incidenttui.store.reader import store_path_for

    try:
        settings = load_settings()
    except SettingsError as exc:
        raise CliError(f"config: {exc}", EXIT_USAGE) from None
    if args.theme:
        settings = replace(settings, theme=args.theme)
    try:
        url: str | None = server_url(None)
    except VerbError as exc:
        if exc.code == EXIT_USAGE and "must start with" in str(exc):
            raise CliError(str(exc), EXIT_USAGE) from None
        url = None
    if url is None and args.offline:
        raise CliError("--offline needs a server profile to read the cache of: pass --server "
                       "URL (or set INCIDENTTUI_SERVER)", EXIT_USAGE)
    # --offline never talks to a server: a bundle gone missing must not lock out the cache.
    verify: Any = True
    if not args.offline:
        from incidenttui.tls import client_trust

        verify = client_trust(args, settings)
    token = None
    if url and not args.offline:
        from incidenttui.credentials import load_token

        token = load_token(url)
    store_path = store_path_for(url) if url else store_path_for("unconfigured")
    mouse = settings.mouse if args.mouse is None else args.mouse
    return run_app(url, token, store_path, offline=args.offline, settings=settings,
                   mouse=mouse, verify=verify)


def run_app(url: str | None, token: str | None, store_path: Any, *, offline: bool = False,
            settings: Any = None, mouse: bool = False, verify: Any = True) -> int:
    from incidenttui.settings import Settings
    from incidenttui.tui import AppConfig, make_app

    app = make_app(AppConfig(server_url=url, token=token, store_path=store_path,
                             offline=offline, settings=settings or Settings(),
                             verify=verify))
    app.run(mouse=mouse)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from incidenttui.demo.run import run_demo

    return run_demo(port=args.port, serve_only=args.serve_only, as_user=args.as_user)


def cmd_create_user(args: argparse.Namespace) -> int:
    from incidenttui.server.admin import AdminError, create_user_with_token

    db = _open_db(args.db)
    with db.write() as session:
        try:
            user, token = create_user_with_token(session, args.name, args.role, args.team,
                                                 args.display_name)
        except AdminError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
    print(f"created {user.id} ({user.role}); token (shown once, store it now):",
          file=sys.stderr)
    print(token)
    return 0


def cmd_create_team(args: argparse.Namespace) -> int:
    from incidenttui.server.admin import AdminError, save_team

    db = _open_db(args.db)
    with db.write() as session:
        try:
            save_team(session, args.team_id, args.name, args.level)
        except AdminError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
    print(f"team {args.team_id} saved")
    return 0


def cmd_create_service(args: argparse.Namespace) -> int:
    from incidenttui.server.admin import AdminError, save_service

    db = _open_db(args.db)
    with db.write() as session:
        try:
            save_service(session, args.service_id, args.name, args.team, public=args.public)
        except AdminError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
    print(f"service {args.service_id} saved")
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from incidenttui.server.organisation import OrganisationError, apply, read_file

    try:
        desired = read_file(args.file)
    except OrganisationError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    db = _open_db(args.db)
    try:
        with db.write() as session:
            outcome = apply(session, desired, dry_run=args.dry_run)
            if args.dry_run:
                session.rollback()
    except OrganisationError as exc:
        raise CliError(f"{args.file}: {exc}", EXIT_USAGE) from None
    if args.dry_run and outcome.steps:
        print("dry run, nothing changed; applying it would:")
    print(outcome.report())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from incidenttui.server.organisation import export_text

    fmt = args.format
    if fmt is None:
        suffix = args.file.suffix.lower() if args.file else ""
        fmt = "yaml" if suffix in (".yaml", ".yml") else "toml"
    db = _open_db(args.db)
    with db.read() as session:
        text = export_text(session, fmt)
    if args.file is None:
        sys.stdout.write(text)
        return 0
    try:
        args.file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"{args.file}: cannot write it ({exc.strerror or exc})", EXIT_USAGE) \
            from None
    print(f"wrote the organisation to {args.file}", file=sys.stderr)
    return 0


def _severity_map(values: list[str]) -> dict[str, dict[str, int]]:
    mapping: dict[str, dict[str, int]] = {}
    for value in values:
        severity, _, target = value.partition("=")
        impact, _, urgency = target.partition("/")
        if not (impact.isdigit() and urgency.isdigit()):
            raise CliError(f"--severity {value!r}: use SEVERITY=IMPACT/URGENCY, e.g. "
                           "warning=2/1", EXIT_USAGE)
        mapping[severity.strip().lower()] = {"impact": int(impact), "urgency": int(urgency)}
    return mapping


def cmd_create_integration(args: argparse.Namespace) -> int:
    from incidenttui.domain import Refused
    from incidenttui.server import audit
    from incidenttui.server.admin import cli_origin
    from incidenttui.server.alerts.integrations import create_integration

    mapping = _severity_map(args.severity)
    db = _open_db(args.db)
    with db.write() as session:
        try:
            integration, key = create_integration(
                session, service_id=args.service, kind=args.kind, name=args.name,
                auto_resolve=args.auto_resolve, category=args.category, severity_map=mapping,
                created_by="cli")
        except Refused as exc:
            option = {"severity_map": "severity"}.get(exc.field or "", exc.field or "service")
            raise CliError(f"--{option}: {exc.reason}", EXIT_USAGE) from None
        audit.append(session, cli_origin(), "integration.create", "integration",
                     integration.id, {"service": integration.service, "kind": integration.kind})
    if integration.kind == "alertmanager":
        where = ("Alertmanager: webhook_configs url http://SERVER/api/v1/integrations/"
                 "alertmanager, http_config.authorization.credentials = the key")
    else:
        where = "Events API v2: POST http://SERVER/api/v1/events with routing_key = the key"
    print(f"created integration {integration.id} ({integration.kind}, service "
          f"{integration.service})\n{where}\nkey (shown once, store it now):", file=sys.stderr)
    print(key)
    return 0


def cmd_revoke_integration(args: argparse.Namespace) -> int:
    from incidenttui.server import audit
    from incidenttui.server.admin import cli_origin
    from incidenttui.server.alerts.integrations import revoke_integration
    from incidenttui.server.service import NotFound

    db = _open_db(args.db)
    with db.write() as session:
        try:
            integration = revoke_integration(session, args.integration_id)
        except NotFound as exc:
            raise CliError(str(exc)) from None
        audit.append(session, cli_origin(), "integration.revoke", "integration",
                     integration.id)
    print(f"integration {integration.id} revoked")
    return 0


def cmd_list_integrations(args: argparse.Namespace) -> int:
    from incidenttui.server.alerts.integrations import list_integrations

    db = _open_db(args.db)
    with db.read() as session:
        for i in list_integrations(session):
            state = f"revoked {i.revoked_at:%Y-%m-%d}" if i.revoked_at else "active"
            rule = "auto-resolve" if i.auto_resolve else "manual resolve"
            print(f"{i.id}  {i.kind:<12} {i.service:<16} {state:<18} {rule:<14} {i.name}")
    return 0


def cmd_tokens_list(args: argparse.Namespace) -> int:
    from incidenttui.server.tokens import list_tokens
    from incidenttui.sqltypes import utcnow

    now = utcnow()
    with _open_db(args.db).read() as session:
        for t in list_tokens(session, args.user):
            expires = f"expires {t.expires_at:%Y-%m-%d %H:%M}" if t.expires_at else "no expiry"
            used = f"used {t.last_used_at:%Y-%m-%d}" if t.last_used_at else ""
            print(f"{t.id}  {t.user_id:<16} {t.state(now):<8} {expires:<24} {used:<15} "
                  f"{t.name}".rstrip())
    return 0


def cmd_tokens_create(args: argparse.Namespace) -> int:
    from incidenttui.server.admin import AdminError, issue_token, parse_duration

    try:
        expires_in = parse_duration(args.expires) if args.expires else None
    except AdminError as exc:
        raise CliError(f"--expires: {exc}", EXIT_USAGE) from None
    with _open_db(args.db).write() as session:
        try:
            token, secret = issue_token(session, args.user, args.name, expires_in)
        except AdminError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
    until = f", expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else ""
    print(f"created token {token.id} ({token.name!r} for {token.user_id}{until}); secret "
          "(shown once, store it now):", file=sys.stderr)
    print(secret)
    return 0


def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    from incidenttui.server.admin import revoke
    from incidenttui.server.tokens import TokenNotFound

    with _open_db(args.db).write() as session:
        try:
            token = revoke(session, args.token_id)
        except TokenNotFound as exc:
            raise CliError(str(exc)) from None
    print(f"token {token.id} ({token.name!r} of {token.user_id}) revoked")
    return 0


def _anchor(value: str | None) -> Any:
    from incidenttui.server.audit import Head

    if value is None:
        return None
    seq, _, digest = value.partition(":")
    if not (seq.isdigit() and len(digest) == 64):
        raise CliError(f"--anchor {value!r}: use SEQ:HASH as verify prints it", EXIT_USAGE)
    return Head(int(seq), digest)


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from incidenttui.server.audit import verify, verify_export

    anchor = _anchor(args.anchor)
    if args.file is not None:
        try:
            with open(args.file, encoding="utf-8") as lines:
                result = verify_export(lines, anchor)
        except OSError as exc:
            raise CliError(f"cannot read {args.file}: {exc.strerror}") from None
        except (ValueError, KeyError) as exc:
            raise CliError(f"{args.file} is not an audit export: {exc}") from None
    else:
        with _open_db(args.db).read() as session:
            result = verify(session, anchor)
    if not result.ok:
        print(f"audit log BROKEN at entry {result.broken_at}: {result.reason} "
              f"({result.entries} entries verified before it)", file=sys.stderr)
        return 1
    print(f"audit log intact: {result.entries} entries; head {result.head.seq}:"
          f"{result.head.hash}")
    return 0


def cmd_audit_export(args: argparse.Namespace) -> int:
    from incidenttui.server.audit import export

    db = _open_db(args.db)
    with db.read() as session:
        if args.file is None:
            count = export(session, sys.stdout)
        else:
            try:
                with open(args.file, "w", encoding="utf-8") as out:
                    count = export(session, out)
            except OSError as exc:
                raise CliError(f"cannot write {args.file}: {exc.strerror}") from None
    print(f"exported {count} audit entries", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from incidenttui.config import VerbError

    # Opening the app (no command) is the common case: it need not wait for every verb.
    args, rest = build_parser(commands=False).parse_known_args(argv)
    if rest:
        args = build_parser().parse_args(argv)
    if args.global_server:
        os.environ[ENV_SERVER] = args.global_server
    func = getattr(args, "func", None) or cmd_app
    try:
        return int(func(args) or 0)
    except (CliError, VerbError) as exc:
        print(f"incidenttui: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
