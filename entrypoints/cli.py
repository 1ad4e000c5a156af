"""The `portcullis` command: a second entrypoint over the same container as the HTTP app."""

# Every worker of `serve --workers N` is a fresh interpreter that imports this module again
# before it can answer its supervisor's health checks, and a worker silent for too long is
# killed. So only what every command needs is imported here; each command imports the rest
# (the container and the database layer, Alembic, uvicorn) when it runs.

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from application.caller import Operator
from application.errors import ApplicationError, NewAccountNeedsPassword, StorageUnavailable
from application.use_cases.admin.create_or_promote_admin import (
    AdminOutcome,
    CreateOrPromoteAdminCommand,
)
from application.use_cases.list_signing_keys import ListSigningKeysQuery
from application.use_cases.oauth_clients.delete_client import DeleteClientCommand
from application.use_cases.oauth_clients.list_clients import ListClientsQuery
from application.use_cases.oauth_clients.register_client import RegisterClientCommand
from application.use_cases.prune_sessions import PruneSessionsCommand
from application.use_cases.rotate_signing_key import RotateSigningKeyCommand
from domain.errors import DomainError, InvalidEmail, WeakPassword
from domain.oauth_client import ClientType, OAuthClient
from domain.signing_key import SIGNING_ALGORITHMS

if TYPE_CHECKING:
    from entrypoints.container import Container
    from entrypoints.settings import Settings

T = TypeVar("T")


class UsageError(Exception):
    """The command was called wrongly; the message says how to call it."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portcullis", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the HTTP API (applies no migration)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)

    commands.add_parser("migrate", help="upgrade the database to the newest revision")

    create_admin = commands.add_parser(
        "create-admin",
        help="make the account with this email an active admin, creating it if needed",
    )
    create_admin.add_argument("email")
    create_admin.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the new account's password from standard input (first line)",
    )

    keys = commands.add_parser("keys", help="signing keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    key_commands.add_parser("list", help="every signing key: kid, algorithm, state, dates")
    rotate = key_commands.add_parser(
        "rotate",
        help="make a new active key for every algorithm (or one); the keys replaced retire",
    )
    rotate.add_argument(
        "--algorithm",
        choices=SIGNING_ALGORITHMS,
        help="rotate only this algorithm's key (default: every algorithm's)",
    )

    mail = commands.add_parser("mail", help="the outgoing mail")
    mail_commands = mail.add_subparsers(dest="mail_command", required=True)
    mail_commands.add_parser("dispatch", help="send every message that is due, then stop")

    secrets = commands.add_parser("secrets", help="secrets stored encrypted")
    secret_commands = secrets.add_subparsers(dest="secrets_command", required=True)
    secret_commands.add_parser(
        "reencrypt",
        help="rewrite every private key and TOTP secret under the first of "
        "PORTCULLIS_ENCRYPTION_KEYS",
    )

    clients = commands.add_parser(
        "clients", help="OpenID Connect clients: the applications that sign people in here"
    )
    client_commands = clients.add_subparsers(dest="clients_command", required=True)
    create = client_commands.add_parser(
        "create",
        help="register a client; prints its client_id (and a confidential one's client_secret, "
        "shown this once) as one JSON object",
    )
    create.add_argument("name")
    create.add_argument(
        "--redirect-uri",
        dest="redirect_uris",
        action="append",
        required=True,
        metavar="URI",
        help="where people are sent back, compared exactly (repeat for more)",
    )
    create.add_argument(
        "--post-logout-redirect-uri",
        dest="post_logout_redirect_uris",
        action="append",
        default=[],
        metavar="URI",
        help="where people may be sent after signing out (repeat for more)",
    )
    create.add_argument(
        "--public", action="store_true", help="a client that cannot keep a secret (no secret)"
    )
    create.add_argument(
        "--first-party", action="store_true", help="trusted: people are not asked to consent"
    )
    client_commands.add_parser("list", help="every client, oldest first, as a JSON array")
    delete = client_commands.add_parser(
        "delete", help="unregister a client; every session issued to it ends"
    )
    delete.add_argument("client_id")

    sessions = commands.add_parser("sessions", help="login sessions")
    session_commands = sessions.add_subparsers(dest="sessions_command", required=True)
    prune = session_commands.add_parser(
        "prune", help="delete expired sessions and those revoked more than --revoked-days ago"
    )
    prune.add_argument(
        "--revoked-days",
        type=int,
        default=7,
        help="keep revoked sessions this many days, so a replayed refresh token is still "
        "recognised as a replay (default 7)",
    )
    return parser


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    from entrypoints.serving import serve

    if workers < 1:
        raise UsageError("--workers must be at least 1")
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its metrics here, so /metrics can add them all up.
        metrics_dir = tempfile.mkdtemp(prefix="portcullis-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    asyncio.run(_check_before_serving(settings))
    serve(settings, host, port, workers)


async def _check_before_serving(settings: Settings) -> None:
    from entrypoints.container import build_container
    from entrypoints.lifecycle import check_before_serving

    await check_before_serving(build_container(settings))


async def _with_container(settings: Settings, work: Callable[[Container], Awaitable[T]]) -> T:
    from entrypoints.container import build_container
    from entrypoints.lifecycle import running

    container = build_container(settings)
    async with running(container, serving=False):
        return await work(container)


async def _list_keys(settings: Settings) -> None:
    keys = await _with_container(
        settings, lambda c: c.list_signing_keys().execute(ListSigningKeysQuery())
    )
    print(f"{'KID':<24} {'ALGORITHM':<9} {'STATE':<8} {'CREATED':<25} RETIRED")
    for key in keys:
        state = "active" if key.is_active else "retired"
        retired = key.retired_at.isoformat(timespec="seconds") if key.retired_at else "-"
        created = key.created_at.isoformat(timespec="seconds")
        print(f"{key.kid:<24} {key.algorithm:<9} {state:<8} {created:<25} {retired}")


async def _rotate_keys(settings: Settings, algorithm: str | None) -> None:
    keys = await _with_container(
        settings, lambda c: c.rotate_signing_key().execute(RotateSigningKeyCommand(algorithm))
    )
    for key in keys:
        print(f"new active key {key.kid} ({key.algorithm})")
    print("replicas sign with the new keys within 10 seconds")


async def _prune_sessions(settings: Settings, revoked_days: int) -> None:
    if revoked_days < 0:
        raise UsageError("--revoked-days must be 0 or more")
    grace = timedelta(days=revoked_days)
    pruned = await _with_container(
        settings, lambda c: c.prune_sessions().execute(PruneSessionsCommand(revoked_grace=grace))
    )
    print(f"pruned {pruned} session{'s' if pruned != 1 else ''}")


async def _dispatch_mail(settings: Settings) -> int:
    from entrypoints.mail_dispatcher import dispatch_until_idle

    sent, failed = await _with_container(
        settings, lambda c: dispatch_until_idle(c.dispatch_outbox())
    )
    print(f"sent {sent}, failed {failed} (failed messages are retried later)")
    return 0 if failed == 0 else 1


async def _reencrypt_secrets(settings: Settings) -> None:
    from entrypoints.settings import ENV_PREFIX

    if not settings.encryption_keys:
        raise UsageError(
            f"{ENV_PREFIX}ENCRYPTION_KEYS is not set: there is no key to encrypt under"
        )
    rewritten = await _with_container(settings, lambda c: c.sealed_secrets().reencrypt())
    counts = ", ".join(f"{column} {count}" for column, count in rewritten.items())
    print(f"rewritten under the first key: {counts}")


async def _create_client(settings: Settings, args: argparse.Namespace) -> None:
    command = RegisterClientCommand(
        by=Operator(),
        name=args.name,
        type=ClientType.PUBLIC if args.public else ClientType.CONFIDENTIAL,
        redirect_uris=tuple(args.redirect_uris),
        post_logout_redirect_uris=tuple(args.post_logout_redirect_uris),
        first_party=args.first_party,
    )
    registered = await _with_container(settings, lambda c: c.register_client().execute(command))
    shown: dict[str, str] = {"client_id": registered.client.client_id}
    if registered.client_secret is not None:
        shown["client_secret"] = registered.client_secret
    print(json.dumps(shown))


async def _list_clients(settings: Settings) -> None:
    clients = await _with_container(
        settings, lambda c: c.list_clients().execute(ListClientsQuery(by=Operator()))
    )
    print(json.dumps([_client_json(client) for client in clients], indent=2))


def _client_json(client: OAuthClient) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "type": client.type.value,
        "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "first_party": client.first_party,
        "id_token_signed_response_alg": client.id_token_signed_response_alg.value,
        "created_at": client.created_at.isoformat(),
        "updated_at": client.updated_at.isoformat(),
    }


async def _delete_client(settings: Settings, client_id: str) -> None:
    command = DeleteClientCommand(by=Operator(), client_id=client_id)
    await _with_container(settings, lambda c: c.delete_client().execute(command))
    print(f"deleted client {client_id}; every session issued to it has ended")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise UsageError("--password-stdin: nothing on standard input")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for a password: use --password-stdin")
    password = getpass.getpass("Password for the new admin: ")
    if password != getpass.getpass("Once more: "):
        raise UsageError("the two passwords differ")
    return password


async def _create_admin(settings: Settings, email: str, password_stdin: bool) -> None:
    async def work(container: Container) -> AdminOutcome:
        use_case = container.create_or_promote_admin()
        try:
            return await use_case.execute(CreateOrPromoteAdminCommand(email=email))
        except NewAccountNeedsPassword:
            password = await asyncio.to_thread(_read_password, password_stdin)
            return await use_case.execute(
                CreateOrPromoteAdminCommand(email=email, password=password)
            )

    outcome = await _with_container(settings, work)
    verb = "created admin" if outcome.created else "promoted to admin"
    print(f"{verb}: {outcome.email}")


def run(argv: Sequence[str] | None = None) -> int:
    from entrypoints.logging import configure_logging
    from entrypoints.settings import load_settings

    args = _parser().parse_args(argv)
    settings = load_settings()
    configure_logging(settings.resolved_log_format, settings.log_level)
    if args.command == "serve":
        _serve(settings, args.host, args.port, args.workers)
    elif args.command == "create-admin":
        asyncio.run(_create_admin(settings, args.email, args.password_stdin))
    elif args.command == "migrate":
        from entrypoints.migrations import upgrade_to_head

        upgrade_to_head(settings.database_url)
        print("database is at the newest revision")
    elif args.command == "keys" and args.keys_command == "list":
        asyncio.run(_list_keys(settings))
    elif args.command == "keys" and args.keys_command == "rotate":
        asyncio.run(_rotate_keys(settings, args.algorithm))
    elif args.command == "mail" and args.mail_command == "dispatch":
        return asyncio.run(_dispatch_mail(settings))
    elif args.command == "secrets" and args.secrets_command == "reencrypt":
        asyncio.run(_reencrypt_secrets(settings))
    elif args.command == "clients" and args.clients_command == "create":
        asyncio.run(_create_client(settings, args))
    elif args.command == "clients" and args.clients_command == "list":
        asyncio.run(_list_clients(settings))
    elif args.command == "clients" and args.clients_command == "delete":
        asyncio.run(_delete_client(settings, args.client_id))
    elif args.command == "sessions" and args.sessions_command == "prune":
        asyncio.run(_prune_sessions(settings, args.revoked_days))
    return 0


def _refusal(error: Exception) -> str:
    if isinstance(error, WeakPassword):
        return f"the password {error}"
    if isinstance(error, InvalidEmail):
        return f"the email {error}"
    return str(error)


def main(argv: Sequence[str] | None = None) -> None:
    from entrypoints.settings import ConfigurationError

    try:
        code = run(argv)
    except ConfigurationError as error:
        print(f"portcullis: configuration error: {error}", file=sys.stderr)
        code = 2
    except UsageError as error:
        print(f"portcullis: {error}", file=sys.stderr)
        code = 2
    except StorageUnavailable:
        print("portcullis: the database is unavailable", file=sys.stderr)
        code = 1
    except (DomainError, ApplicationError) as error:
        print(f"portcullis: {_refusal(error)}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    except Exception as error:  # a one-line message, never a traceback
        first_line = (str(error).splitlines() or [""])[0][:200]
        print(f"portcullis: {type(error).__name__}: {first_line}", file=sys.stderr)
        code = 1
    sys.exit(code)
