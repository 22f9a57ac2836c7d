"""Alert latency: motion onset in the stream to the alert arriving at an SSE client.

A real ``hotspot serve`` runs on loopback with one camera playing a rendered scene in real
time; a figure enters the hotspot every few seconds, at onsets known to the frame. The client
logs in like the dashboard and reads ``/api/alerts/stream``.

A file source stamps frame ``i`` with ``anchor + i / fps`` and releases it at that moment, so
the onset happened at ``anchor + onset``. The anchor is not visible from outside; it is
recovered from the alerts themselves: running the same pipeline over the same file offline
gives each event's trigger frame (detection is deterministic on a file), and
``alert time - trigger offset`` is the anchor, the same for every alert.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.footage import LATENCY_MIN_AREA, LATENCY_ZONE, OnsetScene
from bench.sites import camera_entry, site_config, write_site
from bench.table import Row, Spread
from monitor.capture import SourceEnded, VideoSource
from monitor.pipeline.camera import CameraPipeline, StreamInfo
from monitor.seal.database_outbox import DatabaseOutbox
from monitor.service.accounts import add_user
from monitor.site.runtime import Runtime
from monitor.workers.messages import AlertMessage

START = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
USER, PASSWORD = "bench", "bench-password-1"
MATCH_SECONDS = 0.05
TARGET_P95 = 0.5


def scene_camera(scene: OnsetScene) -> dict[str, object]:
    zone = [list(point) for point in LATENCY_ZONE]
    entry = camera_entry("hall", scene.path, mode="idle", loop=True, zone=zone,
                         min_area=LATENCY_MIN_AREA, post_roll=0.5)
    entry["recording"]["pre_roll"] = 1.0  # type: ignore[index]
    return entry


def trigger_offsets(scene: OnsetScene, folder: Path) -> list[float]:
    """Seconds into the file of each alert's trigger frame, from an offline run."""
    entry = scene_camera(scene) | {"loop": False}
    config = site_config(folder, [entry])
    runtime = Runtime.open(config)
    alerts: list[AlertMessage] = []
    try:
        with VideoSource(str(scene.path), realtime=False, start=START, skip_loop_filter=True) as source:
            stream = StreamInfo.of(source)
            pipeline = CameraPipeline(runtime, config.cameras[0], stream, live_view=False,
                                      outbox=DatabaseOutbox(runtime, on_alert=alerts.append))
            last = START
            try:
                for packet in source:
                    pipeline.process(packet)
                    last = packet.wall_time
            except SourceEnded:
                pass
            pipeline.close(last, reason="end_of_file")
    finally:
        runtime.close()
    return [(a.time - START).total_seconds() for a in alerts if a.kind == "motion"]


class AlertListener:
    """Reads the SSE stream in a thread; keeps (receipt epoch seconds, alert) pairs."""

    def __init__(self, client: httpx.Client) -> None:
        self.received: list[tuple[float, dict[str, object]]] = []
        self.connected = threading.Event()
        self._client = client
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        """Until the service stops (which ends the stream mid-chunk)."""
        try:
            with self._client.stream("GET", "/api/alerts/stream", timeout=None) as response:
                response.raise_for_status()
                self.connected.set()
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        self.received.append((time.time(), json.loads(line[5:])))
        except httpx.HTTPError:
            return


def login(client: httpx.Client) -> None:
    client.get("/login")
    response = client.post("/api/auth/login", json={"username": USER, "password": PASSWORD},
                           headers={"X-CSRF-Token": client.cookies.get("hotspot_login_csrf", "")})
    response.raise_for_status()
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "monitor.cli", "serve", "--config", str(config), "--port", str(port)]
    with log.open("wb") as handle:
        return subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, cwd=config.parent,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})


def wait_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"hotspot serve exited: {log.read_text()[-2000:]}")
        try:
            httpx.get(f"{url}/login", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("hotspot serve did not answer within 60 s")


def live_alerts(scene: OnsetScene, folder: Path) -> list[tuple[float, dict[str, object]]]:
    """Motion alerts received by an SSE client during one pass of the scene."""
    config = write_site(folder, [scene_camera(scene)])
    runtime = Runtime.open(site_config(folder, [scene_camera(scene)]))
    with runtime.sessions.begin() as session:
        add_user(session, USER, "security", PASSWORD)
    runtime.close()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = serve(config, port, folder / "serve.log")
    try:
        wait_up(url, process, folder / "serve.log")
        with httpx.Client(base_url=url, timeout=10) as client:
            login(client)
            listener = AlertListener(client)
            listener.connected.wait(10)
            time.sleep(scene.seconds + 2.0)
            return [(at, alert) for at, alert in listener.received if alert.get("kind") == "motion"]
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def latencies(scene: OnsetScene, triggers: list[float], received: list[tuple[float, dict[str, object]]]) -> list[float]:
    """Receipt minus onset for every alert matched to an event of the first pass."""
    if not received or not triggers:
        return []
    times = [datetime.fromisoformat(str(alert["time"])).timestamp() for _, alert in received]
    candidates = [t - trigger for t in times for trigger in triggers]
    anchor = max(candidates, key=lambda a: sum(any(abs(t - trig - a) < MATCH_SECONDS for trig in triggers)
                                               for t in times))
    result = []
    for (receipt, _), t in zip(received, times):
        matched = [k for k, trig in enumerate(triggers) if abs(t - trig - anchor) < MATCH_SECONDS]
        if matched and matched[0] < len(scene.onsets):
            result.append(receipt - (anchor + scene.onsets[matched[0]]))
    return result


def measure(scene: OnsetScene, scratch: Path) -> list[Row]:
    triggers = trigger_offsets(scene, scratch / "offline")
    found = latencies(scene, triggers, live_alerts(scene, scratch / "live"))
    if not found:
        raise RuntimeError("no alert reached the SSE client")
    ordered = sorted(found)
    p50 = ordered[len(ordered) // 2]
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    note = f"{len(found)} of {len(scene.onsets)} events; detection alone {_detection(scene, triggers)}"
    return [
        Row("alert latency p50, onset -> SSE client", "360p", Spread.of([p50]), "s", digits=3, note=note),
        Row("alert latency p95, onset -> SSE client", "360p", Spread.of([p95]), "s", digits=3,
            target=f"<= {TARGET_P95} s", met=p95 <= TARGET_P95, note=f"min {ordered[0]:.3f}, max {ordered[-1]:.3f}"),
    ]


def _detection(scene: OnsetScene, triggers: list[float]) -> str:
    delays = [trig - onset for trig, onset in zip(triggers, scene.onsets)]
    return f"{min(delays):.3f}-{max(delays):.3f} s" if delays else "n/a"
