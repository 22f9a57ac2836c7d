"""The audit view: logins and custody entries, filterable, for admins only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.service.conftest import Server, login


def test_custody_filters(server: Server) -> None:
    clip, _ = server.site.add_clip()
    other, _ = server.site.add_clip()
    with server.client("investigator") as investigator:
        investigator.get(f"/api/clips/{clip.id}/download")
        investigator.post(f"/api/clips/{other.id}/hold", json={"reason": "case 9"})
    with server.client("admin") as admin:
        def rows(**params: str) -> list[dict[str, object]]:
            response = admin.get("/api/audit/custody", params=params)
            assert response.status_code == 200, response.text
            return response.json()

        assert {r["action"] for r in rows(clip_id=clip.id)} == {"sealed", "downloaded"}
        held = rows(action="hold_set", actor="investigator")
        assert other.id in {r["clip_id"] for r in held} and clip.id not in {r["clip_id"] for r in held}
        assert all(r["actor"] == "system" for r in rows(action="sealed"))
        future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        assert rows(since=future) == []
        assert len(rows(limit="1")) == 1
        seqs = [int(str(r["seq"])) for r in rows()]
        assert seqs == sorted(seqs, reverse=True)
        page = admin.get("/audit", params={"actor": "investigator", "action": "downloaded"})
        assert page.status_code == 200 and clip.id in page.text and other.id not in page.text


def test_login_filters(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        login(client, "security", "wrong-password-x")
        login(client, "security", "security-pass-1")
    with server.client("admin") as admin:
        failed = admin.get("/api/audit/logins", params={"username": "security", "success": "false"}).json()
        ok = admin.get("/api/audit/logins", params={"username": "security", "success": "true"}).json()
        assert failed and all(not r["success"] and r["reason"] for r in failed)
        assert ok and all(r["success"] for r in ok)
        page = admin.get("/audit", params={"username": "security"})
        assert "failed: wrong username or password" in page.text
