"""What the command and the dashboard share: the site's heat map, and a plan drawn and recorded."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from monitor.config import Config
from monitor.patrol.heatmap import HeatMap, build_heatmap, local_midnight, zone_key
from monitor.patrol.plan import EARLIEST_DAY, LATEST_DAY, Shift, draw_plan
from monitor.patrol.points import Point, site_points
from monitor.patrol.records import (
    PredictabilityReport,
    plan_visits,
    plans_since,
    predictability,
    record_plan,
)
from monitor.store.patrols import PatrolPlan


def site_heatmap(db: Session, config: Config, *, since: date | None = None, until: datetime | None = None,
                 now: datetime | None = None) -> HeatMap:
    """Activity from local midnight of ``since`` (default: ``patrol.history_days`` ago) to ``until``
    (default: now), listing every configured zone."""
    tz = config.site.tz
    now = now or datetime.now(UTC)
    since = since or (now.astimezone(tz) - timedelta(days=config.patrol.history_days)).date()
    since = min(max(since, EARLIEST_DAY), LATEST_DAY)  # nothing happened before; no overflow either
    zones = [zone_key(c.id, z.id) for c in config.cameras for z in c.zones]
    return build_heatmap(db, since=local_midnight(since, tz), until=until or now, tz=tz, zones=zones)


def draw_and_record(db: Session, config: Config, *, day: date, shift: str, created_by: str,
                    points: list[Point] | None = None, min_visits: int | None = None) -> PatrolPlan:
    """A fresh plan for the shift, weighted by the heat map of the weeks before it, recorded."""
    parsed = Shift.parse(day, shift, config.site.tz)
    chosen = points if points is not None else site_points(config)
    heatmap = site_heatmap(db, config, now=min(parsed.start, datetime.now(UTC)))
    minimum = min_visits or config.patrol.min_visits
    visits = draw_plan(parsed, chosen, heatmap, min_visits=minimum, visits_per_hour=config.patrol.visits_per_hour)
    return record_plan(db, shift=parsed, points=chosen, visits=visits, min_visits=minimum, created_by=created_by)


def site_predictability(db: Session, config: Config, *, days: int | None = None,
                        now: datetime | None = None) -> PredictabilityReport:
    """The report over the shifts that started in the last ``days`` (default: history_days)."""
    since = (now or datetime.now(UTC)) - timedelta(days=days or config.patrol.history_days)
    plans = [plan_visits(p) for p in plans_since(db, since)]
    return predictability(plans, tz=config.site.tz, slot_minutes=config.patrol.slot_minutes)
