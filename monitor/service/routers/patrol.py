"""The heat map and patrol plans for security staff: activity by hour of the week, plans drawn
and recorded for a shift, and how predictable the recorded plans have been."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from monitor.patrol.plan import PlanError
from monitor.patrol.planner import draw_and_record, site_heatmap, site_predictability
from monitor.patrol.records import plan_json
from monitor.service.deps import CanPlanPatrols, Db, State
from monitor.store.patrols import PatrolPlan

router = APIRouter(prefix="/api", tags=["patrol"])


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    day: date = Field(alias="date", description="the day the shift starts, site time")
    shift: str = Field(max_length=11, description="HH:MM-HH:MM; an end before the start is the next day")
    min_visits: int | None = Field(default=None, ge=1, le=50, description="default: patrol.min_visits")


@router.get("/heatmap", summary="Per zone, motion alerts and seconds of motion by weekday and hour")
def heatmap(
    _user: CanPlanPatrols, db: Db, state: State,
    since: Annotated[date | None, Query(description="first day, site time; default patrol.history_days ago")] = None,
) -> dict[str, Any]:
    return site_heatmap(db, state.config, since=since).as_json()


@router.post("/patrol/plans", status_code=201, summary="Draw and record a fresh patrol plan for a shift")
def draw_plan(body: PlanIn, user: CanPlanPatrols, db: Db, state: State) -> dict[str, Any]:
    try:
        plan = draw_and_record(db, state.config, day=body.day, shift=body.shift, created_by=user.username,
                               min_visits=body.min_visits)
    except PlanError as exc:
        raise HTTPException(422, str(exc)) from None
    db.commit()
    return plan_json(plan)


@router.get("/patrol/plans", summary="Recorded patrol plans, newest first")
def list_plans(
    _user: CanPlanPatrols, db: Db, limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[dict[str, Any]]:
    return [plan_json(p) for p in db.scalars(select(PatrolPlan).order_by(PatrolPlan.id.desc()).limit(limit))]


@router.get("/patrol/predictability", summary="Same point, same time slot: repeats across recorded shifts")
def predictability(
    _user: CanPlanPatrols, db: Db, state: State,
    days: Annotated[int | None, Query(ge=1, le=366, description="default: patrol.history_days")] = None,
) -> dict[str, Any]:
    return site_predictability(db, state.config, days=days).as_json()


CELL = 20  # SVG units per hour cell; the chart scales to the page width
LABEL_WIDTH = 40
LOW, HIGH, EMPTY = (255, 226, 170), (178, 34, 0), "#e9ecf2"


def _colour(value: float, top: float) -> str:
    """Square-root scale, so one busy hour does not wash out the rest of the week."""
    if value <= 0 or top <= 0:
        return EMPTY
    t = (value / top) ** 0.5
    r, g, b = (round(lo + (hi - lo) * t) for lo, hi in zip(LOW, HIGH, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap_view(data: dict[str, Any], metric: str, labels: dict[str, str]) -> dict[str, Any]:
    """What the heat map page draws: one grid per zone on one shared colour scale."""
    days, unit = data["days"], "event(s)" if metric == "events" else "s of motion"
    top = max((v for z in data["zones"].values() for row in z[metric] for v in row), default=0)
    zones = []
    for key, zone in data["zones"].items():
        cells, ranked = [], []
        for d, row in enumerate(zone[metric]):
            for hour, value in enumerate(row):
                title = f"{days[d].title()} {hour:02d}:00-{hour + 1:02d}:00: {value:g} {unit}"
                cells.append({"x": LABEL_WIDTH + hour * CELL, "y": 14 + d * CELL, "fill": _colour(value, top),
                              "title": title, "value": value, "day": days[d], "hour": hour})
                if value:
                    ranked.append((value, title))
        zones.append({"key": key, "label": labels.get(key, key), "total_events": zone["total_events"],
                      "total_seconds": zone["total_seconds"], "cells": cells,
                      "busiest": [t for _v, t in sorted(ranked, key=lambda r: -r[0])[:3]]})
    return {"zones": zones, "top": top, "unit": unit, "days": days, "cell": CELL, "label_width": LABEL_WIDTH,
            "width": LABEL_WIDTH + 24 * CELL, "height": 14 + 7 * CELL, "low": _colour(top / 100, top) if top else EMPTY,
            "high": _colour(top, top)}
