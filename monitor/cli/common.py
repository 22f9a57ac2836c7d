"""Pieces every command shares: the --config option and turning config errors into exit 2."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.engine import make_url

from monitor.config import Config, ConfigError, load_config
from monitor.config.models import identifier_problem
from monitor.seal.crash_recovery import recover_at_start
from monitor.site.runtime import Runtime

DEFAULT_CONFIG = Path("config/cameras.yaml")
ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="site configuration file", show_default=True)
]
HostOption = Annotated[str, typer.Option("--host", help="address to bind; loopback by default")]
PortOption = Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port")]


def _node_name(value: str | None) -> str | None:
    """A node is named like a camera: the name is stored, shown and part of unit names."""
    problem = identifier_problem(value) if value is not None else None
    if problem:
        raise typer.BadParameter(problem)
    return value


NodeOption = Annotated[str | None, typer.Option(
    "--node", callback=_node_name, help="this recorder node's name, when several share the site's PostgreSQL "
                                        "database (default: the config's node:)")]
# Full width on a file or a pipe: a saved report must name clips, paths and hashes whole, not cut
# at 80 columns.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 100_000)


def load_or_exit(path: Path) -> Config:
    """Load the configuration or print every problem and exit with status 2."""
    try:
        return load_config(path)
    except ConfigError as exc:
        console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(2) from None


def database_label(config: Config) -> str:
    """The site's database as staff would recognise it, without its password."""
    return make_url(config.storage.database).render_as_string(hide_password=True)


def recover_or_warn(runtime: Runtime, config: Config, *, meanwhile: str) -> bool:
    """Run the start-up recovery pass, or say why it must wait for the database (the
    supervisor then recovers each camera once it answers); True when the database answered."""
    if recover_at_start(runtime) is not None:
        return True
    console.print(f"[yellow]warning:[/] database {database_label(config)} is unavailable "
                  f"({runtime.database_error}): {meanwhile}", soft_wrap=True, highlight=False)
    return False


def start_recovery(runtime: Runtime, config: Config, node: str | None, *, meanwhile: str) -> bool:
    """What ``hotspot serve`` and ``hotspot run`` do before their workers start; True when the
    database answered. A recorder node (``node``) recovers nothing yet: other nodes record now,
    and each camera is recovered when this node wins its lease (docs/nodes.md)."""
    if node is not None:
        return runtime.try_connect()
    return recover_or_warn(runtime, config, meanwhile=meanwhile)


def interactive() -> bool:
    """Progress bars only when a person is watching."""
    return sys.stderr.isatty()
