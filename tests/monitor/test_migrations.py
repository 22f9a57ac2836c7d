"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

import monitor.store.cases  # (the case tables)
import monitor.store.leases  # (recorder nodes and camera leases)
import monitor.store.patrols  # (recorded patrol plans)
import monitor.store.users  # noqa: F401  (the service's tables)
from evidence.custody import metadata as custody_metadata
from monitor.store.db import make_engine
from monitor.store.migrate import HEAD, alembic_config, current_revision, upgrade
from monitor.store.models import Base
from tests.fixtures.postgres_server import postgres_server, postgres_url

REPO = Path(__file__).resolve().parents[2]
__all__ = ["postgres_server", "postgres_url"]  # fixtures: imported so pytest finds them


def test_migrations_match_the_models(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/fresh.db")
    upgrade(engine)
    upgrade(engine)  # a second run is a no-op
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, [Base.metadata, custody_metadata])
    assert differences == [], "models changed without a migration: " + repr(differences)


def test_a_database_made_before_migrations_is_adopted(tmp_path: Path) -> None:
    """Such a database has the first revision's schema and no alembic_version table."""
    engine = create_engine(f"sqlite:///{tmp_path}/old.db")
    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(text("DROP TABLE alembic_version"))
    upgrade(engine)
    assert current_revision(engine) == HEAD


def test_head_constant_is_the_newest_migration(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/head.db")
    script = ScriptDirectory.from_config(alembic_config(engine))
    assert script.get_current_head() == HEAD
    upgrade(engine)
    assert current_revision(engine) == HEAD


def test_a_current_schema_is_opened_without_loading_alembic(tmp_path: Path) -> None:
    """Camera workers open the database; Alembic would cost each of them about 12 MB."""
    database = tmp_path / "current.db"
    upgrade(create_engine(f"sqlite:///{database}"))
    probe = ("import sys; from sqlalchemy import create_engine; from monitor.store.migrate import upgrade; "
             f"upgrade(create_engine('sqlite:///{database}')); print('alembic' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_nodes_upgrading_one_postgresql_at_once_all_succeed(postgres_url: str) -> None:
    """Recorder nodes (and the service beside its supervisor) upgrade the same database at
    start: the advisory lock makes the others wait and find the schema current."""
    script = (
        "import sys, time\n"
        "from monitor.store.db import make_engine\n"
        "from monitor.store.migrate import upgrade\n"
        "engine = make_engine(sys.argv[1])\n"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"
        "upgrade(engine)\n"
    )
    start = f"{time.time() + 3.0:.3f}"  # every process imported and connected by then
    nodes = [subprocess.Popen([sys.executable, "-c", script, postgres_url, start], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(3)]
    outputs = [node.communicate(timeout=120)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0, 0], outputs
    engine = make_engine(postgres_url)
    assert current_revision(engine) == HEAD
    engine.dispose()
