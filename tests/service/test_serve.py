"""``hotspot serve`` as an admin runs it: a real process, its workers, the first-start password."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import base_config, write_config
from tests.fixtures.scenes import ZONE, walk_through
from tests.service.conftest import login
from tests.service.test_file_modes import loose_files

pytestmark = pytest.mark.slow
HOTSPOT = Path(sys.executable).parent / "hotspot"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "hotspot serve exited early"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("hotspot serve did not become healthy")


def test_serve_first_start_workers_and_clean_stop(tmp_path: Path) -> None:
    scene = walk_through(tmp_path / "hall.mp4", seconds=6)
    camera = {"id": "hall", "source": str(scene.path), "loop": True,
              "zones": [{"id": "door", "polygon": [list(p) for p in ZONE]}]}
    config = write_config(tmp_path, base_config(tmp_path / "data", cameras=[camera]))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([str(HOTSPOT), "serve", "--config", str(config), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "COLUMNS": "200"}, cwd=tmp_path)
    try:
        _wait_healthy(url, process)
        with httpx.Client(base_url=url, timeout=30, headers={"X-Forwarded-For": "203.0.113.9"}) as client:
            assert login(client, "admin", "not-the-password").status_code == 401  # forged address
        output = ""
        while "one-time password" not in output:
            output += process.stdout.readline()  # type: ignore[union-attr]
        secret = re.search(r"one-time password (\S+)", output).group(1)  # type: ignore[union-attr]
        with httpx.Client(base_url=url, timeout=30) as client:
            me = login(client, "admin", secret).json()
            assert me["must_change_password"] is True
            client.headers["X-CSRF-Token"] = me["csrf_token"]
            client.post("/api/me/password", json={"current_password": secret, "new_password": "site-admin-2026"})
            client.headers["X-CSRF-Token"] = login(client, "admin", "site-admin-2026").json()["csrf_token"]
            deadline = time.monotonic() + 20
            while (cameras := client.get("/api/cameras").json())[0]["state"] != "online":
                assert time.monotonic() < deadline, cameras
                time.sleep(0.3)
            assert cameras[0]["fps"] >= 0
            failed = client.get("/api/audit/logins", params={"success": "false"}).json()
            assert [row["remote"] for row in failed] == ["127.0.0.1"]  # no trusted proxy: header ignored
            while not client.get("/api/alerts").json():  # the worker records a clip and a snapshot
                assert time.monotonic() < deadline + 30, "no alert from the walking figure"
                time.sleep(0.3)
            zones = {"zones": [camera["zones"][0] | {"min_area": 0.05}], "privacy_zones": []}
            assert client.put("/api/cameras/hall/zones", json=zones).status_code == 200
        # Nothing the service wrote is readable by another local account.
        assert loose_files(tmp_path / "data") == []
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        assert list((tmp_path / "data" / "clips").rglob("*.mp4")) and (tmp_path / "data" / "hotspot.db-wal").exists()
        workers = psutil.Process(process.pid).children(recursive=True)
        assert workers, "no camera worker process was started"
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells why it stopped
    assert process.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in rest
    # The workers stop with the service (multiprocessing's resource tracker follows within moments).
    _gone, alive = psutil.wait_procs(workers, timeout=5)
    assert not alive, [p.cmdline() for p in alive]
