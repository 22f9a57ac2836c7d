"""Every delivery of clip bytes is a custody entry, once per viewing: attacked with hand-made
Range headers, and checked against a real browser's playback (many range requests, seeks,
a reload)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Request

from tests.service.conftest import Server, log_in


def _views(server: Server, clip_id: str) -> list[str]:
    return [e.actor for e in server.site.runtime.evidence.entries(clip_id=clip_id) if str(e.action) == "viewed"]


@pytest.mark.parametrize("header", ["bytes=-999999999", "bytes=00-", "bytes=1-", "bytes=0-0,1-",
                                    "bytes=500-999"])
def test_any_range_that_delivers_bytes_is_logged(server: Server, header: str) -> None:
    clip, _alert = server.site.add_clip()
    with server.client("investigator") as client:
        response = client.get(f"/api/clips/{clip.id}/video", headers={"Range": header})
        assert response.status_code in (200, 206) and response.content
    assert _views(server, clip.id) == ["investigator"]


def test_a_viewing_is_one_entry_however_many_requests(server: Server) -> None:
    clip, _alert = server.site.add_clip()
    with server.client("investigator") as client:
        for header in ("bytes=-999999999", "bytes=0-1023", "bytes=1024-", "bytes=00-"):
            assert client.get(f"/api/clips/{clip.id}/video", headers={"Range": header}).status_code == 206
    with server.client("admin") as client:
        assert client.get(f"/api/clips/{clip.id}/video").status_code == 200
    assert _views(server, clip.id) == ["investigator", "admin"]


@pytest.mark.browser
@pytest.mark.slow
def test_browser_playback_with_seeks_and_a_reload_is_one_view(page: Page, server: Server) -> None:
    clip, _alert = server.site.add_clip()
    video_requests: list[str | None] = []

    def record(request: Request) -> None:
        if request.url.endswith(f"/api/clips/{clip.id}/video"):
            video_requests.append(request.headers.get("range"))

    page.on("request", record)
    log_in(page, server, "investigator", f"/clips/{clip.id}")
    # Plain evaluations: polling with wait_for_function would eval() inside the page, which the
    # dashboard's content security policy forbids.
    played_to_the_end = """async (start) => {
        const v = document.getElementById('player');
        if (v.readyState < 4) await new Promise((r) => v.addEventListener('canplaythrough', r, {once: true}));
        v.muted = true; v.currentTime = start;
        const ended = new Promise((r) => v.addEventListener('ended', r, {once: true}));
        await v.play(); await ended; return v.currentTime;
    }"""
    for _round in range(2):
        assert page.evaluate(played_to_the_end, 0) > 1.5
        assert page.evaluate(played_to_the_end, 0.5) > 1.5  # seek back and play again
        page.reload()
    assert len(video_requests) >= 2, video_requests  # a reload fetches again (no-store)
    assert _views(server, clip.id) == ["investigator"]
