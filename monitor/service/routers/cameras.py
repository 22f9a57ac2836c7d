"""Cameras: worker status, the privacy-masked live frame, and the zone editor's frame."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from monitor.config import Camera
from monitor.service.deps import CanEditZones, CanViewCameras, CanViewLive, State
from monitor.service.state import ServiceState
from monitor.service.times import iso

router = APIRouter(prefix="/api/cameras", tags=["cameras"])
NO_CACHE = {"Cache-Control": "no-store"}


def camera_or_404(state: ServiceState, camera_id: str) -> Camera:
    try:
        return state.config.camera(camera_id)
    except KeyError:
        raise HTTPException(404, f"no camera {camera_id!r}") from None


def camera_statuses(state: ServiceState) -> list[dict[str, Any]]:
    statuses = state.supervisor.statuses() if state.supervisor else {}
    rows = []
    for camera in state.config.cameras:
        status = statuses.get(camera.id)
        rows.append({
            "id": camera.id,
            "name": camera.label,
            "enabled": camera.enabled,
            "zones": [z.id for z in camera.zones],
            "state": status.state if status else ("disabled" if not camera.enabled else "not running"),
            "fps": round(status.fps, 2) if status else 0.0,
            "last_error": status.last_error if status else None,
            "restarts": status.restarts if status else 0,
            "last_frame": iso(status.last_frame) if status else None,
        })
    return rows


@router.get("", summary="Cameras with online/offline state, fps and last error")
def list_cameras(_user: CanViewCameras, state: State) -> list[dict[str, Any]]:
    return camera_statuses(state)


def _frame(path: Path, camera_id: str) -> FileResponse:
    if not path.is_file():
        raise HTTPException(404, f"camera {camera_id!r} has no live frame yet (is it online?)")
    return FileResponse(path, media_type="image/jpeg", headers=NO_CACHE)


@router.get("/{camera_id}/live.jpg", summary="Latest privacy-masked frame", response_class=FileResponse)
def live_frame(camera_id: str, _user: CanViewLive, state: State) -> FileResponse:
    camera = camera_or_404(state, camera_id)
    return _frame(state.runtime.paths.live / f"{camera.id}.jpg", camera.id)


@router.get("/{camera_id}/editor.jpg", summary="Latest frame with only privacy zones masked (zone editor)",
            response_class=FileResponse)
def editor_frame(camera_id: str, _user: CanEditZones, state: State) -> FileResponse:
    camera = camera_or_404(state, camera_id)
    return _frame(state.runtime.paths.live / f"{camera.id}.editor.jpg", camera.id)
