"""The ``hotspot`` command. Each command group lives in its own module with a ``register``."""

from __future__ import annotations

import getpass
import importlib
import sys

import typer

from evidence.errors import KeyringError
from evidence.keys import set_passphrase_prompt

COMMAND_MODULES: tuple[str, ...] = (
    "pipeline_cmds", "serve_cmds", "demo_cmds", "users_cmds", "evidence_cmds", "case_cmds",
    "maintenance_cmds", "unmask_cmds", "patrol_cmds",
)

app = typer.Typer(
    name="hotspot",
    help="Hotspot Monitor: zone- and schedule-scoped motion detection with sealed evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"monitor.cli.{_name}").register(app)


def _ask_passphrase() -> bytes:
    return getpass.getpass("Passphrase of the site signing key: ").encode("utf-8")


def main() -> None:
    if sys.stdin.isatty():  # an encrypted key is unlocked by whoever starts the command
        set_passphrase_prompt(_ask_passphrase)
    try:
        app()
    except KeyringError as exc:  # fail closed, saying what to do, wherever the key was first needed
        print(f"error: the site signing key cannot be used: {exc}", file=sys.stderr)
        sys.exit(1)
