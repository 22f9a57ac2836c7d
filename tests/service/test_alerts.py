"""Alerts over real HTTP: the live stream's latency, acknowledgement, filters, snapshots."""

from __future__ import annotations

import queue
import threading
import time

import httpx

from tests.service.conftest import Server, alert_events


def _listen(server: Server, out: queue.Queue[tuple[float, dict[str, object]]], ready: threading.Event) -> None:
    with server.client("security") as client, client.stream("GET", "/api/alerts/stream") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for item in alert_events(response, ready):
            out.put((time.monotonic(), item))
            return


def test_new_alert_reaches_the_stream_within_a_second(server: Server) -> None:
    received: queue.Queue[tuple[float, dict[str, object]]] = queue.Queue()
    ready = threading.Event()
    listener = threading.Thread(target=_listen, args=(server, received, ready), daemon=True)
    listener.start()
    assert ready.wait(5)
    written = time.monotonic()
    alert = server.site.add_alert(zones=("landing",))
    arrived, item = received.get(timeout=5)
    assert item["id"] == alert.id and item["zones"] == ["landing"] and item["camera_id"] == "east-stairwell"
    assert arrived - written < 1.0
    listener.join(5)


def test_acknowledge_with_note_and_filters(server: Server) -> None:
    first = server.site.add_alert(zones=("landing",))
    second = server.site.add_alert(zones=("door",))
    with server.client("security") as client:
        acked = client.post(f"/api/alerts/{first.id}/ack", json={"note": "checked: a teacher"}).json()
        assert acked["acknowledged_by"] == "security" and acked["ack_note"] == "checked: a teacher"
        assert client.post(f"/api/alerts/{first.id}/ack", json={"note": "again"}).status_code == 409
        open_ids = {a["id"] for a in client.get("/api/alerts", params={"unacknowledged": "true"}).json()}
        assert second.id in open_ids and first.id not in open_ids
        door = {a["id"] for a in client.get("/api/alerts", params={"zone": "door"}).json()}
        assert second.id in door and first.id not in door
        assert client.get("/api/alerts", params={"camera": "nowhere"}).json() == []
        board = client.get("/alerts", params={"unacknowledged": "true"})
        assert board.status_code == 200 and f'"id": {second.id}' in board.text
    with server.client("investigator") as client:
        assert client.post(f"/api/alerts/{second.id}/ack", json={"note": ""}).status_code == 403


def test_snapshot_is_served_to_alert_viewers(server: Server) -> None:
    alert = server.site.add_alert()
    with server.client("investigator") as client:
        response = client.get(f"/api/alerts/{alert.id}/snapshot.jpg")
    assert response.status_code == 200 and response.content[:2] == b"\xff\xd8"
    assert httpx.get(f"{server.url}/api/alerts/{alert.id}/snapshot.jpg").status_code == 401


def test_health_and_metrics(server: Server) -> None:
    server.site.add_alert()
    health = httpx.get(f"{server.url}/healthz").json()
    assert health["status"] == "ok" and health["cameras_configured"] == 1
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'hotspot_camera_online{camera="east-stairwell"} 0.0' in metrics
    assert 'hotspot_camera_decoded_fraction{camera="east-stairwell"} 0.0' in metrics
    assert 'hotspot_camera_decode_mode{camera="east-stairwell",mode="off-schedule"} 0.0' in metrics
    # Without a detect substream the main stream is the one the gates count: no gauge of its own.
    assert "# TYPE hotspot_camera_main_decoded_fraction gauge" in metrics
    assert "hotspot_camera_main_decoded_fraction{" not in metrics
    with server.client("security") as client:
        (camera,) = client.get("/api/cameras").json()
    assert camera["id"] == "east-stairwell" and camera["main_decoded_fraction"] is None
    unacknowledged = next(line for line in metrics.splitlines() if line.startswith("hotspot_alerts_unacknowledged "))
    assert float(unacknowledged.split()[1]) >= 1
