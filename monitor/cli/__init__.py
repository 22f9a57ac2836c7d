"""The ``hotspot`` command. Each command group lives in its own module with a ``register``."""

from __future__ import annotations

import importlib

import typer

COMMAND_MODULES: tuple[str, ...] = (
    "pipeline_cmds", "serve_cmds", "demo_cmds", "users_cmds", "evidence_cmds", "case_cmds",
    "maintenance_cmds",
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


def main() -> None:
    app()
