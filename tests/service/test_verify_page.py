"""The Verify-bundle page pins this site's keys: a bundle from another site, intact and signed
by that site's own key, is never shown as verified (over HTTP and in a real browser)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from evidence.export import Disclosure, export_bundle
from evidence.store import EvidenceStore
from monitor.store.db import make_engine
from tests.fixtures.media import make_h264_mp4
from tests.service.conftest import Server, log_in

DISCLOSURE = Disclosure(case="2026-114", reason="hearing", by="someone", recipient="District counsel",
                        interest="represents the district")


@pytest.fixture(scope="module")
def foreign_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A genuine bundle of another site (its own key, its own log), as an attacker would bring."""
    root = tmp_path_factory.mktemp("other-site")
    engine = make_engine(f"sqlite:///{root}/hotspot.db")
    ev = EvidenceStore.open(root, engine)
    (root / "clips" / "east-stairwell").mkdir(parents=True)
    path = make_h264_mp4(root / "clips" / "east-stairwell" / "c1.mp4", frames=10, width=320, height=240, fps=10)
    data = path.read_bytes()
    ev.seal_clip(clip_id="c1", path="clips/east-stairwell/c1.mp4", sha256=hashlib.sha256(data).hexdigest(),
                 size=len(data), metadata={"camera": "east-stairwell", "zones": ["landing"]})
    bundle = export_bundle(ev, "c1", root / "c1-2026-114.zip", disclosure=DISCLOSURE)
    kid = ev.keys.key_id
    engine.dispose()
    return bundle, kid


def test_the_api_refuses_a_foreign_bundle_and_logs_the_check(server: Server, foreign_bundle: tuple[Path, str]) -> None:
    bundle, foreign_key = foreign_bundle
    with server.client("investigator") as client:
        result = client.post("/api/bundles/verify", content=bundle.read_bytes(),
                             headers={"Content-Type": "application/zip"}).json()
    assert result["ok"] is False and result["trusted"] is False and result["signed_by_this_site"] is False
    assert foreign_key in result["error"] and "not signed by this site" in result["error"]
    assert result["site_keys"] == [server.site.runtime.evidence.keys.key_id] and "result" not in result
    logged = [e for e in server.site.runtime.evidence.entries() if str(e.action) == "verified"][-1]
    assert logged.actor == "investigator" and logged.details["trusted"] is False


@pytest.mark.browser
@pytest.mark.slow
def test_the_page_is_never_green_for_a_foreign_bundle(page: Page, server: Server, foreign_bundle: tuple[Path, str],
                                                      tmp_path: Path) -> None:
    bundle, foreign_key = foreign_bundle
    log_in(page, server, "investigator", "/verify")
    expect(page.locator("#verify-pinned")).to_contain_text("this site's own signing keys")
    expect(page.locator("#site-keys")).to_contain_text(server.site.runtime.evidence.keys.key_id)
    page.set_input_files("#verify-form input[type=file]", str(bundle))
    page.click("#verify-form button[type=submit]")
    result = page.locator("#verify-result")
    expect(result).to_contain_text("NOT VERIFIED")
    expect(result).to_contain_text(foreign_key)
    expect(result).to_have_class("failed")
    assert "VERIFIED:" not in result.inner_text().replace("NOT VERIFIED:", "")

    clip, _ = server.site.add_clip()
    with server.client("investigator") as client:
        own = client.post(f"/api/clips/{clip.id}/export", json={
            "case": "2026-115", "reason": "hearing", "recipient": "District counsel", "interest": "hearing"})
        assert own.status_code == 200, own.text
    mine = tmp_path / "mine.zip"
    mine.write_bytes(own.content)
    page.set_input_files("#verify-form input[type=file]", str(mine))
    page.click("#verify-form button[type=submit]")
    expect(result).to_have_class("ok")
    expect(result).to_contain_text("VERIFIED: intact and signed by this site's key")
