"""A timestamp authority that is down shows as a backlog: on the audit page and in the health check."""

from __future__ import annotations

from pathlib import Path

import httpx

from evidence.actions import Action
from monitor.service.accounts import add_user
from monitor.service.app import create_app
from monitor.service.state import ServiceSettings
from tests.conftest import base_config, write_config
from tests.service.conftest import CAMERA, PASSWORDS, SCHEDULES, Server, Site, serve

DOWN = "http://127.0.0.1:9/tsr"  # nothing listens on the discard port


def test_an_unreachable_authority_shows_as_a_backlog_and_sealing_goes_on(tmp_path: Path) -> None:
    storage = tmp_path / "data"
    config = write_config(tmp_path, base_config(
        storage, schedules=SCHEDULES, cameras=[CAMERA],
        evidence={"timestamp_authorities": [DOWN], "timestamp_timeout": 0.5}))
    site = Site(config, storage, create_app(config, settings=ServiceSettings(start_workers=False)))
    with site.runtime.sessions.begin() as session:
        add_user(session, "admin", "admin", PASSWORDS["admin"])
    clip, _ = site.add_clip()  # sealed although the authority is down
    assert [e.action for e in site.runtime.evidence.entries(clip.id)] == [Action.SEALED]
    stamper = site.runtime.evidence.timestamper
    assert stamper is not None and stamper.backlog() == {DOWN: 1}
    with serve(site.app) as url:
        assert httpx.get(f"{url}/healthz").json()["timestamps_pending"] == 1
        with Server(url, site).client("admin") as admin:
            page = admin.get("/audit").text
    assert f"1 checkpoint(s) wait for a token from {DOWN}" in page
