"""A camera recorded by another node, as this node's dashboard shows it: the status its holder
publishes with each lease renewal, or why nobody records it right now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from monitor.nodes.lease_book import Holder

if TYPE_CHECKING:
    from monitor.workers.supervisor import CameraStatus


def remote_status(camera_id: str, holder: Holder | None) -> CameraStatus:
    from monitor.workers.supervisor import CameraStatus  # the supervisor imports this module

    now = datetime.now(UTC)
    if holder is None or holder.released:
        return CameraStatus(camera_id, "starting", last_error="waiting for a recorder node to take it")
    if holder.expires_at <= now:
        return CameraStatus(camera_id, "offline", node=holder.node, last_error=(
            f"recorder node {holder.node} stopped renewing its lease at "
            f"{holder.expires_at:%H:%M:%S} UTC; another node takes the camera at its next heartbeat"))
    status = holder.status
    last_frame = status.get("last_frame")
    return CameraStatus(
        camera_id, str(status.get("state") or "starting"), fps=float(status.get("fps") or 0.0),
        last_error=status.get("last_error"), restarts=int(status.get("restarts") or 0),
        last_frame=datetime.fromisoformat(last_frame) if isinstance(last_frame, str) else None,
        node=holder.node, moved_from=status.get("moved_from"),
    )
