"""Pieces every command shares: the --config option and turning config errors into exit 2."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from monitor.config import Config, ConfigError, load_config

DEFAULT_CONFIG = Path("config/cameras.yaml")
ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="site configuration file", show_default=True)
]
HostOption = Annotated[str, typer.Option("--host", help="address to bind; loopback by default")]
PortOption = Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port")]
console = Console(stderr=True)


def load_or_exit(path: Path) -> Config:
    """Load the configuration or print every problem and exit with status 2."""
    try:
        return load_config(path)
    except ConfigError as exc:
        console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(2) from None


def interactive() -> bool:
    """Progress bars only when a person is watching."""
    return sys.stderr.isatty()
