"""SQLAlchemy 2.0 models for what the pipeline produces: alerts and clips.

Times are stored timezone-aware in UTC. The custody log is not here: it belongs to
``evidence`` and shares the same database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, DateTime, Dialect, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    SQLite has no time zone type and hands back naive values; comparing those with aware
    ones fails at run time, so every datetime column goes through here.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store timezone-aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime, dict[str, Any]: JSON, list[str]: JSON}


class Clip(Base):
    """One MP4 file: an event, or one part of an event longer than ``max_clip``."""

    __tablename__ = "clips"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), index=True)
    part: Mapped[int] = mapped_column(Integer, default=1)
    camera_id: Mapped[str] = mapped_column(String(64), index=True)
    zones: Mapped[list[str]] = mapped_column(JSON, default=list)
    start: Mapped[datetime] = mapped_column(index=True)
    end: Mapped[datetime | None] = mapped_column(index=True, nullable=True)
    frame_count: Mapped[int] = mapped_column(Integer, default=0)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    fps: Mapped[float] = mapped_column(Float)
    config_hash: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text, doc="relative to the storage folder")
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(
        String(16), default="recording", index=True,
        doc="recording | sealed | quarantined | deleting | deleted | empty (nothing was captured)",
    )
    incomplete_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(Base):
    """Something staff must see: motion in a hotspot, or a camera or storage problem."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(
        String(24), index=True,
        doc="motion | tamper | camera-offline | camera-online | camera-moved | storage | database",
    )
    reason: Mapped[str | None] = mapped_column(
        String(24), nullable=True, doc="tamper: covered | moved | defocused | dark"
    )
    camera_id: Mapped[str] = mapped_column(String(64), index=True)
    time: Mapped[datetime] = mapped_column(index=True)
    zones: Mapped[list[str]] = mapped_column(JSON, default=list)
    zone_scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, doc="zone id -> fraction moved")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    snapshot_path: Mapped[str | None] = mapped_column(Text, nullable=True, doc="masked JPEG, relative")
    event_id: Mapped[str | None] = mapped_column(String(40), index=True, nullable=True)
    clip_id: Mapped[str | None] = mapped_column(ForeignKey("clips.id"), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ack_note: Mapped[str | None] = mapped_column(Text, nullable=True)
