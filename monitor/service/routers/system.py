"""Public machine endpoints: health for load balancers and systemd, metrics for Prometheus.

Both carry no personal data: counts, states and rates only. ``/healthz`` is public. ``/metrics``
is public unless ``server.metrics_token`` is set; then Prometheus sends it as a bearer token.
Camera states tell a burglar which camera is down, so a site that serves beyond loopback
should set the token. Both sit behind the Host check (``server.allowed_hosts``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text

from evidence.timestamps import TOKENS_DIR, pending_backlog
from monitor.objects.uploads import uploads_folder
from monitor.service.accounts import same_secret
from monitor.service.deps import State
from monitor.service.state import ServiceState
from monitor.store.models import Alert, Clip
from monitor.workers.messages import DECODE_MODES

router = APIRouter(tags=["system"])


@router.get("/healthz", summary="Database and cameras: ok (200), degraded or unhealthy (503) (public)")
def healthz(state: State) -> JSONResponse:
    """``degraded`` when an enabled camera is not online: nothing is being watched there, and
    a monitoring system must notice, so it is a 503 like ``unhealthy`` (the body says which)."""
    try:
        with state.runtime.sessions() as session:
            session.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # noqa: BLE001 - any driver error means unhealthy, and says which
        database = f"error: {type(exc).__name__}"
    statuses = state.supervisor.statuses() if state.supervisor else {}
    enabled = [c for c in state.config.cameras if c.enabled]
    # Without a supervisor this process runs no cameras (API only): it cannot say they are down.
    down = [c.id for c in enabled if state.supervisor and (statuses.get(c.id) is None
                                                           or statuses[c.id].state != "online")]
    status = "unhealthy" if database != "ok" else ("degraded" if down else "ok")
    body = {
        "status": status,
        "database": database,
        "cameras_online": sum(1 for s in statuses.values() if s.state == "online"),
        "cameras_configured": len(state.config.cameras),
        "cameras_down": down,
        "timestamps_pending": sum(pending_backlog(state.runtime.paths.root / TOKENS_DIR,
                                                  state.config.evidence.timestamp_authorities).values()),
        "uploads_pending": sum(1 for _ in uploads_folder(state.runtime).glob("*.json")),
    }
    return JSONResponse(body, status_code=200 if status == "ok" else 503)


class _SiteCollector(Collector):
    """Reads the site's state at scrape time, so the numbers are never stale."""

    def __init__(self, state: ServiceState) -> None:
        self._state = state

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        online = GaugeMetricFamily("hotspot_camera_online", "1 when the camera worker is online", labels=["camera"])
        fps = GaugeMetricFamily("hotspot_camera_fps", "frames decoded per second", labels=["camera"])
        restarts = GaugeMetricFamily("hotspot_camera_restarts", "worker restarts since start", labels=["camera"])
        decoded = GaugeMetricFamily("hotspot_camera_decoded_fraction",
                                    "frames decoded per frame of the stream (schedule and idle gates)",
                                    labels=["camera"])
        main_decoded = GaugeMetricFamily("hotspot_camera_main_decoded_fraction",
                                         "main-stream frames decoded per frame of it (cameras detecting on a substream)",
                                         labels=["camera"])
        modes = GaugeMetricFamily("hotspot_camera_decode_mode", "1 for the mode the camera decodes in",
                                  labels=["camera", "mode"])
        statuses = self._state.supervisor.statuses() if self._state.supervisor else {}
        for camera in self._state.config.cameras:
            status = statuses.get(camera.id)
            online.add_metric([camera.id], 1.0 if status and status.state == "online" else 0.0)
            fps.add_metric([camera.id], status.fps if status else 0.0)
            restarts.add_metric([camera.id], float(status.restarts) if status else 0.0)
            decoded.add_metric([camera.id], status.decoded_fraction if status else 0.0)
            if camera.detect is not None:
                main = status.main_decoded_fraction if status else None
                main_decoded.add_metric([camera.id], main if main is not None else 0.0)
            for mode in DECODE_MODES:
                modes.add_metric([camera.id, mode], 1.0 if status and status.decode_mode == mode else 0.0)
        yield from (online, fps, restarts, decoded, main_decoded, modes)
        yield from self._counts()
        yield from self._notifications()

    def _notifications(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        notifier = self._state.supervisor.notifier if self._state.supervisor else None
        if notifier is None or not notifier.enabled:
            return
        status = notifier.status()
        yield GaugeMetricFamily("hotspot_notify_queued", "alert messages waiting for their receiver",
                                value=float(status.queued))
        yield GaugeMetricFamily("hotspot_notify_failed", "alert messages given up on (notify/failed/)",
                                value=float(status.failed))
        sent = CounterMetricFamily("hotspot_notify_sent", "alert messages delivered", labels=["channel"])
        errors = CounterMetricFamily("hotspot_notify_errors", "failed delivery attempts", labels=["channel"])
        for channel in notifier.channels:
            sent.add_metric([channel], float(status.sent[channel]))
            errors.add_metric([channel], float(status.errors[channel]))
        yield from (sent, errors)

    def _counts(self) -> Iterator[GaugeMetricFamily]:
        with self._state.runtime.sessions() as session:
            unacknowledged = session.scalar(
                select(func.count()).select_from(Alert).where(Alert.acknowledged_at.is_(None))
            )
            clips: dict[str, Any] = dict(session.execute(select(Clip.status, func.count()).group_by(Clip.status)).all())
        yield GaugeMetricFamily("hotspot_alerts_unacknowledged", "alerts not yet acknowledged",
                                value=float(unacknowledged or 0))
        family = GaugeMetricFamily("hotspot_clips", "clips by status", labels=["status"])
        for status, count in sorted(clips.items()):
            family.add_metric([status], float(count))
        yield family
        yield GaugeMetricFamily("hotspot_alert_board_clients", "open live alert streams",
                                value=float(self._state.feed.subscribers))


@router.get("/metrics", summary="Prometheus metrics (public, or with server.metrics_token)",
            response_class=Response)
def metrics(state: State, request: Request) -> Response:
    expected = state.config.server.metrics_token
    if expected:
        sent = request.headers.get("authorization", "")
        if not sent.lower().startswith("bearer ") or not same_secret(sent[7:].strip(), expected):
            raise HTTPException(401, "send server.metrics_token as 'Authorization: Bearer <token>'",
                                headers={"WWW-Authenticate": "Bearer"})
    registry = CollectorRegistry()
    registry.register(_SiteCollector(state))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
