"""``hotspot run``, ``serve`` and ``analyze`` started while the site's PostgreSQL server is down.

``run`` and ``serve`` start anyway (cameras must keep recording) and catch up once the server
returns; ``analyze`` refuses with one line that names the database, the reason and the fix.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.seal.spool import is_journal
from monitor.store.db import make_engine
from tests.fixtures import scenes
from tests.fixtures.postgres_server import PostgresServer, free_port, postgres_server, postgres_url
from tests.reliability.conftest import wait_for
from tests.reliability.test_postgres import alerts, check_store, clips, looping_site
from tests.service.conftest import login

pytestmark = pytest.mark.slow
__all__ = ["postgres_server", "postgres_url"]  # fixtures: imported so pytest finds them

HOTSPOT = Path(sys.executable).parent / "hotspot"
DOWN = "is unavailable (connection failed"


class Command:
    """A running ``hotspot`` process and everything it printed so far (read on a thread, so a
    full pipe never blocks it and a test never blocks on a line that does not come)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self._lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.append(line)

    @property
    def output(self) -> str:
        return "".join(list(self._lines))

    def stop(self) -> int:
        """SIGTERM, as systemd stops a service; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(60)
        self._reader.join(10)
        return code


@contextmanager
def hotspot(*args: str, cwd: Path) -> Iterator[Command]:
    """The command as an operator starts it, stopped at the end."""
    command = Command(subprocess.Popen([str(HOTSPOT), *args], stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True, cwd=cwd,
                                       env={**os.environ, "COLUMNS": "300"}))
    try:
        yield command
    finally:
        command.stop()


def live_alert(client: httpx.Client) -> dict[str, object]:
    """The next alert the live board's stream announces (the looping camera makes one per loop)."""
    deadline = time.monotonic() + 20
    with client.stream("GET", "/api/alerts/stream", timeout=15) as response:
        assert response.status_code == 200, response.read()
        event = None
        for line in response.iter_lines():
            assert time.monotonic() < deadline, "no alert on the live stream within 20 s"
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "alert":
                item: dict[str, object] = json.loads(line[5:])
                return item
    raise AssertionError("the alert stream ended without an alert")


def test_analyze_refuses_in_one_line_naming_the_database_and_the_fix(
    tmp_path: Path, walk_scene: scenes.Scene, postgres_server: PostgresServer, postgres_url: str,
) -> None:
    config_path, _root = looping_site(tmp_path, walk_scene, postgres_url.replace("hotspot@", "hotspot:s3cret@"))
    postgres_server.stop()
    result = CliRunner().invoke(app, ["analyze", str(walk_scene.path), "--camera", "hall",
                                      "--config", str(config_path)])
    assert result.exit_code == 1, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"error: database postgresql://hotspot:***@127.0.0.1:{postgres_server.port}/")
    assert DOWN in line and f"fix storage.database in {config_path}" in line, line
    assert "s3cret" not in line and "Traceback" not in result.output


def test_run_starts_with_the_database_down_and_seals_once_it_returns(
    tmp_path: Path, walk_scene: scenes.Scene, postgres_server: PostgresServer, postgres_url: str,
) -> None:
    config_path, root = looping_site(tmp_path, walk_scene, postgres_url)
    postgres_server.stop()
    engine = make_engine(postgres_url)
    with hotspot("run", "--config", str(config_path), cwd=tmp_path) as run:
        spooled = wait_for(lambda: [p for p in (root / "pending").glob("hall.*.jsonl")
                                    if not is_journal(p) and '"op": "seal"' in p.read_text()], 30,
                           "a seal queued on disk (besides the worker's journal)")
        assert run.process.poll() is None, "run keeps going without its database"
        finished = next(p.stem for p in sorted((root / "clips").rglob("*.mp4")))
        postgres_server.start()
        wait_for(lambda: finished in {c.id for c in clips(engine) if c.status == "sealed"}, 20,
                 "the queued seal written once the server is back")
        assert not spooled[0].exists()
    output = run.output
    assert run.process.returncode == 0, output
    assert re.search(r"warning: database \S+ is unavailable \(connection failed", output), output
    assert "Traceback" not in output
    assert not list((root / "pending").iterdir()), "queues are gone after a clean stop"
    assert not list((root / "journals").rglob("*.jsonl")), "and so are journals"
    check_store(config_path, engine, complete={finished})
    assert alerts(engine, "database"), "the outage is on record"
    engine.dispose()


def test_serve_starts_with_the_database_down_and_says_so_until_it_returns(
    tmp_path: Path, walk_scene: scenes.Scene, postgres_server: PostgresServer, postgres_url: str,
) -> None:
    config_path, _root = looping_site(tmp_path, walk_scene, postgres_url)
    postgres_server.stop()
    url = f"http://127.0.0.1:{free_port()}"
    with hotspot("serve", "--config", str(config_path), "--port", url.rsplit(":", 1)[1],
                 cwd=tmp_path) as serve, httpx.Client(base_url=url, timeout=10) as client:
        def health() -> dict[str, object] | None:
            try:
                response = client.get("/healthz")
            except httpx.TransportError:
                return None
            body: dict[str, object] = response.json()
            return body if body["cameras_online"] == 1 else None

        down = wait_for(health, 30, "the service up, its camera online, without a database")
        assert (down["status"], down["database"]) == ("unhealthy", "error: OperationalError"), down
        refused = login(client, "admin", "anything")
        assert refused.status_code == 503, refused.text
        assert refused.json()["detail"].startswith("The database is unavailable (connection failed")

        postgres_server.start()
        wait_for(lambda: (h := health()) and h["status"] == "ok", 20, "healthy once the server is back")
        # the admin is made by a thread that retries every 2 s, behind the workers' schema upgrade:
        # on a loaded machine that takes a while
        output = wait_for(lambda: serve.output if "one-time password" in serve.output else None, 60,
                          "the first admin, made once the database answered")
        assert re.search(r"warning: database \S+ is unavailable \(connection failed", output), output
        secret = re.search(r"one-time password (\S+)", output).group(1)  # type: ignore[union-attr]
        assert login(client, "admin", secret).status_code == 200
        client.post("/api/me/password", json={"current_password": secret, "new_password": "site-admin-2026"})
        assert login(client, "admin", "site-admin-2026").status_code == 200
        assert live_alert(client)["kind"] == "motion", "the live board polls again after the outage"
    assert "Traceback" not in serve.output
    assert serve.process.returncode in (0, -signal.SIGTERM)
