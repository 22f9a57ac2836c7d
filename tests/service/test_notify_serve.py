"""A receiver that is down, seen from the dashboard of a real ``hotspot serve`` whose camera
raises real alerts: the backlog and the channel's last error are shown, and nothing stops."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import base_config, write_config
from tests.fixtures.scenes import ZONE, walk_through
from tests.service.conftest import login
from tests.service.test_serve import HOTSPOT, _free_port, _wait_healthy

pytestmark = pytest.mark.slow


def test_failing_deliveries_are_shown_while_alerts_keep_coming(tmp_path: Path) -> None:
    scene = walk_through(tmp_path / "hall.mp4", seconds=6)
    camera = {"id": "hall", "source": str(scene.path), "loop": True,
              "zones": [{"id": "door", "polygon": [list(p) for p in ZONE]}]}
    data = base_config(tmp_path / "data", cameras=[camera])
    data["notify"] = {"webhooks": [{"url": f"http://127.0.0.1:{_free_port()}/nobody", "secret_env": "HOOK"}]}
    config = write_config(tmp_path, data)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([str(HOTSPOT), "serve", "--config", str(config), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "HOOK": "a-webhook-secret-for-tests", "COLUMNS": "200"},
                               cwd=tmp_path)
    try:
        _wait_healthy(url, process)
        output = ""
        while "one-time password" not in output:
            output += process.stdout.readline()  # type: ignore[union-attr]
        secret = re.search(r"one-time password (\S+)", output).group(1)  # type: ignore[union-attr]
        with httpx.Client(base_url=url, timeout=30) as client:
            client.headers["X-CSRF-Token"] = login(client, "admin", secret).json()["csrf_token"]
            client.post("/api/me/password", json={"current_password": secret, "new_password": "site-admin-2026"})
            client.headers["X-CSRF-Token"] = login(client, "admin", "site-admin-2026").json()["csrf_token"]
            deadline = time.monotonic() + 60
            while not (status := client.get("/api/notify/status").json()["status"])["errors"]:
                assert time.monotonic() < deadline, "no failed delivery reported"
                time.sleep(0.3)
            assert "webhook:webhook-1" in status["last_error"] and status["queued"] >= 1
            assert "ConnectError" in status["last_error"]["webhook:webhook-1"]
            page = client.get("/notify").text
            assert "ConnectError" in page and "waiting for their receiver" in page
            assert client.get("/api/alerts").json(), "alerts are on the board while messages wait"
            metrics = client.get("/metrics").text
            assert re.search(r'hotspot_notify_errors_total\{channel="webhook:webhook-1"\} [1-9]', metrics)
        assert list((tmp_path / "data" / "notify" / "queue").glob("*.json")), "waiting on disk"
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
