"""Alert latency: motion onset in the stream to the alert arriving at an SSE client.

A real ``hotspot serve`` runs on loopback with one camera playing a rendered scene in real
time; a figure enters the hotspot every few seconds, at onsets known to the frame. The client
logs in like the dashboard and reads ``/api/alerts/stream``.

A file source stamps frame ``i`` with ``anchor + i / fps`` and releases it at that moment, so
the onset happened at ``anchor + onset``. The anchor is not visible from outside; it is
recovered from the alerts themselves: running the same pipeline over the same file offline
gives each event's trigger frame (detection is deterministic on a file), and
``alert time - trigger offset`` is the anchor, the same for every alert.

```sh
.venv/bin/python -m bench.latency --events 8 --period 10 --noise 0.8 --trace   # about 2.5 minutes
```

Run on its own, two cameras play the same scene in one ``hotspot serve``, one with the idle
gate and one without (``detection.idle_gate: false``), so both figures come from the same run
and the same load. ``--trace`` also times each stage of every alert's path inside the
service (``bench/latency_trace``): onset -> the trigger frame released by the paced source ->
event opened in the worker -> alert record journaled and sent -> received by the supervisor
-> committed -> published to the boards -> received by the SSE client. ``HOTSPOT_BENCH_KEEP``
names a folder to run in and keep (the service's log, with the trace lines, is ``live/serve.log``).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import httpx

from bench.footage import LATENCY_MIN_AREA, LATENCY_ZONE, OnsetScene, onset_scene
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
TRACE = REPO / "bench" / "latency_trace"
STAGES = ("frame", "event-opened", "snapshot-written", "sent", "supervisor", "stored", "published", "client")


def scene_camera(scene: OnsetScene, camera_id: str = "hall", *, idle_gate: bool = True) -> dict[str, object]:
    zone = [list(point) for point in LATENCY_ZONE]
    entry = camera_entry(camera_id, scene.path, mode="idle", loop=True, zone=zone,
                         min_area=LATENCY_MIN_AREA, post_roll=0.5)
    entry["recording"]["pre_roll"] = 1.0  # type: ignore[index]
    if not idle_gate:
        entry["detection"] = {"idle_gate": False}
    return entry


def trigger_offsets(scene: OnsetScene, folder: Path, entry: dict[str, object] | None = None) -> list[float]:
    """Seconds into the file of each alert's trigger frame, from an offline run."""
    entry = (entry or scene_camera(scene)) | {"loop": False}
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
                           headers={"X-CSRF-Token": client.cookies.get("hotspot_login_csrf") or ""})
    response.raise_for_status()
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(config: Path, port: int, log: Path, *, trace: bool = False) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "monitor.cli", "serve", "--config", str(config), "--port", str(port)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if trace:  # every process of the service imports bench/latency_trace/sitecustomize.py
        env |= {"HOTSPOT_BENCH_TRACE": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(TRACE), str(REPO), env.get("PYTHONPATH")]))}
    with log.open("wb") as handle:
        return subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, cwd=config.parent, env=env)


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


def live_alerts(scene: OnsetScene, folder: Path, cameras: list[dict[str, object]] | None = None, *,
                trace: bool = False) -> list[tuple[float, dict[str, object]]]:
    """Motion alerts received by an SSE client during one pass of the scene."""
    cameras = cameras or [scene_camera(scene)]
    config = write_site(folder, cameras)
    runtime = Runtime.open(site_config(folder, cameras))
    with runtime.sessions.begin() as session:
        add_user(session, USER, "security", PASSWORD)
    runtime.close()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = serve(config, port, folder / "serve.log", trace=trace)
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
    return [receipt - onset for onset, _, receipt in matched_alerts(scene, triggers, received)]


def matched_alerts(scene: OnsetScene, triggers: list[float],
                   received: list[tuple[float, dict[str, object]]]) -> list[tuple[float, float, float]]:
    """(onset, trigger frame time, receipt), epoch seconds, for each alert matched to an event."""
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
            result.append((anchor + scene.onsets[matched[0]], t, receipt))
    return result


def percentiles(values: list[float]) -> tuple[float, float]:
    """p50 and p95 as ``measure`` takes them (the nearest rank)."""
    ordered = sorted(values)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(scene: OnsetScene, scratch: Path) -> list[Row]:
    triggers = trigger_offsets(scene, scratch / "offline")
    found = latencies(scene, triggers, live_alerts(scene, scratch / "live"))
    if not found:
        raise RuntimeError("no alert reached the SSE client")
    ordered = sorted(found)
    p50, p95 = percentiles(found)
    note = f"{len(found)} of {len(scene.onsets)} events; detection alone {_detection(scene, triggers)}"
    return [
        Row("alert latency p50, onset -> SSE client", "360p", Spread.of([p50]), "s", digits=3, note=note),
        Row("alert latency p95, onset -> SSE client", "360p", Spread.of([p95]), "s", digits=3,
            target=f"<= {TARGET_P95} s", met=p95 <= TARGET_P95, note=f"min {ordered[0]:.3f}, max {ordered[-1]:.3f}"),
    ]


def _detection(scene: OnsetScene, triggers: list[float]) -> str:
    delays = [trig - onset for trig, onset in zip(triggers, scene.onsets)]
    return f"{min(delays):.3f}-{max(delays):.3f} s" if delays else "n/a"


# -- one run, the idle gate on and off side by side, each stage timed -------------------------

def read_trace(log: Path) -> tuple[dict[tuple[str, str, float], float], dict[str, list[tuple[float, float, str]]]]:
    """From the serve log: (stage, camera, trigger epoch) -> epoch, and per camera the gate
    openings as (packet wall epoch, epoch, reason)."""
    stages: dict[tuple[str, str, float], float] = {}
    openings: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("BENCHTRACE "):
            continue
        _, stage, camera, key, at = line.split()
        if key == "-":
            continue
        when = round(datetime.fromisoformat(key).timestamp(), 3)
        if stage.startswith("gate-open:"):
            openings[camera].append((when, float(at), stage.split(":", 1)[1]))
        else:
            stages.setdefault((stage, camera, when), float(at))
    return stages, openings


def breakdown(camera: str, alerts: list[tuple[float, float, float]], log: Path) -> list[str]:
    """Lines of a table: for each step of the path, its median and largest share of the latency."""
    stages, openings = read_trace(log)
    steps: dict[str, list[float]] = defaultdict(list)
    gate_lead: list[float] = []
    for onset, trigger, receipt in alerts:
        times = {"onset": onset, "frame": trigger, "client": receipt}
        for stage in STAGES[1:-1]:
            if (at := stages.get((stage, camera, round(trigger, 3)))) is not None:
                times[stage] = at
        previous = "onset"
        for stage in STAGES:
            if stage in times:
                steps[f"{previous} -> {stage}"].append(times[stage] - times[previous])
                previous = stage
        before = [at for wall, at, _ in openings.get(camera, []) if trigger - 10 < wall <= trigger]
        if before:
            gate_lead.append(max(before) - onset)
    lines = [f"| {step} | {statistics.median(values):.3f} | {max(values):.3f} |" for step, values in steps.items()]
    if gate_lead:
        lines.append(f"| (gate opened, relative to onset) | {statistics.median(gate_lead):+.3f} | {max(gate_lead):+.3f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=8)
    parser.add_argument("--period", type=float, default=10.0, help="seconds between walkers")
    parser.add_argument("--noise", type=float, default=0.8, help="sensor noise of the scene, luma levels")
    parser.add_argument("--trace", action="store_true", help="time each stage of the alert path")
    args = parser.parse_args(argv)
    scene = onset_scene(args.events, period=args.period, noise=args.noise)
    cameras = {"gate": scene_camera(scene, "gate"), "full": scene_camera(scene, "full", idle_gate=False)}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(os.environ.get("HOTSPOT_BENCH_KEEP", scratch))
        triggers = {name: trigger_offsets(scene, folder / f"offline-{name}", entry) for name, entry in cameras.items()}
        received = live_alerts(scene, folder / "live", list(cameras.values()), trace=args.trace)
        load = os.getloadavg()
        print(f"{args.events} walkers every {args.period:g} s, noise {args.noise:g}; "
              f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        print("| idle gate | events | p50 | p95 | min | max | detection alone (onset -> trigger frame) |")
        print("|---|---|---|---|---|---|---|")
        matched = {}
        for name in cameras:
            mine = [(at, alert) for at, alert in received if alert.get("camera_id") == name]
            matched[name] = matched_alerts(scene, triggers[name], mine)
            if len(matched[name]) < len(mine):
                print(f"{name}: {len(mine)} alerts received at {[str(a['time']) for _, a in mine]}; "
                      f"offline triggers at {[round(t, 3) for t in triggers[name]]} s")
            found = [receipt - onset for onset, _, receipt in matched[name]]
            if not found:
                print(f"| {name} | 0 of {args.events} | | | | | |")
                continue
            p50, p95 = percentiles(found)
            print(f"| {'on' if name == 'gate' else 'off'} | {len(found)} of {args.events} | {p50:.3f} | {p95:.3f} | "
                  f"{min(found):.3f} | {max(found):.3f} | {_detection(scene, triggers[name])} |")
        if args.trace:
            for name in cameras:
                print(f"\nidle gate {'on' if name == 'gate' else 'off'}: seconds per step, median and largest")
                print("| step | median | max |")
                print("|---|---|---|")
                print("\n".join(breakdown(name, matched[name], folder / "live" / "serve.log")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
