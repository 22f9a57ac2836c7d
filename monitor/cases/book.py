"""Open, change and close cases. Each change is written to the database and the custody log.

The database rows are for the dashboard; the custody log is the record: every change is a signed
entry (``case_*``), and the clips of an open case are on legal hold (``hold_set`` naming the case)
until it closes.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence.actions import Action
from evidence.clip_source import FileMissing, clip_source, copy_verified
from evidence.errors import EvidenceError, IntegrityError
from evidence.hashing import sha256_bytes
from monitor.cases.photos import frame_at
from monitor.objects.bucket import version_reader
from monitor.objects.uploads import set_object_hold
from monitor.site.runtime import Runtime
from monitor.store.cases import Case, CaseClip, CasePhoto
from monitor.store.holds import change_hold
from monitor.store.models import Alert, Clip

MAX_NARRATIVE = 20_000
CASES_DIR = "cases"


class CaseError(ValueError):
    """A request the case cannot take; ``status`` is the HTTP status it maps to."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CaseFields:
    number: str
    title: str
    narrative: str = ""
    window_start: datetime | None = None
    window_end: datetime | None = None


class CaseBook:
    """The site's cases, for one database session and one actor at a time."""

    def __init__(self, runtime: Runtime, session: Session) -> None:
        self.runtime = runtime
        self.session = session

    def get(self, case_ref: str) -> Case:
        """A case by id or by number."""
        case = self.session.get(Case, case_ref) or self.session.scalars(
            select(Case).where(Case.number == case_ref)).first()
        if case is None:
            raise CaseError(f"no case {case_ref!r}", 404)
        return case

    def all_cases(self, *, created_by: str | None = None, status: str | None = None) -> list[Case]:
        query = select(Case).order_by(Case.created_at.desc())
        if created_by is not None:
            query = query.where(Case.created_by == created_by)
        if status is not None:
            query = query.where(Case.status == status)
        return list(self.session.scalars(query))

    def clips(self, case: Case) -> list[tuple[CaseClip, Clip]]:
        """The case's clips in time order."""
        rows = self.session.execute(select(CaseClip, Clip).join(Clip, Clip.id == CaseClip.clip_id)
                                    .where(CaseClip.case_id == case.id).order_by(Clip.start))
        return [(link, clip) for link, clip in rows]

    def photos(self, case: Case) -> list[CasePhoto]:
        return list(self.session.scalars(select(CasePhoto).where(CasePhoto.case_id == case.id)
                                         .order_by(CasePhoto.frame_time, CasePhoto.id)))

    def window(self, case: Case) -> tuple[datetime | None, datetime | None]:
        """The incident window as set, else the span of its clips."""
        clips = [clip for _link, clip in self.clips(case)]
        start = case.window_start or min((c.start for c in clips), default=None)
        end = case.window_end or max((c.end or c.start for c in clips), default=None)
        return start, end

    def create(self, fields: CaseFields, *, by: str, from_alert: Alert | None = None) -> Case:
        _check_fields(fields)
        if self.session.scalars(select(Case.id).where(Case.number == fields.number.strip())).first():
            raise CaseError(f"case number {fields.number!r} is already taken")
        case = Case(id=uuid.uuid4().hex, number=fields.number.strip(), title=fields.title.strip(),
                    narrative=fields.narrative, window_start=fields.window_start, window_end=fields.window_end,
                    created_by=by, status="open", from_alert_id=from_alert.id if from_alert else None)
        self.session.add(case)
        self.session.commit()
        self._log(Action.CASE_OPENED, case, by, title=case.title, narrative=case.narrative,
                  window=_window_text(case), from_alert=case.from_alert_id)
        if from_alert is not None and from_alert.clip_id:
            self.add_clip(case, from_alert.clip_id, note=f"opened from alert {from_alert.id}", by=by)
        return case

    def change(self, case: Case, fields: CaseFields, *, by: str) -> Case:
        """New title, narrative or window; the entry holds the values after the change."""
        self._open(case)
        _check_fields(fields)
        case.title, case.narrative = fields.title.strip(), fields.narrative
        case.window_start, case.window_end = fields.window_start, fields.window_end
        self.session.commit()
        self._log(Action.CASE_CHANGED, case, by, title=case.title, narrative=case.narrative,
                  window=_window_text(case))
        return case

    def add_clip(self, case: Case, clip_id: str, *, note: str = "", by: str) -> CaseClip:
        self._open(case)
        clip = self.session.get(Clip, clip_id)
        if clip is None or clip.status == "deleted":
            raise CaseError(f"no clip {clip_id!r}", 404)
        if clip.status != "sealed":
            raise CaseError(f"clip {clip_id} is {clip.status}; only sealed clips go into a case")
        if self.session.get(CaseClip, (case.id, clip_id)) is not None:
            raise CaseError(f"clip {clip_id} is already in case {case.number}")
        link = CaseClip(case_id=case.id, clip_id=clip_id, note=note, added_by=by, placed_hold=False)
        self.session.add(link)
        self.session.commit()
        self._log(Action.CASE_CLIP_ADDED, case, by, clip=clip, note=note)
        if not clip.legal_hold:
            link.placed_hold = change_hold(self.session, self.runtime.evidence, clip, hold=True, actor=by,
                                           details=self._hold_details(case, "open"))
            self.session.commit()
            if link.placed_hold:
                set_object_hold(self.runtime, clip.id, on=True)  # the store's copy is held too
        return link

    def remove_clip(self, case: Case, clip_id: str, *, by: str) -> None:
        self._open(case)
        link = self.session.get(CaseClip, (case.id, clip_id))
        if link is None:
            raise CaseError(f"clip {clip_id} is not in case {case.number}", 404)
        for photo in self.session.scalars(select(CasePhoto).where(CasePhoto.case_id == case.id,
                                                                  CasePhoto.clip_id == clip_id)):
            self.session.delete(photo)
        clip = self.session.get(Clip, clip_id)
        self.session.delete(link)
        self.session.commit()
        assert clip is not None
        self._log(Action.CASE_CLIP_REMOVED, case, by, clip=clip)
        if link.placed_hold:
            self._hand_over_hold(case, clip, by)

    def add_photo(self, case: Case, clip_id: str, *, offset_seconds: float, caption: str = "",
                  by: str) -> CasePhoto:
        """Cut the frame at ``offset_seconds`` from the clip's sealed file, after checking its hash."""
        self._open(case)
        link = self.session.get(CaseClip, (case.id, clip_id))
        clip = self.session.get(Clip, clip_id)
        if link is None or clip is None:
            raise CaseError(f"clip {clip_id} is not in case {case.number}; add it first", 404)
        data = self._sealed_bytes(clip)
        try:
            frame = frame_at(data, offset_seconds, name=f"clip {clip.id}")
        except ValueError as exc:
            raise CaseError(str(exc), 422) from exc
        photo_id = uuid.uuid4().hex
        target = self.runtime.paths.root / CASES_DIR / case.id / f"photo-{photo_id}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(frame.jpeg)
        photo = CasePhoto(case_id=case.id, clip_id=clip.id, offset_seconds=frame.offset_seconds,
                          frame_time=clip.start + timedelta(seconds=frame.offset_seconds), caption=caption,
                          path=self.runtime.paths.relative(target), sha256=sha256_bytes(frame.jpeg), added_by=by)
        self.session.add(photo)
        self.session.commit()
        self._log(Action.CASE_PHOTO_ADDED, case, by, clip=clip, photo_sha256=photo.sha256,
                  offset_seconds=photo.offset_seconds, frame_time=photo.frame_time.isoformat(), caption=caption)
        return photo

    def _sealed_bytes(self, clip: Clip) -> io.BytesIO:
        """The clip's sealed bytes, from the local copy or, once only the object store holds
        it, from the stored version; refused unless they match the seal."""
        seal = self.runtime.evidence.sealed(clip.id)
        data = io.BytesIO()
        try:
            source = clip_source(self.runtime.evidence, seal, version_reader(self.runtime.config.storage.objects))
            copy_verified(source, seal, data.write)
        except IntegrityError:
            raise CaseError(f"clip {clip.id}: the file no longer matches its seal; no photograph is taken from it") from None
        except FileMissing as exc:
            raise CaseError(str(exc), 410) from None
        except EvidenceError as exc:
            raise CaseError(f"clip {clip.id}: {exc}", 503) from None
        data.seek(0)
        return data

    def close(self, case: Case, *, by: str) -> Case:
        """Close the case and release the holds it placed (a clip another open case holds stays held)."""
        self._open(case)
        case.status, case.closed_at, case.closed_by = "closed", datetime.now(UTC), by
        self.session.commit()
        self._log(Action.CASE_CLOSED, case, by)
        for link, clip in self.clips(case):
            if link.placed_hold:
                link.placed_hold = False
                self.session.commit()
                self._hand_over_hold(case, clip, by)
        return case

    def log(self, action: Action, case: Case, by: str, *, object_sha256: str | None = None,
            **details: Any) -> None:
        """A case-level custody entry (report made, case exported)."""
        self._log(action, case, by, object_sha256=object_sha256, **details)

    def _hand_over_hold(self, case: Case, clip: Clip, by: str) -> None:
        """Release this case's hold, unless another open case has the clip: that case then owns it."""
        other = self.session.scalars(
            select(CaseClip).join(Case, Case.id == CaseClip.case_id)
            .where(CaseClip.clip_id == clip.id, Case.status == "open", Case.id != case.id)
            .order_by(Case.created_at).limit(1)).first()
        if other is not None:
            other.placed_hold = True
            self.session.commit()
            return
        if change_hold(self.session, self.runtime.evidence, clip, hold=False, actor=by,
                       details=self._hold_details(case, "closed" if case.status == "closed" else "clip removed")):
            set_object_hold(self.runtime, clip.id, on=False)

    @staticmethod
    def _hold_details(case: Case, why: str) -> dict[str, Any]:
        return {"reason": f"case {case.number} {why}", "case": case.number, "case_id": case.id}

    def _open(self, case: Case) -> None:
        if case.status != "open":
            raise CaseError(f"case {case.number} is {case.status}")

    def _log(self, action: Action, case: Case, by: str, *, clip: Clip | None = None,
             object_sha256: str | None = None, **details: Any) -> None:
        body = {"case_id": case.id, "case": case.number, **details}
        self.runtime.evidence.append(action, actor=by, clip_id=clip.id if clip else None,
                                     object_sha256=clip.sha256 if clip else object_sha256, details=body)


def _check_fields(fields: CaseFields) -> None:
    if not fields.number.strip() or len(fields.number) > 64:
        raise CaseError("a case number is 1-64 characters", 422)
    if not fields.title.strip() or len(fields.title) > 200:
        raise CaseError("a case title is 1-200 characters", 422)
    if len(fields.narrative) > MAX_NARRATIVE:
        raise CaseError(f"the narrative is longer than {MAX_NARRATIVE} characters", 422)
    if fields.window_start and fields.window_end and fields.window_end < fields.window_start:
        raise CaseError("the incident window ends before it starts", 422)


def _window_text(case: Case) -> list[str | None]:
    return [case.window_start.isoformat() if case.window_start else None,
            case.window_end.isoformat() if case.window_end else None]
