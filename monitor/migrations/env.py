"""Alembic environment: the pipeline's tables, the service's tables and the custody log."""

from __future__ import annotations

from alembic import context

import monitor.store.cases  # (the case tables)
import monitor.store.leases  # (recorder nodes and camera leases)
import monitor.store.users  # noqa: F401  (registers the service's tables on Base.metadata)
from evidence.custody import metadata as custody_metadata
from monitor.store.models import Base

target_metadata = [Base.metadata, custody_metadata]


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection, target_metadata=target_metadata, render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
