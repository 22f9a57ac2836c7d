"""Several ``hotspot serve --node`` processes on one PostgreSQL database and one storage folder.

Each camera is recorded by exactly one node, every node's dashboard shows every camera, and
when a node is killed (SIGKILL to its whole process group: a machine losing power) another
takes its cameras within the lease bound, seals the clip it left open as ``recovered``, and
raises a ``camera-moved`` alert. Nothing is lost: every clip is sealed once and verifies.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from evidence.actions import SEAL_ACTIONS, Action
from evidence.store import EvidenceStore
from monitor.cli import app
from monitor.config import config_hash, load_config
from monitor.store.db import make_engine
from monitor.store.leases import CameraLease
from tests.fixtures import scenes
from tests.fixtures.postgres_server import PostgresServer, free_port, postgres_server, postgres_url
from tests.reliability.conftest import camera, site_config, wait_for
from tests.reliability.test_commands_without_database import HOTSPOT, Command
from tests.reliability.test_postgres import alerts, clips
from tests.service.conftest import alert_events, login

pytestmark = pytest.mark.slow
__all__ = ["postgres_server", "postgres_url"]  # fixtures: imported so pytest finds them

HEARTBEAT, LEASE = 0.5, 3.0  # seconds; the defaults are 5 and 20
T = TypeVar("T")
BOUND = LEASE + HEARTBEAT  # a dead node's cameras move within this (plus the take-over's own work)


@contextmanager
def node(name: str, config_path: Path, port: int | None) -> Iterator[Command]:
    """``hotspot serve --node NAME`` (``hotspot run --node NAME`` without a port) in a process
    group of its own, so a test can kill the node with all its camera workers at once; stopped
    with SIGTERM at the end if still running."""
    command = ["serve", "--port", str(port)] if port is not None else ["run"]
    process = subprocess.Popen([str(HOTSPOT), *command, "--config", str(config_path), "--node", name],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, cwd=config_path.parent, start_new_session=True,
                               env={**os.environ, "COLUMNS": "300"})
    command = Command(process)
    try:
        yield command
    finally:
        command.stop()


def leases(engine: Engine) -> dict[str, CameraLease]:
    if not inspect(engine).has_table(CameraLease.__tablename__):
        return {}
    with Session(engine) as session:
        return {row.camera_id: row for row in session.scalars(select(CameraLease))}


def held(engine: Engine) -> dict[str, str]:
    """camera -> the node recording it, for leases in force."""
    return {cid: row.node for cid, row in leases(engine).items() if not row.released}


def when(value: T, test: Callable[[T], bool]) -> T | None:
    return value if test(value) else None


def next_alert(client: httpx.Client, camera_id: str) -> dict[str, object]:
    """The next alert of ``camera_id`` on the live board's stream (one walk per 6 s loop)."""
    deadline = time.monotonic() + 30
    with client.stream("GET", "/api/alerts/stream", timeout=15) as response:
        assert response.status_code == 200, response.read()
        for item in alert_events(response):
            if item["camera_id"] == camera_id:
                return item
            assert time.monotonic() < deadline, f"no alert of {camera_id} on the stream within 30 s"
    raise AssertionError("the alert stream ended")


def admin(client: httpx.Client, command: Command) -> None:
    output = wait_for(lambda: command.output if "one-time password" in command.output else None, 60,
                      "the first admin")
    secret = re.search(r"one-time password (\S+)", output).group(1)  # type: ignore[union-attr]
    assert login(client, "admin", secret).status_code == 200
    client.post("/api/me/password", json={"current_password": secret, "new_password": "site-admin-2026"})
    assert login(client, "admin", "site-admin-2026").status_code == 200


def zones_of(client: httpx.Client, camera_id: str) -> dict[str, Any]:
    return client.get(f"/api/cameras/{camera_id}/zones").json()  # type: ignore[no-any-return]


def listening(client: httpx.Client) -> bool:
    try:
        return client.get("/login").status_code == 200
    except httpx.TransportError:
        return False


def district(folder: Path, scene: scenes.Scene, database: str) -> Path:
    """cameras.yaml for two cameras looping the walk scene, with fast leases."""
    cameras = [camera(cid, str(scene.path), scene, loop=True) for cid in ("hall", "yard")]
    config_path = site_config(folder, cameras, database=database)
    config_path.write_text(config_path.read_text() + f"nodes:\n  heartbeat: {HEARTBEAT}\n  lease: {LEASE}\n")
    return config_path


@pytest.fixture
def site(tmp_path: Path, walk_scene: scenes.Scene, postgres_server: PostgresServer,
         postgres_url: str) -> Iterator[tuple[Path, Engine]]:
    """The district's cameras.yaml and an engine on its database."""
    engine = make_engine(postgres_url)
    yield district(tmp_path, walk_scene, postgres_url), engine
    engine.dispose()


def test_a_killed_node_s_cameras_move_to_another_within_the_lease_and_its_open_clip_is_recovered(
    site: tuple[Path, Engine],
) -> None:
    config_path, engine = site
    port_a, port_b = free_port(), free_port()
    with node("a", config_path, port_a) as a, httpx.Client(base_url=f"http://127.0.0.1:{port_b}",
                                                             timeout=10) as client:
        wait_for(lambda: "one-time password" in a.output, 60, "node a up with the first admin")
        with node("b", config_path, port_b) as b:
            spread = wait_for(lambda: when(held(engine), lambda h: sorted(h.values()) == ["a", "b"]),
                              60, "one camera on each node")
            admin(client, a)
            victim = next(cid for cid, name in spread.items() if name == "a")
            survivor = next(cid for cid, name in spread.items() if name == "b")

            def board() -> dict[str, dict[str, object]]:
                return {row["id"]: row for row in client.get("/api/cameras").json()}

            seen = wait_for(lambda: when(board(), lambda s: s[victim]["state"] == "online"), 30,
                            "node b's dashboard showing node a's camera online")
            assert (seen[victim]["node"], seen[survivor]["node"]) == ("a", "b"), seen
            alert = next_alert(client, victim)
            assert alert["kind"] == "motion", "node a's alert on node b's live board (SSE)"

            open_clip = wait_for(lambda: next((c for c in clips(engine) if c.camera_id == victim
                                               and c.status == "recording"), None), 30,
                                 f"a clip of {victim} open on node a")
            time.sleep(0.5)  # a few fragments on disk
            os.killpg(a.process.pid, signal.SIGKILL)
            killed = time.monotonic()
            wait_for(lambda: held(engine).get(victim) == "b", BOUND + 10, f"{victim} taken by node b")
            moved = time.monotonic() - killed
            print(f"take-over of {victim}: {moved:.2f} s after SIGKILL (heartbeat {HEARTBEAT} s, lease {LEASE} s)")
            assert moved <= BOUND + 2.0, f"the camera moved after {moved:.1f} s, bound {BOUND} s"
            lease = leases(engine)[victim]
            assert (lease.previous_node, lease.taken_over) == ("a", True)

            recovered = wait_for(lambda: next((c for c in clips(engine) if c.id == open_clip.id
                                               and c.status == "sealed"), None), 20,
                                 "node a's open clip sealed by node b")
            assert "recorder node a stopped renewing its lease" in (recovered.incomplete_reason or "")
            [moved_alert] = alerts(engine, "camera-moved")
            assert moved_alert.camera_id == victim and "taken over from node a" in moved_alert.message
            status = wait_for(lambda: when(board()[victim], lambda s: (s["node"], s["state"]) == ("b", "online")),
                              30, f"{victim} online on node b")
            assert "taken over from node a" in str(status["moved_from"])
            board_page = client.get("/alerts").text
            assert f"on node b ({status['moved_from']})" in board_page, "the take-over on the alert board"
            wait_for(lambda: any(c.camera_id == victim and c.start.timestamp() > time.time() - moved - 30
                                 and c.status == "sealed" and c.id != open_clip.id for c in clips(engine)
                                 if c.start > open_clip.start), 30, f"a new clip of {victim} sealed by node b")
        assert b.process.returncode in (0, -signal.SIGTERM), b.output
        assert "Traceback" not in b.output, b.output
    assert not held(engine), "a clean stop lets every camera go"
    rows = clips(engine)
    assert all(c.status == "sealed" for c in rows), [(c.id, c.status) for c in rows]
    entries = EvidenceStore.open(Path(load_config(config_path).storage.path), engine).entries()
    seals = Counter((e.clip_id, e.action) for e in entries if e.action in SEAL_ACTIONS)
    assert seals == Counter({(c.id, Action.RECOVERED if c.id == open_clip.id else Action.SEALED): 1
                             for c in rows}), seals
    events = Counter(a.event_id for a in alerts(engine, "motion"))
    assert events == Counter({c.event_id: 1 for c in rows}), "one motion alert per clip, none lost"
    result = CliRunner().invoke(app, ["verify", "--config", str(config_path)])
    assert result.exit_code == 0, result.output


def test_a_node_stopped_cleanly_hands_its_camera_over_at_once_without_a_recovered_clip(
    site: tuple[Path, Engine],
) -> None:
    config_path, engine = site
    with node("a", config_path, free_port()) as a:
        wait_for(lambda: "one-time password" in a.output, 60, "node a up with the first admin")
        with node("b", config_path, free_port()) as b:
            spread = wait_for(lambda: when(held(engine), lambda h: sorted(h.values()) == ["a", "b"]),
                              60, "one camera on each node")
            moving = next(cid for cid, name in spread.items() if name == "b")
            wait_for(lambda: any(c.camera_id == moving and c.status == "recording" for c in clips(engine)),
                     30, f"a clip of {moving} open on node b")
            b.process.send_signal(signal.SIGTERM)
            stopped, stopped_at = time.monotonic(), time.time()
            assert b.stop() in (0, -signal.SIGTERM), b.output
        wait_for(lambda: held(engine).get(moving) == "a", 10, f"{moving} handed to node a")
        handed = time.monotonic() - stopped
        lease = leases(engine)[moving]
        assert (lease.previous_node, lease.taken_over) == ("b", False), "handed over, not taken"
        print(f"hand-over of {moving}: {handed:.2f} s after SIGTERM")
        assert handed < 20, f"hand-over {handed:.1f} s after SIGTERM"
        wait_for(lambda: any(c.camera_id == moving and c.status == "sealed" and c.start.timestamp() > stopped_at
                             for c in clips(engine)), 30, f"a new clip of {moving} sealed by node a")
    assert alerts(engine, "camera-moved") == [], "a clean hand-over is no alarm"
    rows = clips(engine)
    assert rows and all(c.status == "sealed" and c.incomplete_reason is None for c in rows), \
        [(c.id, c.status, c.incomplete_reason) for c in rows]


def test_a_zone_drawn_on_node_a_is_used_by_node_b_s_camera_worker_within_seconds(
    site: tuple[Path, Engine], walk_scene: scenes.Scene,
) -> None:
    config_path, engine = site
    port_a, port_b = free_port(), free_port()
    with node("a", config_path, port_a) as a, \
            httpx.Client(base_url=f"http://127.0.0.1:{port_a}", timeout=10) as on_a, \
            httpx.Client(base_url=f"http://127.0.0.1:{port_b}", timeout=10) as on_b:
        wait_for(lambda: "one-time password" in a.output, 60, "node a up with the first admin")
        with node("b", config_path, port_b) as b:
            spread = wait_for(lambda: when(held(engine), lambda h: sorted(h.values()) == ["a", "b"]),
                              60, "one camera on each node")
            admin(on_a, a)
            assert login(on_b, "admin", "site-admin-2026").status_code == 200
            on_b_camera = next(cid for cid, name in spread.items() if name == "b")
            original = load_config(config_path)
            before = config_hash(original, original.camera(on_b_camera))
            polygon = [list(p) for p in walk_scene.polygons["zone"]]
            edit = {"zones": [{"id": "door", "name": "Door, drawn on node a", "polygon": polygon,
                               "min_area": 0.01}], "privacy_zones": []}
            response = on_a.put(f"/api/cameras/{on_b_camera}/zones", json=edit)
            assert response.status_code == 200, response.text
            edited = time.monotonic()

            def zone_on_b() -> dict[str, object]:
                return on_b.get(f"/api/cameras/{on_b_camera}/zones").json()["zones"][0]  # type: ignore[no-any-return]

            wait_for(lambda: zone_on_b()["name"] == "Door, drawn on node a", 10, "the zone on node b's API")
            applied = time.monotonic() - edited
            print(f"zone edited on node a, in force on node b after {applied:.2f} s")
            assert applied < 2.0, f"node b applied the edit after {applied:.1f} s"
            config = load_config(config_path)
            expected = config_hash(config, config.camera(on_b_camera))
            assert expected != before
            wait_for(lambda: next((c for c in clips(engine) if c.camera_id == on_b_camera
                                      and c.status == "sealed" and c.config_hash == expected), None),
                     40, f"a clip of {on_b_camera} sealed by node b under the edited zone")
            assert held(engine)[on_b_camera] == "b", "recorded by node b throughout"
        assert "Traceback" not in b.output, b.output


def test_simultaneous_zone_edits_on_two_nodes_lose_nothing(site: tuple[Path, Engine],
                                                           walk_scene: scenes.Scene) -> None:
    """Two admins save the same camera's zones at the same moment on two nodes, each based on what
    their page showed: exactly one is saved, the other is refused (409) and sees the saved zones.
    Edits of two different cameras at the same moment both land."""
    config_path, _engine = site
    port_a, port_b = free_port(), free_port()
    polygon = [list(p) for p in walk_scene.polygons["zone"]]

    def zones(name: str, version: str) -> dict[str, object]:
        return {"zones": [{"id": "door", "name": name, "polygon": polygon, "min_area": 0.01}],
                "privacy_zones": [], "based_on": version}

    def at_once(*puts: tuple[httpx.Client, str, dict[str, object]]) -> list[httpx.Response]:
        barrier = threading.Barrier(len(puts))

        def put(client: httpx.Client, url: str, body: dict[str, object]) -> httpx.Response:
            barrier.wait()
            return client.put(url, json=body)

        with ThreadPoolExecutor(len(puts)) as pool:
            return list(pool.map(lambda p: put(*p), puts))

    with node("a", config_path, port_a) as a, \
            httpx.Client(base_url=f"http://127.0.0.1:{port_a}", timeout=10) as on_a, \
            httpx.Client(base_url=f"http://127.0.0.1:{port_b}", timeout=10) as on_b:
        wait_for(lambda: listening(on_a), 60, "node a listening")
        admin(on_a, a)
        with node("b", config_path, port_b) as b:
            wait_for(lambda: listening(on_b), 60, "node b listening")
            assert login(on_b, "admin", "site-admin-2026").status_code == 200
            shown = zones_of(on_a, "hall")["version"]
            assert zones_of(on_b, "hall")["version"] == shown
            results = at_once((on_a, "/api/cameras/hall/zones", zones("Door, saved on a", shown)),
                              (on_b, "/api/cameras/hall/zones", zones("Door, saved on b", shown)))
            codes = sorted(r.status_code for r in results)
            assert codes == [200, 409], [r.text for r in results]
            refused = next(r for r in results if r.status_code == 409).json()["detail"]
            assert "the zones of camera hall changed since you loaded them" in refused["message"]
            saved = next(r for r in results if r.status_code == 200).json()
            kept = saved["zones"][0]["name"]
            wait_for(lambda: {zones_of(c, "hall")["version"] for c in (on_a, on_b)} == {saved["version"]},
                     10, "the saved zones on both nodes")
            assert load_config(config_path).camera("hall").zones[0].name == kept

            hall, yard = zones_of(on_a, "hall")["version"], zones_of(on_b, "yard")["version"]
            results = at_once((on_a, "/api/cameras/hall/zones", zones("Hall door, on a", hall)),
                              (on_b, "/api/cameras/yard/zones", zones("Yard gate, on b", yard)))
            assert [r.status_code for r in results] == [200, 200], [r.text for r in results]
            config = load_config(config_path)
            assert config.camera("hall").zones[0].name == "Hall door, on a"
            assert config.camera("yard").zones[0].name == "Yard gate, on b"
            wait_for(lambda: all([zones_of(c, cid)["zones"][0]["name"] for cid in ("hall", "yard")]
                                 == ["Hall door, on a", "Yard gate, on b"] for c in (on_a, on_b)),
                     10, "both edits in force on both nodes")
        assert "Traceback" not in b.output, b.output
    assert "Traceback" not in a.output, a.output


def test_hotspot_run_node_shares_the_cameras_with_a_serve_node(site: tuple[Path, Engine]) -> None:
    """``hotspot run --node`` is a recorder node like ``hotspot serve --node``: the cameras are
    spread over both, and a clean stop hands its camera over to the other at once."""
    config_path, engine = site
    bad = CliRunner().invoke(app, ["run", "--config", str(config_path), "--node", "not a name"])
    assert bad.exit_code == 2 and "--node" in bad.output
    with node("a", config_path, free_port()) as a:
        with node("w", config_path, None) as w:
            wait_for(lambda: when(held(engine), lambda h: sorted(h.values()) == ["a", "w"]), 60,
                     "one camera on each node")
            assert "node w: records the cameras whose lease it holds" in w.output
            wait_for(lambda: all(row.status.get("state") == "online" for row in leases(engine).values()), 60,
                     "both cameras online")
            assert w.stop() == 0, w.output
        wait_for(lambda: when(held(engine), lambda h: sorted(h.values()) == ["a", "a"]), 30,
                 "node a records both cameras after node w stopped")
        assert "Traceback" not in w.output, w.output
    assert "Traceback" not in a.output, a.output
