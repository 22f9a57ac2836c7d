"""Verify an uploaded evidence bundle. The upload is hostile until proven otherwise.

The body is streamed to a private temporary file with a hard size cap (checked before and
while reading), and ``evidence.verify`` does the rest with its own zip-bomb and path rules.
The check is pinned to this site's own keys (as the custody log links them): a bundle signed
by any other key is not verified here, however intact it is; timestamp tokens are checked
against the authorities' roots the site's configuration names. A case bundle (several clips and
the incident report) is verified as a whole; when it fails, each clip and the report is also
compared with the hash its manifest lists, so the page can say which one differs.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from evidence.actions import Action
from evidence.bundle_format import BUNDLE_TYPE, CASE_BUNDLE_TYPE
from evidence.case_bundle import bundle_kind, claimed_members, verify_case_bundle
from evidence.errors import EvidenceError, TrustError
from evidence.store import EvidenceStore
from evidence.verify import verify_bundle
from monitor.service.deps import CanVerify, State
from monitor.site.evidence_options import timestamp_roots

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


def _without_paths(message: str, bundle: Path) -> str:
    """The verifier names the file it read: the caller sent an upload, not our temp folder."""
    return message.replace(str(bundle), "uploaded bundle").replace(str(bundle.parent), "upload")


def site_key_ids(evidence: EvidenceStore) -> list[str]:
    """This site's keys, oldest first: the trust anchors of the Verify page."""
    chain = evidence.key_chain()
    return list(chain.keys) if chain is not None else [evidence.keys.key_id]


@router.post("/verify", summary="Verify an evidence bundle (zip as the request body)", openapi_extra=ZIP_BODY)
async def verify(request: Request, user: CanVerify, state: State) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="upload-"))
    try:
        bundle = folder / "bundle.zip"
        size = await _receive(request, bundle, state.settings.max_bundle_bytes)
        site_keys = await run_in_threadpool(site_key_ids, state.runtime.evidence)
        kind = await run_in_threadpool(bundle_kind, bundle)
        is_case = kind == CASE_BUNDLE_TYPE
        outcome: dict[str, Any] = {"size_bytes": size, "site_keys": site_keys,
                                   "kind": CASE_BUNDLE_TYPE if is_case else BUNDLE_TYPE}
        verifier = verify_case_bundle if is_case else verify_bundle
        roots = await run_in_threadpool(timestamp_roots, state.runtime.config)
        try:
            result = await run_in_threadpool(lambda: verifier(bundle, trusted_keys=site_keys, timestamp_roots=roots))
        except TrustError as exc:
            outcome.update(ok=False, trusted=False, signed_by_this_site=False,
                           error=f"not signed by this site: {_without_paths(str(exc), bundle)}")
        except EvidenceError as exc:
            outcome.update(ok=False, trusted=None, signed_by_this_site=False,
                           error=_without_paths(str(exc), bundle))
        else:
            outcome.update(ok=True, trusted=True, signed_by_this_site=True, result=result.to_json())
        if is_case and not outcome["ok"]:
            outcome["claimed"] = await run_in_threadpool(claimed_members, bundle)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    # The bundle may come from another site: its clip id goes in the details, not the clip chain.
    verified = outcome.get("result") or {}
    details = {"bundle_bytes": size, "ok": outcome["ok"], "trusted": outcome["trusted"], "error": outcome.get("error"),
               "bundle_clip_id": verified.get("clip_id"),
               **({"bundle_case": verified.get("case")} if outcome["kind"] == CASE_BUNDLE_TYPE else {})}
    await run_in_threadpool(
        lambda: state.runtime.evidence.append(Action.VERIFIED, actor=user.username, clip_id=None,
                                              object_sha256=None, details=details)
    )
    return outcome
