"""``hotspot demo``: render the demo camera's video if needed, then serve as usual."""

from __future__ import annotations

from pathlib import Path

import typer

from monitor.cli.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    HostOption,
    PortOption,
    console,
    load_or_exit,
)
from monitor.cli.serve_cmds import serve
from monitor.demo.scene import render_demo

DEMO_VIDEO = Path("data/demo/hallway.mp4")


def demo(
    config: ConfigOption = DEFAULT_CONFIG,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
) -> None:
    """Start the demo site: a rendered hallway camera played in a loop, and the dashboard."""
    cfg = load_or_exit(config)
    for camera in cfg.cameras:
        source = Path(camera.source)
        if source.resolve() == DEMO_VIDEO.resolve() and not source.exists():
            console.print(f"rendering the demo camera's video into {source} (once, about 15 s)")
            render_demo(source)
    console.print(
        "Log in as [bold]admin[/]: on the first start the one-time password is printed below; "
        "later, use the password you chose (reset it with `.venv/bin/hotspot users passwd admin`).",
        highlight=False,
    )
    serve(config=config, host=host, port=port)


def register(app: typer.Typer) -> None:
    app.command()(demo)
