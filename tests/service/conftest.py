"""A real service for the API and browser tests: uvicorn on a port-0 socket, a real SQLite file.

The site has one user per role (known passwords), and, when a test asks for it, a real sealed
H.264 clip and an alert pointing at it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import av
import httpx
import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Page, expect

from monitor.service.accounts import RateLimit, add_user
from monitor.service.app import create_app
from monitor.service.edge import server_config
from monitor.service.state import ServiceSettings
from monitor.site.runtime import Runtime
from monitor.store.models import Alert, Clip
from tests.conftest import REPO, base_config, write_config
from tests.fixtures.media import make_h264_mp4

PASSWORDS = {"security": "security-pass-1", "investigator": "investigator-pass-1", "admin": "admin-pass-123"}
ROLES = tuple(PASSWORDS)
CAMERA = {
    "id": "east-stairwell",
    "name": "East stairwell",
    "source": "unused.mp4",
    "zones": [{"id": "landing", "polygon": [[0.1, 0.2], [0.6, 0.2], [0.6, 0.95], [0.1, 0.95]],
               "schedule": "after-hours", "min_area": 0.02}],
    "privacy": {"zones": [{"id": "window", "polygon": [[0.7, 0.0], [1.0, 0.0], [1.0, 0.4], [0.7, 0.4]]}]},
}
SCHEDULES = {"after-hours": {"windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "15:30",
                                          "to": "07:00"}], "on_holidays": "all-day"}}


@dataclass
class Site:
    config_path: Path
    storage: Path
    app: FastAPI

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.service.runtime
        return runtime

    def add_clip(self, *, camera: str = "east-stairwell", zones: tuple[str, ...] = ("landing",),
                 start: datetime | None = None, with_alert: bool = True,
                 recovered: bool = False, placement: dict[str, int] | None = None,
                 ) -> tuple[Clip, Alert | None]:
        """A real sealed clip file plus its row and seal, and optionally its motion alert;
        ``placement``: where its 320x240 picture lies in a larger camera frame."""
        start = start or datetime.now(UTC) - timedelta(minutes=5)
        clip_id, event_id = uuid.uuid4().hex, uuid.uuid4().hex
        path = self.runtime.paths.clip_file(camera, start, clip_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        make_h264_mp4(path, frames=20, width=320, height=240, fps=10)
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        relative = self.runtime.paths.relative(path)
        self.runtime.evidence.seal_clip(clip_id=clip_id, path=relative, sha256=sha, size=len(data),
                                        metadata={"camera": camera, "zones": list(zones), "width": 320, "height": 240,
                                                  **({"placement": placement} if placement else {})},
                                        incomplete="the service stopped unexpectedly" if recovered else None,
                                        recovered=recovered)
        clip = Clip(id=clip_id, event_id=event_id, camera_id=camera, zones=list(zones), start=start,
                    end=start + timedelta(seconds=2), frame_count=20, width=320, height=240, fps=10.0,
                    config_hash="0" * 64, path=relative, sha256=sha, size_bytes=len(data), status="sealed")
        with self.runtime.sessions.begin() as session:
            session.add(clip)
        alert = (self.add_alert(camera=camera, zones=zones, event_id=event_id, clip_id=clip_id, time=start)
                 if with_alert else None)
        return clip, alert

    def add_alert(self, *, camera: str = "east-stairwell", zones: tuple[str, ...] = ("landing",),
                  event_id: str | None = None, clip_id: str | None = None, time: datetime | None = None) -> Alert:
        snapshot = self.runtime.paths.snapshots / camera / f"{uuid.uuid4().hex}.jpg"
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_bytes(_jpeg())
        alert = Alert(kind="motion", camera_id=camera, time=time or datetime.now(UTC), zones=list(zones),
                      zone_scores={z: 0.2 for z in zones}, score=0.2, message="motion in the landing",
                      snapshot_path=self.runtime.paths.relative(snapshot), event_id=event_id, clip_id=clip_id)
        with self.runtime.sessions.begin() as session:
            session.add(alert)
        return alert


def _jpeg() -> bytes:
    frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), 128, dtype=np.uint8), format="rgb24")
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height, codec.pix_fmt = 160, 120, "yuvj420p"
    packets = codec.encode(frame.reformat(format="yuvj420p")) + codec.encode(None)
    return b"".join(bytes(p) for p in packets)


def make_site(folder: Path, *, camera: dict[str, Any] | None = None, users: bool = True,
              config: dict[str, Any] | None = None, **settings: Any) -> Site:
    """A site in ``folder``; ``config`` adds or replaces sections of its cameras.yaml."""
    storage = folder / "data"
    data = {**base_config(storage, schedules=SCHEDULES, cameras=[camera or CAMERA]), **(config or {})}
    config_path = write_config(folder, data)
    app = create_app(config_path, settings=ServiceSettings(**{"start_workers": False, **settings}))
    site = Site(config_path, storage, app)
    if users:
        with site.runtime.sessions.begin() as session:
            for role, password in PASSWORDS.items():
                add_user(session, role, role, password)
    return site


@dataclass
class Server:
    url: str
    site: Site

    @contextlib.contextmanager
    def client(self, role: str | None = None) -> Iterator[httpx.Client]:
        """An httpx client; with a role, logged in through the login form's flow (cookie + CSRF)."""
        with httpx.Client(base_url=self.url, timeout=30, follow_redirects=False) as client:
            if role is not None:
                assert login(client, role, PASSWORDS[role]).status_code == 200
            yield client


def login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    client.get("/login")
    response = client.post("/api/auth/login", json={"username": username, "password": password},
                           headers={"X-CSRF-Token": client.cookies.get("hotspot_login_csrf") or ""})
    if response.status_code == 200:
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return response


def alert_events(response: httpx.Response, connected: threading.Event | None = None) -> Iterator[dict[str, Any]]:
    """The alerts a live board's stream (``/api/alerts/stream``) sends, as they come; sets
    ``connected`` once the stream says it is listening."""
    event = None
    for line in response.iter_lines():
        if line.startswith(": connected") and connected is not None:
            connected.set()
        elif line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event == "alert":
            yield json.loads(line[5:])


def listen(server: Server, out: queue.Queue[dict[str, Any]], ready: threading.Event) -> None:
    """Every alert the board's stream sends, until the server stops."""
    with contextlib.suppress(httpx.RemoteProtocolError), server.client("security") as client, \
            client.stream("GET", "/api/alerts/stream") as response:
        assert response.status_code == 200
        for item in alert_events(response, ready):
            out.put(item)


@contextlib.contextmanager
def live_board(site: Site) -> Iterator[queue.Queue[dict[str, Any]]]:
    """The site served, with one board reading its alert stream: the alerts it receives."""
    received: queue.Queue[dict[str, Any]] = queue.Queue()
    ready = threading.Event()
    with serve(site.app) as url:
        threading.Thread(target=listen, args=(Server(url, site), received, ready), daemon=True).start()
        assert ready.wait(10)
        yield received


@contextlib.contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free loopback port in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(server_config(app, log_level="warning", timeout_graceful_shutdown=1, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the service did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One service per test module, with a tight login rate limit so tests can reach it."""
    site = make_site(tmp_path_factory.mktemp("site"), rate_limit=RateLimit(failures=3, window=timedelta(minutes=5)),
                     max_bundle_bytes=5 * 1024 * 1024)
    with serve(site.app) as url:
        yield Server(url, site)


# The README's pictures are refreshed only on request (HOTSPOT_WRITE_DOCS=1), so an ordinary
# test run never leaves the checkout modified; otherwise they still go to a scratch folder.
SCREENSHOTS = (REPO / "docs" / "screenshots" if os.environ.get("HOTSPOT_WRITE_DOCS")
               else Path(tempfile.gettempdir()) / "hotspot-screenshots")


def log_in(page: Page, server: Server, role: str, target: str = "/alerts") -> None:
    page.goto(f"{server.url}{target}")
    expect(page).to_have_url(f"{server.url}/login?next={quote(target, safe='')}")
    page.fill("input[name=username]", role)
    page.fill("input[name=password]", PASSWORDS[role])
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server.url}{target}")


def shoot(page: Page, name: str, *, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=full_page)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's chromium; never resolve outside hosts (the machine is offline)."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"],
    }
