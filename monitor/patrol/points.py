"""Patrol points: every zone on its own, or named places grouping zones (config or a file)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.config.models import Config, PatrolPoint, PatrolSettings, patrol_point_problems
from monitor.patrol.heatmap import zone_key


@dataclass(frozen=True)
class Point:
    name: str
    zones: tuple[str, ...]  # camera-id/zone-id

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "zones": list(self.zones)}


def _points(items: list[PatrolPoint]) -> list[Point]:
    return [Point(p.name, tuple(p.zones)) for p in items]


def site_points(config: Config) -> list[Point]:
    """The configured named places, or else one point per zone, named camera-id/zone-id."""
    if config.patrol.points:
        return _points(config.patrol.points)
    return [Point(zone_key(c.id, z.id), (zone_key(c.id, z.id),)) for c in config.cameras for z in c.zones]


def load_points(path: Path, config: Config) -> list[Point]:
    """Named places from a YAML or JSON file: ``points: [{name, zones: [camera/zone]}]`` or the
    bare list; raises ConfigError naming every problem."""
    from monitor.config.loader import ConfigError, load_raw, parse_section

    raw = load_raw(path)
    items = raw.get("points") if isinstance(raw, dict) else raw
    if not isinstance(items, list) or not items:
        raise ConfigError(str(path), ["expected a non-empty list of points, each {name, zones}"])
    settings = parse_section(PatrolSettings, {"points": items}, str(path))
    problems = patrol_point_problems(settings.points, config.cameras)
    if problems:
        raise ConfigError(str(path), problems)
    return _points(settings.points)
