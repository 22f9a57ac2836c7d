"""Cameras: worker status, the privacy-masked live frame, and the zone editor's frame."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from evidence.actions import Action
from monitor.config import Camera
from monitor.service.deps import CanEditZones, CanViewCameras, CanViewLive, State
from monitor.service.state import ServiceState
from monitor.service.times import iso
from monitor.store.paths import PreviewKind, StoragePaths

router = APIRouter(prefix="/api/cameras", tags=["cameras"])
NO_CACHE = {"Cache-Control": "no-store"}
JPEG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/jpeg": {}}, "description": "JPEG image"}}
# Workers make previews only on request (monitor.pipeline.preview_requests) and, while asked, rewrite
# live frames twice a second and editor frames every two seconds: anything older than this
# is left over from an earlier viewer or a stopped worker, not the camera's current picture.
FRESH_FOR: dict[PreviewKind, float] = {"live": 2.0, "editor": 5.0}
WAIT_FOR = 1.5  # seconds a request waits for the worker to notice it and write a preview
POLL_EVERY = 0.1


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
            "decode_mode": status.decode_mode if status else "",
            "decoded_fraction": status.decoded_fraction if status else 0.0,
            "detect_source": status.detect_source if status else "",
            "detect_error": status.detect_error if status else None,
            "main_decoded_fraction": status.main_decoded_fraction if status else None,
            "last_error": status.last_error if status else None,
            "restarts": status.restarts if status else 0,
            "last_frame": iso(status.last_frame) if status else None,
            "node": status.node if status else "",
            "moved_from": status.moved_from if status else None,
        })
    return rows


@router.get("", summary="Cameras with online/offline state, fps and last error")
def list_cameras(_user: CanViewCameras, state: State) -> list[dict[str, Any]]:
    return camera_statuses(state)


async def _preview(paths: StoragePaths, camera_id: str, kind: PreviewKind) -> Response:
    """Ask the worker for this preview, then answer with a recent one, waiting briefly (not
    blocking the server) when nobody was watching and there is none yet."""
    try:
        paths.request_preview(camera_id, kind)
    except OSError as exc:
        detail = f"cannot ask camera {camera_id!r} for a live frame: {exc}"
        raise HTTPException(503, detail) from exc
    path = paths.preview_file(camera_id, kind)
    deadline = time.monotonic() + WAIT_FOR
    while (image := _recent_image(path, FRESH_FOR[kind])) is None:
        if time.monotonic() >= deadline:
            raise HTTPException(404, f"camera {camera_id!r} has no live frame yet (is it online?)")
        await asyncio.sleep(POLL_EVERY)
    return Response(image, media_type="image/jpeg", headers=NO_CACHE)


def _recent_image(path: Path, max_age: float) -> bytes | None:
    """The bytes, read at once: the worker replaces the file while it is watched."""
    try:
        if time.time() - path.stat().st_mtime > max_age:
            return None
        return path.read_bytes()
    except FileNotFoundError:
        return None


@router.get("/{camera_id}/live.jpg", response_class=Response, responses=JPEG,
            summary="Latest privacy-masked frame")
async def live_frame(camera_id: str, _user: CanViewLive, state: State) -> Response:
    camera = camera_or_404(state, camera_id)
    return await _preview(state.runtime.paths, camera.id, "live")


@router.get("/{camera_id}/editor.jpg", response_class=Response, responses=JPEG,
            summary="Latest frame with only privacy zones masked (zone editor); logs a view")
async def editor_frame(camera_id: str, user: CanEditZones, state: State) -> Response:
    """Served from the supervisor's memory: this picture shows people outside the hotspots,
    so it is never written to disk, and every picture served is a custody entry."""
    camera = camera_or_404(state, camera_id)
    supervisor = state.supervisor
    if supervisor is None:
        raise HTTPException(404, f"camera {camera.id!r} has no live frame: no camera workers run in this service")
    try:
        state.runtime.paths.request_preview(camera.id, "editor")
    except OSError as exc:
        raise HTTPException(503, f"cannot ask camera {camera.id!r} for a frame: {exc}") from exc
    deadline = time.monotonic() + WAIT_FOR + 2.0  # the worker looks for requests once a second
    while (image := supervisor.editor_frame(camera.id, FRESH_FOR["editor"])) is None:
        if time.monotonic() >= deadline:
            raise HTTPException(404, f"camera {camera.id!r} has no live frame yet (is it online?)")
        await asyncio.sleep(POLL_EVERY)
    await asyncio.to_thread(state.runtime.evidence.append, Action.EDITOR_FRAME_VIEWED, actor=user.username,
                            details={"camera": camera.id, "jpeg_bytes": len(image)})
    return Response(image, media_type="image/jpeg", headers=NO_CACHE)
