"""Cases: gather clips from any camera, write the narrative, choose photographs, report, export.

Investigators and admins work on every case; security staff open a case from an alert and see
the cases they opened. Every change is a custody entry (``monitor.cases.book``).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from evidence.errors import EvidenceError
from monitor.cases.book import CaseBook, CaseError, CaseFields
from monitor.cases.bundle import write_case_bundle
from monitor.cases.report import make_report
from monitor.service.deps import CanManageCases, CanOpenCases, Db, Principal, State
from monitor.service.params import RowId
from monitor.service.permissions import Permission, allowed
from monitor.service.routers.clips import clip_json
from monitor.service.state import ServiceState
from monitor.service.times import iso, utc
from monitor.store.cases import Case, CasePhoto
from monitor.store.models import Alert

router = APIRouter(prefix="/api/cases", tags=["cases"])


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str = Field(min_length=1, max_length=64, description="the district's case number")
    title: str = Field(min_length=1, max_length=200)
    narrative: str = Field(default="", max_length=20_000, description="what happened, action taken, people involved")
    window_start: datetime | None = Field(default=None, description="incident window; unset: its clips' span")
    window_end: datetime | None = None


class CaseChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, min_length=1, max_length=200)
    narrative: str | None = Field(default=None, max_length=20_000)
    window_start: datetime | None = None
    window_end: datetime | None = None


class CaseClipIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    clip_id: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=2000)


class PhotoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    clip_id: str = Field(min_length=1, max_length=64)
    offset_seconds: float = Field(ge=0, le=86_400, description="seconds from the clip's first frame")
    caption: str = Field(default="", max_length=500)


class CaseExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000, description="why the case is disclosed")
    recipient: str = Field(min_length=1, max_length=2000, description="who receives it")
    interest: str = Field(min_length=1, max_length=2000, description="the recipient's legitimate interest")


def case_json(book: CaseBook, case: Case, *, full: bool = True) -> dict[str, Any]:
    start, end = book.window(case)
    data: dict[str, Any] = {
        "id": case.id, "number": case.number, "title": case.title, "status": case.status,
        "narrative": case.narrative, "created_by": case.created_by, "created_at": iso(case.created_at),
        "closed_at": iso(case.closed_at), "closed_by": case.closed_by, "from_alert_id": case.from_alert_id,
        "window_start": iso(start), "window_end": iso(end),
        "window_set": case.window_start is not None or case.window_end is not None,
    }
    if full:
        data["clips"] = [{**clip_json(clip, book.runtime.config), "note": link.note, "added_by": link.added_by,
                          "added_at": iso(link.added_at), "hold_by_case": link.placed_hold}
                         for link, clip in book.clips(case)]
        data["photos"] = [photo_json(p) for p in book.photos(case)]
    return data


def photo_json(photo: CasePhoto) -> dict[str, Any]:
    return {"id": photo.id, "clip_id": photo.clip_id, "offset_seconds": photo.offset_seconds,
            "frame_time": iso(photo.frame_time), "caption": photo.caption, "sha256": photo.sha256,
            "added_by": photo.added_by, "url": f"/api/cases/{photo.case_id}/photos/{photo.id}.jpg"}


def visible_case(book: CaseBook, case_ref: str, user: Principal) -> Case:
    """The case, if this user may see it: every case with cases.manage, else only their own."""
    try:
        case = book.get(case_ref)
    except CaseError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    if not allowed(user.role, Permission.CASES_MANAGE) and case.created_by != user.username:
        raise HTTPException(404, f"no case {case_ref!r}")  # not 403: do not confirm that it exists
    return case


def _book(state: ServiceState, db: Db) -> CaseBook:
    return CaseBook(state.runtime, db)


def _fields(body: CaseIn) -> CaseFields:
    return CaseFields(number=body.number, title=body.title, narrative=body.narrative,
                      window_start=utc(body.window_start) if body.window_start else None,
                      window_end=utc(body.window_end) if body.window_end else None)


def _do(action: Any) -> Any:
    try:
        return action()
    except CaseError as exc:
        raise HTTPException(exc.status, str(exc)) from None


@router.get("", summary="Cases, newest first (security staff: the cases they opened)")
def list_cases(user: CanOpenCases, db: Db, state: State) -> list[dict[str, Any]]:
    book = _book(state, db)
    mine = None if allowed(user.role, Permission.CASES_MANAGE) else user.username
    return [case_json(book, case, full=False) for case in book.all_cases(created_by=mine)]


@router.post("", summary="Open a case", status_code=201)
def create_case(body: CaseIn, user: CanManageCases, db: Db, state: State) -> dict[str, Any]:
    book = _book(state, db)
    case = _do(lambda: book.create(_fields(body), by=user.username))
    return case_json(book, case)


@router.post("/from-alert/{alert_id}", summary="Open a case from this alert (its clip joins the case)",
             status_code=201)
def case_from_alert(alert_id: RowId, body: CaseIn, user: CanOpenCases, db: Db, state: State) -> dict[str, Any]:
    alert = db.get(Alert, alert_id)
    if alert is None:
        raise HTTPException(404, f"no alert {alert_id}")
    book = _book(state, db)
    case = _do(lambda: book.create(_fields(body), by=user.username, from_alert=alert))
    return case_json(book, case)


@router.get("/{case_ref}", summary="A case with its clips, notes and photographs")
def get_case(case_ref: str, user: CanOpenCases, db: Db, state: State) -> dict[str, Any]:
    book = _book(state, db)
    return case_json(book, visible_case(book, case_ref, user))


@router.patch("/{case_ref}", summary="Change the title, narrative or incident window")
def change_case(case_ref: str, body: CaseChangeIn, user: CanManageCases, db: Db, state: State) -> dict[str, Any]:
    book = _book(state, db)
    case = visible_case(book, case_ref, user)
    given = body.model_dump(exclude_unset=True)
    fields = CaseFields(
        number=case.number, title=given.get("title") or case.title,
        narrative=given["narrative"] if given.get("narrative") is not None else case.narrative,
        window_start=utc(body.window_start) if body.window_start else (None if "window_start" in given else case.window_start),
        window_end=utc(body.window_end) if body.window_end else (None if "window_end" in given else case.window_end),
    )
    _do(lambda: book.change(case, fields, by=user.username))
    return case_json(book, case)


@router.post("/{case_ref}/clips", summary="Add a clip with a note (it is held while the case is open)")
def add_clip(case_ref: str, body: CaseClipIn, user: CanManageCases, db: Db, state: State) -> dict[str, Any]:
    book = _book(state, db)
    case = visible_case(book, case_ref, user)
    _do(lambda: book.add_clip(case, body.clip_id, note=body.note, by=user.username))
    return case_json(book, case)


@router.delete("/{case_ref}/clips/{clip_id}", summary="Take a clip out of the case")
def remove_clip(case_ref: str, clip_id: str, user: CanManageCases, db: Db, state: State) -> dict[str, Any]:
    book = _book(state, db)
    case = visible_case(book, case_ref, user)
    _do(lambda: book.remove_clip(case, clip_id, by=user.username))
    return case_json(book, case)


@router.post("/{case_ref}/photos", summary="Choose a frame of a case clip as a report photograph")
def add_photo(case_ref: str, body: PhotoIn, user: CanManageCases, db: Db, state: State) -> dict[str, Any]:
    book = _book(state, db)
    case = visible_case(book, case_ref, user)
    photo = _do(lambda: book.add_photo(case, body.clip_id, offset_seconds=body.offset_seconds,
                                       caption=body.caption, by=user.username))
    return photo_json(photo)


@router.get("/{case_ref}/photos/{photo_id}.jpg", summary="A case photograph (a masked clip frame)",
            response_class=FileResponse)
def photo_file(case_ref: str, photo_id: RowId, user: CanOpenCases, db: Db, state: State) -> FileResponse:
    book = _book(state, db)
    case = visible_case(book, case_ref, user)
    photo = db.get(CasePhoto, photo_id)
    if photo is None or photo.case_id != case.id:
        raise HTTPException(404, f"no photograph {photo_id} in case {case.number}")
    return FileResponse(state.runtime.paths.absolute(photo.path), media_type="image/jpeg",
                        headers={"Cache-Control": "private, no-store"})


@router.post("/{case_ref}/close", summary="Close the case; the holds it placed are released")
def close_case(case_ref: str, user: CanManageCases, db: Db, state: State) -> dict[str, Any]:
    book = _book(state, db)
    case = visible_case(book, case_ref, user)
    _do(lambda: book.close(case, by=user.username))
    return case_json(book, case)


@router.post("/{case_ref}/report", summary="Make the incident report (PDF); its SHA-256 is logged",
             response_class=FileResponse)
def report(case_ref: str, user: CanManageCases, db: Db, state: State) -> FileResponse:
    book = _book(state, db)
    case = visible_case(book, case_ref, user)
    digest: list[str] = []

    def make(folder: Path) -> Path:
        made = make_report(book, case, folder / "report.pdf", by=user.username)
        digest.append(made.sha256)
        return made.path

    return _scratch_file("hotspot-report-", make, f"report-{_slug(case.number)}.pdf", "application/pdf",
                         lambda: {"X-Report-SHA256": digest[0]})


@router.post("/{case_ref}/export", summary="Export the case bundle: clips, report, custody, VERIFY.md",
             response_class=FileResponse)
def export_case(case_ref: str, body: CaseExportIn, user: CanManageCases, db: Db, state: State) -> FileResponse:
    book = _book(state, db)
    case = visible_case(book, case_ref, user)
    name = f"case-{_slug(case.number)}.zip"

    def make(folder: Path) -> Path:
        try:
            return write_case_bundle(book, case, folder / name, by=user.username, reason=body.reason,
                                     recipient=body.recipient, interest=body.interest)
        except EvidenceError as exc:
            raise HTTPException(409, f"case {case.number} cannot be exported: {exc}") from None

    return _scratch_file("hotspot-case-", make, name, "application/zip", dict)


def _scratch_file(prefix: str, make: Callable[[Path], Path], filename: str, media_type: str,
                  headers: Callable[[], dict[str, str]]) -> FileResponse:
    """Build a file in a scratch folder that is removed once it is sent (or when building fails)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        path = make(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(path, media_type=media_type, filename=filename, headers=headers(),
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in text).strip("-.")[:40] or "case"
