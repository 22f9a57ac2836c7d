"""What makes the alert board an installable app: the manifest, the service worker, the icon.

Public on purpose, like the static files: they carry no data, and a phone fetches the
manifest and the worker without the session cookie's help in some browsers.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).resolve().parent.parent / "static"


@router.get("/manifest.webmanifest")
def manifest() -> FileResponse:
    return FileResponse(STATIC / "manifest.webmanifest", media_type="application/manifest+json",
                        headers={"Cache-Control": "no-cache"})


@router.get("/sw.js")
def service_worker() -> FileResponse:
    """Served from the root so its scope covers the whole board (``/alerts``, ``/clips/...``)."""
    return FileResponse(STATIC / "sw.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return FileResponse(STATIC / "icons" / "icon-32.png", media_type="image/png",
                        headers={"Cache-Control": "public, max-age=86400"})
