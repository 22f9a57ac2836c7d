"""The zone editor's API: read and replace a camera's hotspot and privacy polygons.

Kept zones are edited in place in the YAML document, so the admin's comments on them stay.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from ruamel.yaml.comments import CommentedMap

from monitor.config import Camera, as_data
from monitor.service.config_edit import Based, assign, flow, save_edit, sync_items, version_of
from monitor.service.deps import CanEditZones, State
from monitor.service.routers.cameras import camera_or_404

router = APIRouter(prefix="/api/cameras", tags=["zones"])
Point = tuple[float, float]


class ZoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    polygon: list[Point] = Field(max_length=100)
    schedule: str | None = Field(default=None, max_length=64, description="schedule name; null = always")
    min_area: float = Field(default=0.02, description="fraction of the zone that must change")


class PrivacyZoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(default=None, max_length=64)
    polygon: list[Point] = Field(max_length=100)


class ZonesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zones: list[ZoneIn] = Field(max_length=50)
    privacy_zones: list[PrivacyZoneIn] = Field(max_length=50)
    based_on: str | None = Field(default=None, max_length=64, description=(
        "the `version` these zones replace, as GET gave it: refused (409) if they changed since; "
        "omit to replace whatever is there"))


def zones_json(camera: Camera) -> dict[str, Any]:
    return {
        "camera_id": camera.id,
        "zones": as_data(camera.zones),
        "privacy_zones": as_data(camera.privacy.zones),
        "privacy_mask": camera.privacy.mask,
        "version": version_of(_edited(camera)),
    }


def _edited(camera: Camera) -> dict[str, Any]:
    """What a zone edit replaces: only this camera's polygons, so edits of two cameras both land."""
    return {"zones": as_data(camera.zones), "privacy_zones": as_data(camera.privacy.zones)}


def _points(polygon: list[Point]) -> Any:
    return flow([flow([round(x, 4), round(y, 4)]) for x, y in polygon])


def _merge_zone(existing: CommentedMap | None, zone: ZoneIn) -> CommentedMap:
    """Update a zone's mapping in place (keeping its comments), keys in the documented order."""
    target = existing if existing is not None else CommentedMap()
    values = {"id": zone.id, "name": zone.name, "polygon": _points(zone.polygon), "schedule": zone.schedule,
              "min_area": zone.min_area}
    for key, value in values.items():
        assign(target, key, value)
    return target


def _merge_privacy(existing: CommentedMap | None, zone: PrivacyZoneIn) -> CommentedMap:
    target = existing if existing is not None else CommentedMap()
    assign(target, "id", zone.id)
    assign(target, "polygon", _points(zone.polygon))
    return target


def _match(old: list[CommentedMap], index: int, zone_id: str | None) -> CommentedMap | None:
    """The mapping a submitted zone was loaded from: by id, else (unnamed) by position."""
    if zone_id:
        return next((z for z in old if z.get("id") == zone_id), None)
    return old[index] if index < len(old) and not old[index].get("id") else None


def _put(target: CommentedMap, key: str, seq: Any) -> None:
    if target.get(key) is not seq:
        target[key] = seq


def _apply_zones(camera_id: str, body: ZonesIn) -> Any:
    def mutate(doc: CommentedMap) -> dict[str, Any]:
        entry = next(c for c in doc["cameras"] if c.get("id") == camera_id)
        old = list(entry.get("zones") or [])
        zones = [_merge_zone(_match(old, i, z.id), z) for i, z in enumerate(body.zones)]
        _put(entry, "zones", sync_items(entry.get("zones"), zones))
        privacy = entry.setdefault("privacy", CommentedMap())
        old_privacy = list(privacy.get("zones") or [])
        kept = [_merge_privacy(_match(old_privacy, i, pz.id), pz) for i, pz in enumerate(body.privacy_zones)]
        _put(privacy, "zones", sync_items(privacy.get("zones"), kept))
        return {"section": "zones", "camera": camera_id,
                "zones": [z.model_dump(mode="json") for z in body.zones],
                "privacy_zones": [z.model_dump(mode="json") for z in body.privacy_zones]}

    return mutate


@router.get("/{camera_id}/zones", summary="A camera's hotspot and privacy zones")
def get_zones(camera_id: str, _user: CanEditZones, state: State) -> dict[str, Any]:
    return zones_json(camera_or_404(state, camera_id))


@router.put("/{camera_id}/zones", summary="Replace a camera's zones (validated, saved, applied, logged)")
def put_zones(camera_id: str, body: ZonesIn, user: CanEditZones, state: State) -> dict[str, Any]:
    camera_or_404(state, camera_id)
    based = None if body.based_on is None else Based(
        lambda config: _edited(config.camera(camera_id)), body.based_on, f"the zones of camera {camera_id}")
    applied = save_edit(state.editor, _apply_zones(camera_id, body), actor=user.username, based=based,
                        refused="the change was not saved")
    return {**zones_json(applied.config.camera(camera_id)), "config_sha256": applied.sha256}
