"""What an alert message says, the same for every channel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitor.config.models import Config
from monitor.workers.messages import AlertMessage


def alert_payload(message: AlertMessage, config: Config) -> dict[str, Any]:
    """Camera and zone by id and by name, time in UTC and in the site's zone, links to the
    dashboard when ``notify.dashboard_url`` is set; no pixels and no credentials."""
    names = {c.id: c for c in config.cameras}
    camera = names.get(message.camera_id)
    zone_names = {z.id: z.name or z.id for z in camera.zones} if camera else {}
    base = config.notify.dashboard_url.rstrip("/") if config.notify.dashboard_url else None
    moment: datetime = message.time
    return {
        "id": message.alert_id,
        "kind": message.kind,
        "reason": message.reason,
        "camera": message.camera_id,
        "camera_name": camera.label if camera else message.camera_id,
        "zones": list(message.zones),
        "zone_names": [zone_names.get(z, z) for z in message.zones],
        "time": moment.isoformat(),
        "site_time": moment.astimezone(config.site.tz).isoformat(),
        "site_timezone": config.site.timezone,
        "score": round(message.score, 4),
        "message": message.message,
        "clip_id": message.clip_id,
        "snapshot_url": f"{base}/api/alerts/{message.alert_id}/snapshot" if base and message.snapshot_path else None,
        "alert_url": f"{base}/alerts#alert-{message.alert_id}" if base else None,
    }


def subject(payload: dict[str, Any]) -> str:
    """One line a person reads first: what, where, when (site time, to the second)."""
    when = datetime.fromisoformat(payload["site_time"]).strftime("%Y-%m-%d %H:%M:%S")
    where = payload["camera_name"] + (f" / {', '.join(payload['zone_names'])}" if payload["zone_names"] else "")
    what = payload["message"] or payload["kind"]
    return f"[Hotspot] {what}: {where} at {when} ({payload['site_timezone']})"
