"""A clip's video for the browser: the local file, or, once only the object store holds it,
the stored version the custody log names, streamed with HTTP range requests (a ``<video>``
seeks by asking for ranges; nothing is downloaded whole)."""

from __future__ import annotations

import re

from fastapi import HTTPException, Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from monitor.objects.bucket import Bucket, ObjectStoreError
from monitor.objects.uploads import stored_entry
from monitor.site.runtime import Runtime
from monitor.store.models import Clip

HEADERS = {"Cache-Control": "private, no-store", "Accept-Ranges": "bytes"}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def clip_video(runtime: Runtime, clip: Clip, request: Request) -> Response:
    """The clip's bytes as ``video/mp4``; 410 when neither the folder nor the store has it."""
    try:
        path = runtime.paths.absolute(clip.path)
    except ValueError:
        raise HTTPException(409, f"clip {clip.id}: its path is outside the storage folder") from None
    if path.is_file():
        return FileResponse(path, media_type="video/mp4", headers={"Cache-Control": "private, no-store"})
    objects = runtime.config.storage.objects
    stored = stored_entry(runtime, clip.id) if objects is not None else None
    if objects is None or stored is None:
        raise HTTPException(410, f"clip {clip.id}: the file is missing from storage")
    key, version = str(stored["key"]), str(stored["version_id"])
    try:
        bucket = Bucket(objects)
        size = bucket.size(key, version)
    except ObjectStoreError as exc:
        raise HTTPException(503, f"clip {clip.id} is in the object store, which cannot be read: {exc}") from exc
    wanted = _byte_range(request.headers.get("range"), size)
    if wanted is None:
        return StreamingResponse(bucket.stream(key, version), media_type="video/mp4",
                                 headers={**HEADERS, "Content-Length": str(size)})
    first, last = wanted
    return StreamingResponse(bucket.stream(key, version, byte_range=wanted), status_code=206,
                             media_type="video/mp4",
                             headers={**HEADERS, "Content-Length": str(last - first + 1),
                                      "Content-Range": f"bytes {first}-{last}/{size}"})


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """One ``bytes=`` range as (first, last); None for the whole file; 416 when unsatisfiable."""
    match = _RANGE.match(header.strip()) if header else None
    if match is None:
        return None
    start, end = match.groups()
    if start:
        first, last = int(start), min(int(end), size - 1) if end else size - 1
    elif end:
        first, last = max(0, size - int(end)), size - 1
    else:
        return None
    if first > last or first >= size:
        raise HTTPException(416, f"range {header} is outside the clip's {size} bytes",
                            headers={"Content-Range": f"bytes */{size}"})
    return first, last
