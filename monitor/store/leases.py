"""Recorder nodes and their camera leases: which node records which camera, shared through the
site's database so every node (and its dashboard) sees the same answer.

A lease row is kept after its node lets it go (``released``) or dies (``expires_at`` passed),
so whoever takes the camera next knows from whom, and whether it was handed over or taken.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from monitor.store.models import Base


class RecorderNode(Base):
    """A running ``hotspot serve --node``: alive while ``expires_at`` is ahead of the database clock."""

    __tablename__ = "recorder_nodes"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)


class CameraLease(Base):
    """The one node allowed to record a camera until ``expires_at`` (renewed every heartbeat)."""

    __tablename__ = "camera_leases"

    camera_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    node: Mapped[str] = mapped_column(String(64), index=True)
    since: Mapped[datetime] = mapped_column(doc="when this node took the camera")
    expires_at: Mapped[datetime] = mapped_column()
    released: Mapped[bool] = mapped_column(Boolean, default=False, doc="let go by a clean stop")
    previous_node: Mapped[str | None] = mapped_column(String(64), nullable=True)
    taken_over: Mapped[bool] = mapped_column(Boolean, default=False,
                                             doc="taken from a node that stopped renewing, not handed over")
    status: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict,
                                                   doc="the holder's latest camera status, for every dashboard")
