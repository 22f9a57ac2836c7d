"""The schedule editor's API: named schedules and the site's holidays."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from monitor.config import Config, as_data
from monitor.service.config_edit import (
    Based,
    assign,
    flow,
    for_people,
    plain,
    save_edit,
    sync_items,
    version_of,
)
from monitor.service.deps import CanEditSchedules, State

router = APIRouter(prefix="/api/schedules", tags=["schedules"])


class WindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    days: list[str] = Field(max_length=7, description="mon..sun")
    start: str = Field(alias="from", max_length=5, description="HH:MM")
    end: str = Field(alias="to", max_length=5, description="HH:MM or 24:00")


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    windows: list[WindowIn] = Field(max_length=50)
    on_holidays: Literal["all-day", "inactive", "as-scheduled"] = "as-scheduled"


class SchedulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schedules: dict[str, ScheduleIn] = Field(max_length=100)
    holidays: list[date] = Field(max_length=1000)
    based_on: str | None = Field(default=None, max_length=64, description=(
        "the `version` these schedules replace, as GET gave it: refused (409) if they changed since; "
        "omit to replace whatever is there"))


def schedules_json(config: Config) -> dict[str, Any]:
    edited = _edited(config)
    return {**edited, "timezone": config.site.timezone, "version": version_of(edited)}


def _edited(config: Config) -> dict[str, Any]:
    """What a schedule edit replaces."""
    return {"schedules": as_data(config.schedules), "holidays": as_data(config.site.holidays)}


def _window_map(window: WindowIn) -> CommentedMap:
    item = CommentedMap([("days", flow(list(window.days))), ("from", DoubleQuotedScalarString(window.start)),
                         ("to", DoubleQuotedScalarString(window.end))])
    item.fa.set_flow_style()
    return item


def _schedule_map(existing: CommentedMap | None, schedule: ScheduleIn) -> CommentedMap:
    """Unchanged windows keep their node (and the comment after them); changed ones are rewritten."""
    target = existing if existing is not None else CommentedMap()
    old = list(target.get("windows") or [])
    windows = []
    for index, window in enumerate(schedule.windows):
        new = _window_map(window)
        same = index < len(old) and plain(old[index]) == plain(new)
        windows.append(old[index] if same else new)
    seq = sync_items(target.get("windows"), windows)
    if target.get("windows") is not seq:
        target["windows"] = seq
    assign(target, "on_holidays", schedule.on_holidays)
    return target


def _apply(body: SchedulesIn) -> Any:
    def mutate(doc: CommentedMap) -> dict[str, Any]:
        old = doc.get("schedules") or CommentedMap()
        for name in [n for n in old if n not in body.schedules]:
            del old[name]
        for name, schedule in body.schedules.items():
            existing = old.get(name)
            updated = _schedule_map(existing, schedule)
            if existing is not updated:
                old[name] = updated
        if doc.get("schedules") is not old:
            doc["schedules"] = old
        assign(doc["site"], "holidays", flow([d.isoformat() for d in sorted(set(body.holidays))]))
        return {"section": "schedules", **body.model_dump(mode="json", by_alias=True, exclude={"based_on"})}

    return mutate


@router.get("", summary="Named schedules and holidays")
def get_schedules(_user: CanEditSchedules, state: State) -> dict[str, Any]:
    return schedules_json(state.config)


@router.put("", summary="Replace schedules and holidays (validated, saved, applied, logged)")
def put_schedules(body: SchedulesIn, user: CanEditSchedules, state: State) -> dict[str, Any]:
    based = None if body.based_on is None else Based(_edited, body.based_on, "the schedules and holidays")
    applied = save_edit(state.editor, _apply(body), actor=user.username, based=based,
                        refused="the change was not saved", people=for_people)
    return {**schedules_json(applied.config), "config_sha256": applied.sha256}
