"""Plans as recorded in the database, and the check of past plans for repetitions.

An officer who visits the gym at 22:10 every Tuesday is predictable however random each plan
was meant to be; so every drawn plan is kept, and the plans of the last weeks are compared by
point and time-of-day slot.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.patrol.plan import Shift, Visit
from monitor.patrol.points import Point
from monitor.store.patrols import PatrolPlan


def record_plan(db: Session, *, shift: Shift, points: list[Point], visits: list[Visit], min_visits: int,
                created_by: str) -> PatrolPlan:
    plan = PatrolPlan(created_by=created_by, shift_start=shift.start, shift_end=shift.end,
                      timezone=shift.tz.key, min_visits=min_visits, points=[p.as_json() for p in points],
                      visits=[{"time": v.time.isoformat(), "point": v.point} for v in visits])
    db.add(plan)
    db.flush()
    return plan


def plan_visits(plan: PatrolPlan) -> list[Visit]:
    return [Visit(datetime.fromisoformat(v["time"]), v["point"]) for v in plan.visits]


def plan_json(plan: PatrolPlan) -> dict[str, Any]:
    tz = ZoneInfo(plan.timezone)
    shift = Shift(start=plan.shift_start, end=plan.shift_end, tz=tz)
    return {
        "id": plan.id, "created_at": plan.created_at.isoformat(), "created_by": plan.created_by,
        "shift": {"label": shift.label(), "start": plan.shift_start.isoformat(), "end": plan.shift_end.isoformat()},
        "timezone": plan.timezone, "min_visits": plan.min_visits, "points": plan.points,
        "visits": [{"time": v.time.isoformat(), "local": f"{v.time.astimezone(tz):%H:%M}", "point": v.point}
                   for v in plan_visits(plan)],
    }


def plans_since(db: Session, since: datetime) -> list[PatrolPlan]:
    """The plans of shifts starting from ``since``: for a shift drawn more than once, the last draw."""
    rows = db.scalars(select(PatrolPlan).where(PatrolPlan.shift_start >= since).order_by(PatrolPlan.id))
    latest = {(p.shift_start, p.shift_end): p for p in rows}
    return sorted(latest.values(), key=lambda p: p.shift_start)


@dataclass(frozen=True)
class Repetition:
    point: str
    slot: str  # local "HH:MM-HH:MM"
    plans: int  # how many plans visit the point in this slot
    share: float  # of all the plans checked


@dataclass(frozen=True)
class PredictabilityReport:
    plans: int
    visits: int
    repeated_visits: int  # visits in a (point, slot) an earlier plan already visited
    repeated_share: float  # repeated_visits / visits
    slot_minutes: int
    repetitions: list[Repetition]  # most repeated first
    most_repeated_share: float  # share of plans in the most repeated (point, slot): 1.0 = a fixed routine

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def predictability(plans: list[list[Visit]], *, tz: ZoneInfo, slot_minutes: int) -> PredictabilityReport:
    """How often plans send someone to the same point in the same local time-of-day slot."""
    seen: dict[tuple[str, int], int] = defaultdict(int)
    for visits in plans:
        keys = set()
        for visit in visits:
            local = visit.time.astimezone(tz)
            keys.add((visit.point, (local.hour * 60 + local.minute) // slot_minutes))
        for key in keys:
            seen[key] += 1
    repeated = sum(n - 1 for n in seen.values())
    total = sum(len(v) for v in plans)
    repetitions = [Repetition(point, _slot(slot, slot_minutes), n, round(n / len(plans), 4))
                   for (point, slot), n in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0])) if n > 1]
    return PredictabilityReport(plans=len(plans), visits=total, repeated_visits=repeated,
                                repeated_share=round(repeated / total, 4) if total else 0.0,
                                slot_minutes=slot_minutes, repetitions=repetitions,
                                most_repeated_share=repetitions[0].share if repetitions else 0.0)


def _slot(index: int, minutes: int) -> str:
    first, last = index * minutes, min((index + 1) * minutes, 1440)
    return f"{first // 60:02d}:{first % 60:02d}-{last // 60:02d}:{last % 60:02d}"
