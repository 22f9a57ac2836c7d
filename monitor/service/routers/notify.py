"""Alert delivery on the dashboard: whether messages get through (everyone who sees alerts),
and which alerts go where (admins edit the routes; channels and their secrets stay in the file
and the environment)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from monitor.config import Config, as_data
from monitor.config.models import ALERT_KINDS
from monitor.service.config_edit import Based, flow, save_edit, version_of
from monitor.service.deps import CanEditNotify, CanViewAlerts, State
from monitor.service.state import ServiceState

router = APIRouter(prefix="/api/notify", tags=["notify"])


class RouteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str = Field(max_length=63)
    cameras: list[str] = Field(default_factory=list, max_length=500)
    zones: list[str] = Field(default_factory=list, max_length=500)
    kinds: list[str] = Field(default_factory=list, max_length=20)
    days: list[str] = Field(default_factory=list, max_length=7)
    start: str | None = Field(default=None, alias="from", max_length=5, description="HH:MM, site time")
    end: str | None = Field(default=None, alias="to", max_length=5, description="HH:MM, site time")
    channels: list[str] = Field(max_length=50, description="webhook, webhook:<name>, mqtt, email")
    email_to: list[str] = Field(default_factory=list, max_length=50)


class RoutesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    routes: list[RouteIn] = Field(max_length=200)
    based_on: str | None = Field(default=None, max_length=64, description=(
        "the `version` these routes replace, as GET gave it: refused (409) if they changed since; "
        "omit to replace whatever is there"))


def notify_status_json(state: ServiceState) -> dict[str, Any]:
    notifier = state.supervisor.notifier if state.supervisor else None
    status = notifier.status().as_json() if notifier is not None else None
    return {"channels": state.config.notify.channel_names(), "status": status}


def routes_json(config: Config) -> dict[str, Any]:
    return {"routes": as_data(config.notify.routes), "version": version_of(as_data(config.notify.routes)),
            "channels": config.notify.channel_names(), "kinds": list(ALERT_KINDS),
            "cameras": [{"id": c.id, "name": c.label, "zones": [{"id": z.id, "name": z.name or z.id}
                                                                 for z in c.zones]} for c in config.cameras],
            "timezone": config.site.timezone}


def _route_map(route: RouteIn) -> CommentedMap:
    item = CommentedMap([("name", route.name)])
    for key in ("cameras", "zones", "kinds", "days", "channels", "email_to"):
        if values := getattr(route, key):
            item[key] = flow(list(values))
    if route.start is not None or route.end is not None:
        item["from"] = DoubleQuotedScalarString(route.start or "")
        item["to"] = DoubleQuotedScalarString(route.end or "")
    return item


@router.get("/status", summary="Alert delivery: channels, messages waiting, failed and last errors")
def notify_status(_user: CanViewAlerts, state: State) -> dict[str, Any]:
    return notify_status_json(state)


@router.get("/routes", summary="Which alerts go to which channel")
def get_routes(_user: CanEditNotify, state: State) -> dict[str, Any]:
    return routes_json(state.config)


@router.put("/routes", summary="Replace the routes (validated, saved, applied, logged)",
            responses={422: {"description": "the routes were not saved; the problems say why"}})
def put_routes(body: RoutesIn, user: CanEditNotify, state: State) -> dict[str, Any]:
    def mutate(doc: CommentedMap) -> dict[str, Any]:
        notify = doc.get("notify")
        if notify is None:
            notify = doc["notify"] = CommentedMap()
        notify["routes"] = [_route_map(route) for route in body.routes]
        return {"section": "notify.routes", **body.model_dump(mode="json", by_alias=True, exclude={"based_on"})}

    based = None if body.based_on is None else Based(lambda c: as_data(c.notify.routes), body.based_on,
                                                     "the alert routes")
    applied = save_edit(state.editor, mutate, actor=user.username, based=based, refused="the routes were not saved")
    return {**routes_json(applied.config), "config_sha256": applied.sha256}
