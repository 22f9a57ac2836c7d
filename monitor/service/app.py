"""``create_app``: the API, the dashboard and (optionally) the supervised camera workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

import monitor.store.users  # noqa: F401  (registers the user tables before create_all)
from monitor.config import Config, load_config
from monitor.service.alert_feed import AlertFeed
from monitor.service.config_edit import ConfigEditor
from monitor.service.deps import LoginRequired, PasswordChangeRequired
from monitor.service.edge import EdgeMiddleware
from monitor.service.error_pages import error_page
from monitor.service.errors import ERROR_RESPONSES
from monitor.service.routers import (
    account,
    alert_clips,
    alerts,
    app_shell,
    audit,
    auth,
    bundles,
    cameras,
    case_pages,
    cases,
    clips,
    notify,
    pages,
    patrol,
    schedules,
    system,
    timeline,
    unmask,
    users,
    zones,
)
from monitor.service.state import ServiceSettings, ServiceState
from monitor.service.views import ViewLog
from monitor.site.runtime import Runtime
from monitor.store import alert_channel, config_channel
from monitor.store.config_channel import ConfigNotice, announce_config
from monitor.store.db import describe_unavailable
from monitor.store.listener import NotificationListener

STATIC = Path(__file__).parent / "static"
FEED_RETRY_SECONDS = 2.0
log = logging.getLogger(__name__)


def _build_state(config_path: Path, config: Config, settings: ServiceSettings) -> ServiceState:
    runtime = Runtime.open(config, require_database=False)  # the workers record through an outage
    for camera in config.cameras:  # earlier versions stored the unmasked editor picture: remove it
        (runtime.paths.live / f"{camera.id}.editor.jpg").unlink(missing_ok=True)
    feed = AlertFeed(runtime.sessions, lambda: runtime.config, poll_seconds=settings.alert_poll_seconds)
    editor = ConfigEditor(config_path, runtime, lambda c: _apply(state, c),
                          announce=lambda digest: _announce(state, digest))
    state = ServiceState(config_path, runtime, settings, feed, editor, ViewLog())
    return state


def _apply(state: ServiceState, config: Config) -> None:
    if state.supervisor is not None:
        state.supervisor.apply_config(config)


def _announce(state: ServiceState, digest: str) -> None:
    """Other nodes apply the edit within a second; without the database they apply it at
    their next start, as before (the edit itself is saved and in force here)."""
    try:
        announce_config(state.runtime.engine, ConfigNotice(state.settings.node or "", digest))
    except DBAPIError as exc:
        log.warning("other nodes apply this configuration edit at their next start: %s",
                    str(exc.orig or exc).strip())


def _follow(state: ServiceState, payload: str | None) -> None:
    """``payload`` None: (re)connected, and an edit may have been announced meanwhile."""
    state.editor.follow(None if payload is None else ConfigNotice.parse(payload))


def _start_workers(state: ServiceState) -> None:
    from monitor.workers.supervisor import (
        Supervisor,  # imported here: the API alone needs no pipeline
    )

    state.supervisor = Supervisor(state.config, on_alert=state.feed.committed,
                                  recovered=state.recovered, node=state.settings.node)
    state.supervisor.start()


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ServiceState = app.state.service
    if state.settings.start_workers:
        await asyncio.to_thread(_start_workers, state)
    poller = asyncio.create_task(_poll_alerts(state.feed))
    listener = None
    if NotificationListener.wanted(state.runtime.engine):  # what other nodes commit, applied here too
        listener = NotificationListener(state.runtime.engine, {
            alert_channel.CHANNEL: alert_channel.alert_handler(state.feed.announced),
            config_channel.CHANNEL: lambda payload: _follow(state, payload),
        })
        listener.start()
    try:
        yield
    finally:
        if listener is not None:
            await asyncio.to_thread(listener.stop)
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller
        if state.supervisor is not None:
            await asyncio.to_thread(state.supervisor.stop)
        state.runtime.close()


async def _poll_alerts(feed: AlertFeed) -> None:
    """The live board outlives a database outage: polling starts again once it answers (and
    once its schema exists, when the site was first started during the outage)."""
    while True:
        try:
            await feed.run()
        except DBAPIError as exc:
            log.warning("live alerts wait for the database: %s", str(exc.orig or exc).strip())
            await asyncio.sleep(FEED_RETRY_SECONDS)


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    """Every page and API call says why it cannot answer, instead of a bare 500."""
    assert isinstance(exc, OperationalError)
    message = (f"The database is unavailable ({describe_unavailable(exc)}). Cameras keep recording; "
               "their alerts and seals are saved when it returns. Try again in a minute.")
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": message}, status_code=503)
    return await asyncio.to_thread(error_page, request, 503, message, who=False)


MACHINE_PATHS = ("/api/", "/static/", "/metrics", "/healthz")  # answered for programs, never as pages


def _is_page(request: Request) -> bool:
    return request.method in ("GET", "HEAD") and not request.url.path.startswith(MACHINE_PATHS)


async def _auth_errors(request: Request, exc: Exception) -> Response:
    """Pages send people to the login or password page, and show any other error as a page;
    the API answers with the status and a JSON detail."""
    assert isinstance(exc, StarletteHTTPException)
    if _is_page(request) and isinstance(exc, LoginRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    if _is_page(request) and isinstance(exc, PasswordChangeRequired):
        return RedirectResponse("/account", status_code=303)
    if _is_page(request):
        return await asyncio.to_thread(error_page, request, exc.status_code, str(exc.detail))
    return await http_exception_handler(request, exc)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _is_page(request):
        fields = ", ".join(str(e["loc"][-1]) for e in exc.errors() if e.get("loc"))
        return await asyncio.to_thread(error_page, request, 422, f"cannot read {fields}")
    return await request_validation_exception_handler(request, exc)


def create_app(config_path: Path, *, settings: ServiceSettings | None = None) -> FastAPI:
    """Open the site described by ``config_path`` and return the ASGI app serving it."""
    config_path = Path(config_path).resolve()
    state = _build_state(config_path, load_config(config_path), settings or ServiceSettings())
    app = FastAPI(
        title="Hotspot Monitor", version="0.1.0", lifespan=_lifespan, docs_url=None, redoc_url=None,
        description="Alerts, live view, sealed clips and evidence export for school hotspots.",
    )
    app.state.service = state
    app.add_middleware(EdgeMiddleware, server=state.config.server)
    app.add_exception_handler(StarletteHTTPException, _auth_errors)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(OperationalError, _database_unavailable)
    for module in (system, app_shell, auth, account, alert_clips, alerts, cameras, clips, unmask, bundles, cases,
                   timeline, zones, schedules, notify, users, audit, patrol, case_pages, pages):
        app.include_router(module.router, responses=ERROR_RESPONSES)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
