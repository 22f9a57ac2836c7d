"""``hotspot serve``: the API, the dashboard and the supervised camera workers in one process."""

from __future__ import annotations

import logging
import threading
import time

import typer
from sqlalchemy.exc import DBAPIError

from monitor.cli.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    HostOption,
    NodeOption,
    PortOption,
    console,
    load_or_exit,
    start_recovery,
)
from monitor.service.accounts import ensure_first_admin
from monitor.service.state import ServiceSettings
from monitor.site.runtime import Runtime

log = logging.getLogger(__name__)
RECONNECT_EVERY = 2.0  # seconds between attempts to reach a database that was down at start


def _first_admin(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        secret = ensure_first_admin(session)
    if secret:
        console.print(
            "[bold]First start:[/] created user [bold]admin[/] with the one-time password "
            f"[bold yellow]{secret}[/] (you must change it at first login; it is not shown again)",
            highlight=False,
        )


def _first_admin_when_connected(runtime: Runtime) -> None:
    """A site first started during an outage still gets its admin, once the database answers."""
    while True:
        try:
            runtime.connect()  # may race the workers creating the schema: try again
            _first_admin(runtime)
            return
        except DBAPIError as exc:
            log.info("first admin waits for the database: %s", exc.orig or exc)
        time.sleep(RECONNECT_EVERY)


def serve(
    config: ConfigOption = DEFAULT_CONFIG,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    node: NodeOption = None,
) -> None:
    """Serve the dashboard and API and run every camera worker.

    Starts while the database is down, so cameras keep recording: /healthz and every page
    report the outage (503) until it returns.
    """
    # Imported here: camera workers are spawned processes that re-import the command line, and
    # must not carry the web stack (about 70 MB each).
    import uvicorn

    from monitor.service.app import create_app
    from monitor.service.edge import server_config

    cfg = load_or_exit(config)
    node = node or cfg.node
    app = create_app(config, settings=ServiceSettings(node=node))
    runtime: Runtime = app.state.service.runtime
    meanwhile = "cameras record and queue their alerts and seals; the dashboard answers 503 until it returns"
    app.state.service.recovered = start_recovery(runtime, cfg, node, meanwhile=meanwhile)
    if not app.state.service.recovered:
        threading.Thread(target=_first_admin_when_connected, args=(runtime,), name="first-admin",
                         daemon=True).start()
    else:
        _first_admin(runtime)
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]warning:[/] listening on {host}: put HTTPS in front (cookies are Secure only over https)")
    where = f", node {node}" if node else ""
    console.print(f"{cfg.site.name}: dashboard at http://{host}:{port}/ ({len(cfg.cameras)} camera(s){where})")
    if host not in ("127.0.0.1", "localhost", "::1"):
        if not cfg.server.metrics_token:
            console.print("[yellow]warning:[/] /metrics is public: set server.metrics_token to require a token")
        if "*" not in cfg.server.allowed_hosts and host not in cfg.server.allowed_hosts:
            console.print("[yellow]warning:[/] only requests for server.allowed_hosts "
                          f"({', '.join(cfg.server.allowed_hosts)}) are answered: add the names users type")
    uvicorn.Server(server_config(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)).run()


def register(app: typer.Typer) -> None:
    app.command()(serve)
