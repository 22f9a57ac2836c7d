"""Every disclosure through the dashboard names the logged-in user; an export also names the
recipient and their legitimate interest, and nobody can sign it in someone else's name."""

from __future__ import annotations

from tests.service.conftest import Server

BODY = {"case": "2026-201", "reason": "records request", "recipient": "Parent of the student shown",
        "interest": "parent's right to inspect the record (FERPA 34 CFR 99.10)"}


def _entries(server: Server, clip_id: str, action: str) -> list:  # type: ignore[type-arg]
    return [e for e in server.site.runtime.evidence.entries(clip_id=clip_id) if str(e.action) == action]


def test_an_export_takes_its_actor_from_the_login_only(server: Server) -> None:
    clip, _ = server.site.add_clip()
    with server.client("investigator") as client:
        forged = client.post(f"/api/clips/{clip.id}/export", json={**BODY, "by": "principal"})
        assert forged.status_code == 422
        blank = client.post(f"/api/clips/{clip.id}/export", json={**BODY, "interest": ""})
        assert blank.status_code == 422
        assert _entries(server, clip.id, "exported") == []
        assert client.post(f"/api/clips/{clip.id}/export", json=BODY).status_code == 200
    [entry] = _entries(server, clip.id, "exported")
    assert entry.actor == "investigator" and entry.details["by"] == "investigator"
    assert (entry.details["recipient"], entry.details["interest"]) == (BODY["recipient"], BODY["interest"])


def test_views_and_downloads_name_the_user(server: Server) -> None:
    clip, _ = server.site.add_clip()
    with server.client("admin") as client:
        assert client.get(f"/api/clips/{clip.id}/video").status_code == 200
        assert client.get(f"/api/clips/{clip.id}/download").status_code == 200
    [viewed] = _entries(server, clip.id, "viewed")
    [downloaded] = _entries(server, clip.id, "downloaded")
    assert viewed.actor == "admin" and downloaded.actor == "admin"
    assert downloaded.details == {"via": "dashboard", "recipient": "admin", "role": "admin"}
