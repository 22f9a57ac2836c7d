"""Recorded patrol plans: every plan drawn is kept, so the plans of past weeks can be checked
for repetitions an observer could learn."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from monitor.store.models import Base, utcnow


class PatrolPlan(Base):
    __tablename__ = "patrol_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), doc="username, or 'cli' for the command")
    shift_start: Mapped[datetime] = mapped_column(index=True)
    shift_end: Mapped[datetime] = mapped_column()
    timezone: Mapped[str] = mapped_column(String(64), doc="the site's time zone when the plan was drawn")
    min_visits: Mapped[int] = mapped_column(Integer)
    points: Mapped[list[Any]] = mapped_column(JSON, doc="[{name, zones}] the plan covers")
    visits: Mapped[list[Any]] = mapped_column(JSON, doc="[{time (UTC ISO), point}] in time order")
