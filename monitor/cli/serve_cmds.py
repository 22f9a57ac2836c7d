"""``hotspot serve``: the API, the dashboard and the supervised camera workers in one process."""

from __future__ import annotations

import typer

from monitor.cli.common import DEFAULT_CONFIG, ConfigOption, HostOption, PortOption, console, load_or_exit
from monitor.recovery import recover_camera
from monitor.runtime import Runtime
from monitor.service.accounts import ensure_first_admin


def _first_admin(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        secret = ensure_first_admin(session)
    if secret:
        console.print(
            "[bold]First start:[/] created user [bold]admin[/] with the one-time password "
            f"[bold yellow]{secret}[/] (you must change it at first login; it is not shown again)",
            highlight=False,
        )


def serve(
    config: ConfigOption = DEFAULT_CONFIG,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
) -> None:
    """Serve the dashboard and API and run every camera worker."""
    # Imported here: camera workers are spawned processes that re-import the command line, and
    # must not carry the web stack (about 70 MB each).
    import uvicorn

    from monitor.service.app import create_app

    cfg = load_or_exit(config)
    app = create_app(config)
    runtime: Runtime = app.state.service.runtime
    recover_camera(runtime, None, reason="the service stopped unexpectedly (power loss or kill)")
    _first_admin(runtime)
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]warning:[/] listening on {host}: put HTTPS in front (cookies are Secure only over https)")
    console.print(f"{cfg.site.name}: dashboard at http://{host}:{port}/ ({len(cfg.cameras)} camera(s))")
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5, proxy_headers=True)


def register(app: typer.Typer) -> None:
    app.command()(serve)
