"""Unmasking a clip's native original from the dashboard, under dual control.

An investigator requests it (case, reason, recipient, interest); custodians approve by
entering their share, each approval a signed entry; once the threshold is reached the key is
rebuilt in this process's memory and the requester downloads the original once, logged. See
``monitor.service.unmask_requests`` for what is kept, and for how long.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from evidence.custodians import ShareError
from evidence.errors import EvidenceError
from evidence.unmask import (
    Disclosure,
    custodians_of,
    log_approval,
    log_request,
    sealed_original,
    unmask_bundle,
)
from monitor.objects.bucket import version_reader
from monitor.service.deps import ActiveUser, CanExport, Db, State
from monitor.service.routers.clips import clip_or_404
from monitor.service.unmask_requests import RequestGone, UnmaskRequest

router = APIRouter(prefix="/api/unmask", tags=["unmask"])


class UnmaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case: str = Field(min_length=1, max_length=200, description="case or incident number")
    reason: str = Field(min_length=1, max_length=2000, description="why the original is needed")
    recipient: str = Field(min_length=1, max_length=200, description="who will receive the original")
    interest: str = Field(min_length=1, max_length=2000, description="the recipient's interest in it")


class ShareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    share: str = Field(min_length=20, max_length=4000, description="the custodian's share file, as text")


@router.post("/clips/{clip_id}", summary="Request the native original of a clip (custodians must approve)")
def request_unmask(clip_id: str, body: UnmaskIn, user: CanExport, db: Db, state: State) -> dict[str, Any]:
    clip = clip_or_404(db, clip_id)
    ev = state.runtime.evidence
    try:
        original = sealed_original(ev, clip.id)
    except EvidenceError as exc:
        raise HTTPException(409, str(exc)) from None
    recipient = original.get("recipient")
    if not isinstance(recipient, str):
        raise HTTPException(409, f"clip {clip.id}: its original is not encrypted; export it instead")
    custodians = _custodians(state, recipient)
    disclosure = Disclosure(case=body.case, reason=body.reason, recipient=body.recipient, interest=body.interest,
                            by=user.username)
    minutes = state.config.originals.approval_minutes
    record = log_request(ev, clip.id, disclosure, via="dashboard", approval_minutes=minutes)
    request = state.unmask.add(clip_id=clip.id, disclosure=disclosure, request_seq=record.seq, recipient=recipient,
                               custodians=custodians, threshold=state.config.originals.threshold, minutes=minutes)
    return request.status()


@router.get("/{request_id}", summary="An open unmask request: who approved, whether it is ready")
def request_status(request_id: str, _user: CanExport, state: State) -> dict[str, Any]:
    return _open(state, request_id).status()


@router.post("/{request_id}/approve", summary="Approve an unmask request by entering a custodian's share")
def approve(request_id: str, body: ShareIn, user: ActiveUser, state: State) -> dict[str, Any]:
    request = _open(state, request_id)
    try:
        share = state.unmask.check_share(request, body.share)
    except ShareError as exc:
        raise HTTPException(422, f"share refused: {exc}") from None
    log_approval(state.runtime.evidence, request.clip_id, request.approvals[-1], request.request_seq,
                 entered_by=user.username)
    return {**request.status(), "approved_as": share.custodian}


@router.get("/{request_id}/original.zip", summary="Download the approved original once (logged)",
            response_class=FileResponse)
def download_original(request_id: str, user: CanExport, state: State) -> FileResponse:
    request = _open(state, request_id)
    if request.disclosure.by != user.username:
        raise HTTPException(403, "only the investigator who requested the original may download it")
    if not request.ready:
        raise HTTPException(409, f"unmask request {request.id} awaits approvals ({len(request.approvals)} of "
                                 f"{request.threshold})")
    identity = state.unmask.take(request)
    folder = Path(tempfile.mkdtemp(prefix="hotspot-original-"))
    out = folder / f"{request.clip_id}-original.zip"
    try:
        unmask_bundle(state.runtime.evidence, request.clip_id, out, identity=identity, approvals=request.approvals,
                      disclosure=request.disclosure, request_seq=request.request_seq,
                      objects=version_reader(state.config.storage.objects))
    except EvidenceError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise HTTPException(409, f"clip {request.clip_id}: the original cannot be disclosed: {exc}") from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        del identity
    return FileResponse(out, media_type="application/zip", filename=out.name,
                        headers={"Cache-Control": "private, no-store"},
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))


def _open(state: State, request_id: str) -> UnmaskRequest:
    try:
        return state.unmask.get(request_id)
    except RequestGone as exc:
        raise HTTPException(410, str(exc)) from None


def _custodians(state: State, recipient: str) -> tuple[str, ...]:
    logged = custodians_of(state.runtime.evidence, recipient)
    if logged is not None:
        return logged
    originals = state.config.originals
    return tuple(originals.custodians) if originals.recipient == recipient else ()
