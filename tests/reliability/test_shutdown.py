"""Stopping ``hotspot run`` the way operators do: Ctrl-C in a terminal and a service manager's
SIGTERM both reach every process of the group at once, workers included. Every clip must still
be closed and sealed complete, not left for the next start to recover as incomplete."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from monitor.store.models import Clip
from tests.fixtures import scenes
from tests.reliability.conftest import camera, site_config, wait_for

pytestmark = pytest.mark.slow

HOTSPOT = Path(sys.executable).parent / "hotspot"


def clips(database: Path) -> list[Clip]:
    if not database.exists():
        return []
    engine = create_engine(f"sqlite:///{database}")
    try:
        with Session(engine) as session:
            return list(session.scalars(select(Clip)))
    except OperationalError:  # the schema is still being created
        return []
    finally:
        engine.dispose()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_to_the_whole_group_seals_the_open_clip_complete(
    tmp_path: Path, walk_scene: scenes.Scene, signum: int,
) -> None:
    config_path = site_config(tmp_path, [camera("hall", str(walk_scene.path), walk_scene, loop=True)])
    database = tmp_path / "data" / "hotspot.db"
    run = subprocess.Popen([str(HOTSPOT), "run", "--config", str(config_path)], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           start_new_session=True)  # its own group, as a terminal's foreground job
    try:
        recording = wait_for(lambda: [c.id for c in clips(database) if c.status == "recording"], 60,
                             "a clip being recorded")
        os.killpg(run.pid, signum)
        output, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    assert run.returncode == 0, output
    assert "Traceback" not in output, output
    rows = {c.id: c for c in clips(database)}
    assert rows[recording[0]].status == "sealed", "the clip open at the signal was sealed"
    assert all(c.status == "sealed" and c.incomplete_reason is None for c in rows.values()), \
        [(c.id, c.status, c.incomplete_reason) for c in rows.values()]
    assert not list((tmp_path / "data" / "pending").glob("*.jsonl")), "every record was written"
    assert not list((tmp_path / "data" / "journals").rglob("*.jsonl")), "every journal was redone"
    clip = (tmp_path / "data" / rows[recording[0]].path).read_bytes()
    assert b" threads=1 " in clip and b" sliced_threads=0 " in clip, "workers encode on one thread"
