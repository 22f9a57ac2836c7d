"""Configuration edits announced to every recorder node through PostgreSQL's LISTEN/NOTIFY.

The nodes share one ``cameras.yaml``. A dashboard edit is written and applied by the node that
made it; the notification (the writer's name and the new file's SHA-256) tells every other node
to read the file again and apply it the same way, instead of at its next start.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

CHANNEL = "hotspot_config"


@dataclass(frozen=True)
class ConfigNotice:
    node: str
    """The node whose dashboard made the edit ("" without a node name)."""
    sha256: str
    """SHA-256 of the file it wrote."""

    def payload(self) -> str:
        return f"{self.sha256} {self.node}".strip()

    @classmethod
    def parse(cls, payload: str) -> ConfigNotice:
        sha256, _, node = payload.partition(" ")
        return cls(node=node, sha256=sha256)


def announce_config(engine: Engine, notice: ConfigNotice) -> None:
    """Tell every listening node (PostgreSQL only; raises when the database is unreachable)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as connection:
        connection.execute(select(func.pg_notify(CHANNEL, notice.payload())))
