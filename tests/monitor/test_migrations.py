"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

import monitor.store.users  # noqa: F401  (the service's tables)
from evidence.custody import metadata as custody_metadata
from monitor.store.migrate import upgrade
from monitor.store.models import Base


def test_migrations_match_the_models(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/fresh.db")
    upgrade(engine)
    upgrade(engine)  # a second run is a no-op
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, [Base.metadata, custody_metadata])
    assert differences == [], "models changed without a migration: " + repr(differences)


def test_a_database_made_before_migrations_is_adopted(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/old.db")
    Base.metadata.create_all(engine)
    custody_metadata.create_all(engine)
    upgrade(engine)
    assert "alembic_version" in inspect(engine).get_table_names()
