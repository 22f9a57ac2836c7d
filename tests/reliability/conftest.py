"""Reliability fixtures: a killable RTSP camera, a small real filesystem, a running site.

Everything here is real: the GStreamer RTSP server is a separate process that tests kill,
freeze and restart on the same port; the small filesystem is a tmpfs mounted with a size
limit; the site runs the real supervisor with one spawned worker process per camera.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Select, create_engine, inspect, select
from sqlalchemy.orm import Session

from monitor.config import load_config
from monitor.store.models import Alert, Clip
from monitor.workers.messages import AlertMessage
from monitor.workers.supervisor import CameraStatus, Supervisor
from tests.conftest import REPO, base_config, write_config
from tests.fixtures import scenes
from tests.reliability.stores import noise_clip

SERVER = REPO / "tests" / "fixtures" / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"
LOOP_SECONDS = 6.0  # one walk through the zone per loop of the served scene
T = TypeVar("T")
R = TypeVar("R")


# -- media ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def walk_scene(tmp_path_factory: pytest.TempPathFactory) -> scenes.Scene:
    """A figure crosses the hotspot once per 6 s; looped, it makes one event per loop."""
    folder = tmp_path_factory.mktemp("reliability-media")
    return scenes.walk_through(folder / "walk.mp4", seconds=LOOP_SECONDS, fps=15, size=(320, 240))


@pytest.fixture(scope="session")
def noise_clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Six different clips of about 1.5 MiB each, to fill a small filesystem with real video."""
    folder = tmp_path_factory.mktemp("noise")
    return [noise_clip(folder / f"noise{i}.mp4", seed=i) for i in range(6)]


# -- the RTSP camera -----------------------------------------------------------------------

def gst_rtsp_available() -> bool:
    probe = "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"
    try:
        return subprocess.run([SYSTEM_PYTHON, "-c", probe], check=False, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class RtspServer:
    """The GStreamer server as a child process: kill, freeze, thaw, restart on the same port."""

    def __init__(self, video: Path, *, clock: float | None = None) -> None:
        """``clock``: play as if live since that Unix time (``rtsp_server.py --clock``)."""
        self.video = video
        self.clock = clock
        self.port = 0
        self.url = ""
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> RtspServer:
        clock = [] if self.clock is None else ["--clock", repr(self.clock)]
        self.process = subprocess.Popen(
            [SYSTEM_PYTHON, str(SERVER), str(self.video), "--port", str(self.port), *clock],
            stdout=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("READY "), f"RTSP server did not start: {line!r}"
        self.url = line.split()[1]
        self.port = int(self.url.rsplit(":", 1)[1].split("/")[0])
        return self

    def kill(self) -> None:
        """SIGKILL, as a camera losing power; the port is free again at once."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP: the socket stays open and nothing more arrives."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def restart(self) -> None:
        self.kill()
        self.start()


@pytest.fixture
def rtsp_server(walk_scene: scenes.Scene) -> Iterator[RtspServer]:
    """A real RTSP camera streaming the walk scene in a loop."""
    if not gst_rtsp_available():
        pytest.skip("GStreamer RTSP server missing: apt-get install gir1.2-gst-rtsp-server-1.0 python3-gi")
    server = RtspServer(walk_scene.path).start()
    yield server
    server.kill()


# -- a small real filesystem ---------------------------------------------------------------

@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """``small_fs(size_mb)`` mounts a tmpfs of that size and returns its folder."""
    mounted: list[Path] = []

    def mount(size_mb: int) -> Path:
        target = tmp_path / f"fs{len(mounted)}"
        target.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(target)],
                                check=False, capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs (needs root): {result.stderr.strip()}")
        mounted.append(target)
        return target

    yield mount
    for target in reversed(mounted):
        subprocess.run(["umount", "-l", str(target)], check=False)


# -- a running site --------------------------------------------------------------------------

def camera(camera_id: str, source: str, scene: scenes.Scene, **extra: Any) -> dict[str, Any]:
    """A camera whose hotspot is the scene's zone, with short pre- and post-roll."""
    zone = {"id": "door", "polygon": [list(p) for p in scene.polygons["zone"]], "min_area": 0.02}
    return {"id": camera_id, "source": source, "zones": [zone],
            "recording": {"pre_roll": 1.0, "post_roll": 1.0, "max_clip": 60},
            "detection": {"analysis_fps": 5}, **extra}


def site_config(folder: Path, cameras: list[dict[str, Any]], storage: Path | None = None,
                *, schedules: dict[str, Any] | None = None, **storage_fields: Any) -> Path:
    """Write cameras.yaml for ``cameras`` (and ``schedules``) with storage (and database) under
    ``storage``."""
    root = storage or folder / "data"
    data = base_config(root, cameras=cameras, schedules=schedules or {})
    data["storage"].update(storage_fields)
    return write_config(folder, data)


def wait_for(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.1) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class Site:
    """A configuration, its database, and a real supervisor running it."""

    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self.config = load_config(config_path)
        self.root = Path(self.config.storage.path)
        self.engine = create_engine(self.config.storage.database)
        self.database = Path(self.engine.url.database or "")
        self.alerts: list[AlertMessage] = []
        self._lock = threading.Lock()
        self.supervisor: Supervisor | None = None

    def start(self, *, recovered: bool = True) -> Site:
        """``recovered``: as if ``hotspot run`` had run the start-up recovery pass first."""
        self.supervisor = Supervisor(self.config, on_alert=self._alert, recovered=recovered)
        self.supervisor.start()
        return self

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None

    def _alert(self, message: AlertMessage) -> None:
        with self._lock:
            self.alerts.append(message)

    def received(self, kind: str, camera_id: str) -> list[AlertMessage]:
        with self._lock:
            return [a for a in self.alerts if a.kind == kind and a.camera_id == camera_id]

    def status(self, camera_id: str) -> CameraStatus:
        assert self.supervisor is not None
        return self.supervisor.statuses()[camera_id]

    def clips(self, camera_id: str | None = None) -> list[Clip]:
        query = select(Clip).order_by(Clip.start)
        if camera_id is not None:
            query = query.where(Clip.camera_id == camera_id)
        return self._rows(query)

    def alert_rows(self, kind: str | None = None) -> list[Alert]:
        query = select(Alert).order_by(Alert.id)
        if kind is not None:
            query = query.where(Alert.kind == kind)
        return self._rows(query)

    def _rows(self, query: Select[R]) -> list[R]:
        """Rows, or none while the service has not created the database yet."""
        if not self.database.is_file() or not inspect(self.engine).has_table(Clip.__tablename__):
            return []
        with Session(self.engine) as session:
            return list(session.scalars(query))


@pytest.fixture
def make_site(tmp_path: Path) -> Iterator[Callable[..., Site]]:
    """``make_site(cameras, storage=None, *, schedules=None, **storage_fields)`` writes a config
    and returns a Site (not started); every started site is stopped after the test."""
    sites: list[Site] = []

    def build(cameras: list[dict[str, Any]], storage: Path | None = None, **fields: Any) -> Site:
        folder = tmp_path / f"site-{uuid.uuid4().hex[:6]}"
        folder.mkdir()
        site = Site(site_config(folder, cameras, storage, **fields))
        sites.append(site)
        return site

    yield build
    for site in sites:
        site.stop()
        site.engine.dispose()
