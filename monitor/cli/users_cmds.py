"""``hotspot users add|passwd|disable|token|permissions``: accounts without the web service."""

from __future__ import annotations

import contextlib
import getpass
from collections.abc import Iterator, Mapping
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from evidence.actions import Action
from monitor.cli.common import DEFAULT_CONFIG, ConfigOption, console, load_or_exit
from monitor.service.accounts import (
    AccountError,
    add_user,
    find_user,
    new_api_token,
    one_time_password,
    set_disabled,
    set_password,
)
from monitor.service.permissions import matrix_markdown
from monitor.store.db import make_engine, session_factory
from monitor.store.models import Base
from monitor.store.users import ROLES

users_app = typer.Typer(help="Dashboard users: add, change password, disable, API tokens.", no_args_is_help=True)


@contextlib.contextmanager
def _session(config_path: object) -> Iterator[Session]:
    """A database session for the configured site; account errors exit with status 2."""
    cfg = load_or_exit(config_path)  # type: ignore[arg-type]
    engine = make_engine(cfg.storage.database)
    Base.metadata.create_all(engine)
    try:
        with session_factory(engine).begin() as session:
            yield session
    except AccountError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    finally:
        engine.dispose()


def _record(config_path: object, action: Action, details: Mapping[str, object]) -> None:
    """The change on the signed custody log, as the dashboard records it, naming the system
    account that ran the command (the audit page shows it with the dashboard's changes)."""
    from monitor.cli.evidence_cmds import _open_store  # the signing key is opened only here

    store = _open_store(load_or_exit(config_path))  # type: ignore[arg-type]
    store.append(action, actor=f"{getpass.getuser()} (command line)", details=details)


@users_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="login name")],
    role: Annotated[str, typer.Option("--role", help=f"one of {', '.join(ROLES)}")],
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Add a user and print a one-time password they must change at first login."""
    with _session(config) as session:
        user, secret = add_user(session, username, role)
        added = {"user": user.username, "role": user.role}
    _record(config, Action.USER_ADDED, added)
    typer.echo(f"added {user.username} ({user.role}); one-time password: {secret}")


@users_app.command("passwd")
def passwd(
    username: Annotated[str, typer.Argument(help="login name")],
    one_time: Annotated[bool, typer.Option("--one-time", help="print a one-time password instead of asking")] = False,
    keep_tokens: Annotated[bool, typer.Option("--keep-tokens", help="keep the user's API tokens valid")] = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Set a user's password (asked twice), or reset it to a printed one-time password.

    Ends the user's sessions and revokes their API tokens unless --keep-tokens is given."""
    secret = one_time_password() if one_time else typer.prompt("new password", hide_input=True,
                                                                 confirmation_prompt=True)
    with _session(config) as session:
        revoked = set_password(session, find_user(session, username), secret, temporary=one_time,
                               revoke_tokens=not keep_tokens, context=(load_or_exit(config).site.name,))
    _record(config, Action.PASSWORD_RESET if one_time else Action.PASSWORD_CHANGED,
            {"user": username, "tokens_revoked": revoked})
    typer.echo(f"one-time password for {username}: {secret}" if one_time else f"password of {username} changed")
    typer.echo(f"sessions ended; {revoked} API token(s) revoked" if not keep_tokens
               else "sessions ended; API tokens kept")


@users_app.command("disable")
def disable(
    username: Annotated[str, typer.Argument(help="login name")],
    enable: Annotated[bool, typer.Option("--enable", help="enable the user again")] = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Disable a user (ends their sessions, revokes their API tokens), or enable them again."""
    with _session(config) as session:
        set_disabled(session, find_user(session, username), not enable)
    _record(config, Action.USER_CHANGED, {"user": username, "disabled": not enable})
    typer.echo(f"{username} {'enabled' if enable else 'disabled'}")


@users_app.command("token")
def token(
    username: Annotated[str, typer.Argument(help="login name")],
    name: Annotated[str, typer.Option("--name", help="what the token is for, e.g. prometheus")],
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Create an API token acting as USERNAME and print it (once)."""
    with _session(config) as session:
        row, secret = new_api_token(session, find_user(session, username), name)
        made = {"user": username, "token": row.name, "token_id": str(row.id)}
    _record(config, Action.TOKEN_CREATED, made)
    typer.echo(secret)


@users_app.command("permissions")
def permissions() -> None:
    """Print the role x permission matrix (Markdown) exactly as the server enforces it."""
    typer.echo(matrix_markdown(), nl=False)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
