"""Names, not ids: what staff call a camera or a zone, looked up in the configuration in force.

Rows keep the ids they were recorded with (a renamed zone is still the same zone); the
dashboard shows the current names and lets people search by either.
"""

from __future__ import annotations

from collections.abc import Iterable

from monitor.config import Config


def camera_name(config: Config, camera_id: str) -> str:
    try:
        return config.camera(camera_id).label
    except KeyError:
        return camera_id  # a camera removed since: its id is all that is left


def zone_name(config: Config, camera_id: str | None, zone_id: str) -> str:
    for camera in config.cameras:
        if camera_id is not None and camera.id != camera_id:
            continue
        for zone in camera.zones:
            if zone.id == zone_id:
                return zone.name or zone.id
    return zone_id


def zone_names(config: Config, camera_id: str | None, zone_ids: Iterable[str]) -> list[str]:
    return [zone_name(config, camera_id, z) for z in zone_ids]


def zone_ids_for(config: Config, text: str) -> set[str]:
    """The zone ids a person means by ``text``: an id, or a zone's name in any letter case."""
    wanted = text.strip().casefold()
    found = {text.strip()}
    for camera in config.cameras:
        for zone in camera.zones:
            if zone.id.casefold() == wanted or (zone.name or "").casefold() == wanted:
                found.add(zone.id)
    return found


def zone_choices(config: Config) -> list[tuple[str, str]]:
    """(id, label) of every hotspot zone for a filter's drop-down, labelled by name and camera."""
    choices = []
    for camera in config.cameras:
        for zone in camera.zones:
            label = zone.name or zone.id
            choices.append((zone.id, f"{label} ({camera.label})" if len(config.cameras) > 1 else label))
    return choices
