"""Bring a database to the current schema with Alembic, so upgrades never need a fresh database.

Alembic is imported only when a migration is due: every camera worker opens the database,
and carrying Alembic in each of them costs about 12 MB of memory for a check that almost
always finds the schema current.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
HEAD = "0022_node_leases"  # newest revision under migrations/versions; tests/monitor/test_migrations.py checks it
UPGRADE_LOCK = 0x686F_7473_706F_7401  # PostgreSQL advisory lock key: one schema upgrade per database
LOCK_TIMEOUT = "30s"
_UPGRADING = threading.Lock()


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database records, or None before any migration ran."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> None:
    """Apply every pending migration in one transaction; a current schema is left as it is.

    One upgrade at a time: ``hotspot serve`` opens the database from the service and from the
    supervisor, and recorder nodes share one PostgreSQL. Two upgrades at once each create
    tables the other waits for, and a thread waiting on the other's lock in this process is a
    cycle PostgreSQL cannot see: it hung the service. So a process lock and, on PostgreSQL, an
    advisory lock serialise them (the second finds the schema current), and no lock is awaited
    longer than ``LOCK_TIMEOUT``: the callers retry rather than wait forever.
    """
    if current_revision(engine) == HEAD:
        return
    from alembic import command

    config = alembic_config(engine)
    with _UPGRADING, engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK})
        config.attributes["connection"] = connection
        tables = set(inspect(connection).get_table_names())
        if "clips" in tables and "alembic_version" not in tables:
            command.stamp(config, "0001")  # made by create_all before migrations existed
        command.upgrade(config, "head")
