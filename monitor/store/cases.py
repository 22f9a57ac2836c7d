"""Cases: an incident's clips from any camera, the investigator's narrative and chosen photographs.

A case only points at sealed clips; the evidence itself stays in the custody log. Every change
to a case is also a custody entry (``monitor.cases.book`` writes both).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from monitor.store.models import Base, utcnow

CASE_STATUSES = ("open", "closed")


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True, index=True, doc="the district's case number")
    title: Mapped[str] = mapped_column(String(200))
    narrative: Mapped[str] = mapped_column(Text, default="", doc="what happened, action taken, people involved")
    status: Mapped[str] = mapped_column(String(16), default="open", index=True, doc="open | closed")
    window_start: Mapped[datetime | None] = mapped_column(nullable=True, doc="incident window; unset: its clips'")
    window_end: Mapped[datetime | None] = mapped_column(nullable=True)
    created_by: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    from_alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), nullable=True,
                                                      doc="the alert the case was opened from")
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class CaseClip(Base):
    """A clip in a case. ``placed_hold``: this case set the clip's legal hold and releases it."""

    __tablename__ = "case_clips"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id"), primary_key=True, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    placed_hold: Mapped[bool] = mapped_column(Boolean, default=False)


class CasePhoto(Base):
    """A frame of a case's clip, chosen for the report, cut from the (already masked) clip file."""

    __tablename__ = "case_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id"))
    offset_seconds: Mapped[float] = mapped_column(Float, doc="seconds from the clip's first frame")
    frame_time: Mapped[datetime] = mapped_column(doc="wall-clock time of the frame")
    caption: Mapped[str] = mapped_column(Text, default="")
    path: Mapped[str] = mapped_column(Text, doc="JPEG, relative to the storage folder")
    sha256: Mapped[str] = mapped_column(String(64))
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


def open_case_holding(session: Session, clip_id: str, *, besides: str | None = None) -> str | None:
    """The number of an open case (other than ``besides``) that holds this clip, if any."""
    query = (select(Case.number).join(CaseClip, CaseClip.case_id == Case.id)
             .where(CaseClip.clip_id == clip_id, Case.status == "open").order_by(Case.created_at))
    if besides is not None:
        query = query.where(Case.id != besides)
    return session.scalars(query.limit(1)).first()
