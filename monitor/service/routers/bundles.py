"""Verify an uploaded evidence bundle. The upload is hostile until proven otherwise.

The body is streamed to a private temporary file with a hard size cap (checked before and
while reading), and ``evidence.verify`` does the rest with its own zip-bomb and path rules.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from evidence.actions import Action
from evidence.errors import EvidenceError
from evidence.verify import verify_bundle
from monitor.service.deps import CanVerify, State

router = APIRouter(prefix="/api/bundles", tags=["bundles"])
ZIP_BODY = {"requestBody": {"required": True, "content": {"application/octet-stream": {"schema": {
    "type": "string", "format": "binary"}}}}}


async def _receive(request: Request, target: Path, limit: int) -> int:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"bundle is {int(declared)} bytes; the limit is {limit} bytes")
    size = 0
    with target.open("wb") as handle:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, f"bundle exceeds the limit of {limit} bytes")
            handle.write(chunk)
    if size == 0:
        raise HTTPException(422, "empty upload: send the bundle's zip bytes as the request body")
    return size


@router.post("/verify", summary="Verify an evidence bundle (zip as the request body)", openapi_extra=ZIP_BODY)
async def verify(request: Request, user: CanVerify, state: State) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="upload-"))
    try:
        bundle = folder / "bundle.zip"
        size = await _receive(request, bundle, state.settings.max_bundle_bytes)
        try:
            result = await run_in_threadpool(verify_bundle, bundle)
        except EvidenceError as exc:
            outcome: dict[str, Any] = {"ok": False, "error": str(exc), "size_bytes": size}
        else:
            site_keys = set(state.runtime.evidence.keys.key_ids)
            outcome = {"ok": True, "size_bytes": size, "result": result.to_json(),
                       "signed_by_this_site": set(result.key_ids) <= site_keys}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if outcome.get("error"):  # the server's temporary folder means nothing to the person, and is not theirs to know
        outcome["error"] = outcome["error"].replace(str(bundle), "the uploaded bundle")
    # The bundle may come from another site: its clip id goes in the details, not the clip chain.
    details = {"bundle_bytes": size, "ok": outcome["ok"], "error": outcome.get("error"),
               "bundle_clip_id": (outcome.get("result") or {}).get("clip_id")}
    await run_in_threadpool(
        lambda: state.runtime.evidence.append(Action.VERIFIED, actor=user.username, clip_id=None,
                                              object_sha256=None, details=details)
    )
    return outcome
