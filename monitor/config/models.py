"""Pydantic models for ``cameras.yaml``: one model per section, one root model.

Field descriptions double as the "what is allowed" part of error messages and as the
reference for the zone and schedule editor.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.config.geometry import polygon_problem

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Identifier = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$",
        description="lower-case letters, digits, '-' and '_', starting with a letter or digit",
    ),
]
def _check_polygon(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    problem = polygon_problem(points)
    if problem:
        raise ValueError(problem)
    return points


Polygon = Annotated[
    list[tuple[float, float]],
    AfterValidator(_check_polygon),
    Field(description="at least 3 [x, y] points, fractions of frame width and height in [0, 1]"),
]
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def minutes_of(clock: str) -> int:
    """Minutes since midnight of an ``HH:MM`` string (``24:00`` is 1440)."""
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


class Site(_Section):
    name: str = Field(description="the site's name, shown on the dashboard and in export manifests")
    timezone: str = Field(
        default="UTC", description="IANA time zone name used to evaluate schedules, e.g. America/Chicago"
    )
    holidays: list[date] = Field(
        default_factory=list, description="dates (YYYY-MM-DD) on which schedules follow on_holidays"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        # a folder of the tz database ("America") is not a zone, and ZoneInfo raises OSError on it
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like America/Chicago") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Storage(_Section):
    path: str = Field(default="data", description="folder for clips, snapshots, keys and checkpoints")
    database: str = Field(
        default="sqlite:///data/hotspot.db",
        description="SQLAlchemy database URL: SQLite, or PostgreSQL (postgresql://user:password@host/db, "
        "needs the 'postgres' extra). While it is locked or unreachable, workers keep recording; "
        "alerts and seals wait in memory and are written, in order, once it answers again",
    )
    busy_timeout: float = Field(
        default=30.0, gt=0, le=600,
        description="seconds a write waits for another process's SQLite lock before it is queued "
        "and retried later (the camera's status then says the database is unavailable)",
    )
    retention_days: int = Field(
        default=30, ge=1, le=3650, description="clips older than this are deleted unless on legal hold"
    )
    min_free_mb: int = Field(
        default=1024, ge=0, description="free-space floor under the storage path, in MiB"
    )
    checkpoint_every: int = Field(
        default=50, ge=1, le=100000, description="write a signed custody checkpoint every N entries"
    )
    witness_path: str | None = Field(
        default=None, description="optional second folder that receives a copy of every checkpoint"
    )


class Window(_Section):
    days: list[Day] = Field(min_length=1, description="days the window starts on: mon..sun")
    start: str = Field(alias="from", description="start time HH:MM (local site time)")
    end: str = Field(alias="to", description="end time HH:MM or 24:00; earlier than 'from' crosses midnight")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock(cls, value: object) -> str:
        if isinstance(value, int):  # YAML 1.1 reads 15:30 unquoted as sexagesimal minutes
            value = f"{value // 60:02d}:{value % 60:02d}"
        if isinstance(value, time):
            value = value.strftime("%H:%M")
        if not isinstance(value, str) or not _CLOCK.match(value):
            raise ValueError(f"{value!r} is not a time; use HH:MM from 00:00 to 24:00")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Window:
        if minutes_of(self.start) == minutes_of(self.end) or self.start == "24:00":
            raise ValueError(f"window {self.start}-{self.end} is empty; use 00:00-24:00 for a whole day")
        return self


class Schedule(_Section):
    windows: list[Window] = Field(min_length=1, description="when the schedule is active")
    on_holidays: Literal["all-day", "inactive", "as-scheduled"] = Field(
        default="as-scheduled", description="all-day | inactive | as-scheduled on the site's holidays"
    )


class Zone(_Section):
    id: Identifier
    name: str | None = Field(default=None, description="label shown on the dashboard")
    polygon: Polygon
    schedule: str | None = Field(default=None, description="name of a schedule; omitted = always active")
    min_area: float = Field(
        default=0.02, gt=0.0, le=1.0, description="fraction of the zone that must change to count as motion"
    )


class PrivacyZone(_Section):
    id: str | None = Field(default=None, description="optional label")
    polygon: Polygon


class PrivacySettings(_Section):
    mask: Literal["outside-zones", "privacy-zones-only"] = Field(
        default="outside-zones",
        description="outside-zones (mask all but the hotspots) or privacy-zones-only",
    )
    style: Literal["fill", "pixelate"] = Field(
        default="fill", description="fill (irreversible, default) or pixelate"
    )
    zones: list[PrivacyZone] = Field(
        default_factory=list, description="regions always masked, even inside a hotspot"
    )


class RecordingSettings(_Section):
    pre_roll: float = Field(default=5.0, ge=0.0, le=60.0, description="seconds kept before motion")
    post_roll: float = Field(default=10.0, ge=0.0, le=600.0, description="seconds recorded after motion ends")
    max_clip: float = Field(default=300.0, ge=5.0, le=3600.0, description="longest clip in seconds; longer events split")
    encoder_preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"] = Field(
        default="veryfast",
        description="libx264 preset: faster ones cost less CPU per recorded frame and make larger files",
    )


class DetectionSettings(_Section):
    analysis_fps: float = Field(default=5.0, gt=0.0, le=60.0, description="frames analysed per second")
    analysis_width: int = Field(default=320, ge=64, le=1920, description="width of the analysis frame, pixels")
    threshold: int = Field(default=25, ge=1, le=255, description="luma difference that counts as change")
    min_frames: int = Field(default=2, ge=1, le=100, description="consecutive analysed frames of motion needed")


class Camera(_Section):
    id: Identifier
    name: str | None = Field(default=None, description="label shown on the dashboard")
    source: str = Field(min_length=1, description="rtsp://, http(s)://, a file path, or a device like /dev/video0")
    enabled: bool = Field(default=True, description="false keeps the camera configured but stopped")
    loop: bool = Field(default=False, description="replay a file source from the start when it ends (demo)")
    zones: list[Zone] = Field(default_factory=list, description="hotspot polygons")
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    recording: RecordingSettings = Field(default_factory=RecordingSettings)
    detection: DetectionSettings = Field(default_factory=DetectionSettings)

    @model_validator(mode="after")
    def _unique_zone_ids(self) -> Camera:
        seen: set[str] = set()
        for zone in self.zones:
            if zone.id in seen:
                raise ValueError(f"zone id {zone.id!r} is used twice")
            seen.add(zone.id)
        return self

    @property
    def label(self) -> str:
        return self.name or self.id


class Config(_Section):
    site: Site
    storage: Storage = Field(default_factory=Storage)
    schedules: dict[Identifier, Schedule] = Field(default_factory=dict)
    cameras: list[Camera] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> Config:
        seen: set[str] = set()
        for camera in self.cameras:
            if camera.id in seen:
                raise ValueError(f"camera id {camera.id!r} is used twice")
            seen.add(camera.id)
            for zone in camera.zones:
                if zone.schedule is not None and zone.schedule not in self.schedules:
                    known = ", ".join(sorted(self.schedules)) or "none defined"
                    raise ValueError(
                        f"camera {camera.id!r} zone {zone.id!r}: schedule {zone.schedule!r} "
                        f"is not defined (schedules: {known})"
                    )
        return self

    def camera(self, camera_id: str) -> Camera:
        for camera in self.cameras:
            if camera.id == camera_id:
                return camera
        raise KeyError(camera_id)
