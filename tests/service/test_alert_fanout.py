"""Alerts fan out between recorder nodes through PostgreSQL LISTEN/NOTIFY, over real HTTP/SSE.

The board under test polls only once an hour, so every alert that reaches it within seconds
came by notification: one written by another process (a recorder node's record path), and one
whose lower id was committed after a higher one (which polling by "id above the last seen"
would miss for good), and an acknowledgement made on another node.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from monitor.store.alert_channel import notify_alert
from monitor.store.models import Alert
from tests.fixtures.postgres_server import PostgresServer, postgres_server, postgres_url
from tests.service.conftest import Server, Site, listen, make_site, serve

pytestmark = pytest.mark.slow
__all__ = ["postgres_server", "postgres_url"]  # fixtures: imported so pytest finds them

NODE_A = """
import sys
from datetime import UTC, datetime
from monitor.config import load_config
from monitor.seal.clip_sealer import alert_record
from monitor.seal.database_outbox import DatabaseOutbox
from monitor.site.runtime import Runtime

runtime = Runtime.open(load_config(sys.argv[1]))
DatabaseOutbox(runtime).submit(alert_record({
    "kind": "motion", "camera_id": "east-stairwell", "time": datetime.now(UTC), "zones": ["landing"],
    "message": "raised on node a"}))
"""


@pytest.fixture
def node_b(tmp_path: Path, postgres_url: str, postgres_server: PostgresServer) -> Site:
    storage = {"path": str(tmp_path / "data"), "database": postgres_url, "worker_user": None}
    return make_site(tmp_path, config={"storage": storage}, alert_poll_seconds=3600.0)


def test_an_alert_raised_on_one_node_reaches_another_node_s_live_board_at_once(node_b: Site) -> None:
    received: queue.Queue[dict[str, object]] = queue.Queue()
    ready = threading.Event()
    with serve(node_b.app) as url:
        server = Server(url, node_b)
        threading.Thread(target=listen, args=(server, received, ready), daemon=True).start()
        assert ready.wait(10)
        result = subprocess.run([sys.executable, "-c", NODE_A, str(node_b.config_path)],
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        item = received.get(timeout=3)
        assert (item["message"], item["camera_id"]) == ("raised on node a", "east-stairwell")

        engine = node_b.runtime.engine
        with Session(engine) as early, Session(engine) as late:
            first = Alert(kind="motion", camera_id="east-stairwell", time=datetime.now(UTC), message="lower id")
            early.add(first)
            early.flush()
            notify_alert(early, first.id)
            second = Alert(kind="motion", camera_id="east-stairwell", time=datetime.now(UTC), message="higher id")
            late.add(second)
            late.flush()
            notify_alert(late, second.id)
            late.commit()
            assert received.get(timeout=3)["id"] == second.id
            early.commit()
            assert received.get(timeout=3)["id"] == first.id, "a lower id committed later still arrives"
            early.refresh(first)
            first.acknowledged_at, first.acknowledged_by = datetime.now(UTC), "officer on node a"
            notify_alert(early, first.id)
            early.commit()
            changed = received.get(timeout=3)
            assert (changed["id"], changed["acknowledged_by"]) == (first.id, "officer on node a"), \
                "an acknowledgement on another node shows on this board"
        assert received.empty(), "each alert once"
