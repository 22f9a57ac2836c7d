"""Logging in over real HTTP: cookies, one-time passwords, rate limiting, disabled users, the log."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from monitor.service.accounts import add_user
from monitor.store.users import LoginAttempt
from tests.service.conftest import Server, login


def test_session_cookie_is_httponly_and_strict(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        response = login(client, "admin", "admin-pass-123")
        assert response.status_code == 200
        cookie = next(v for k, v in response.headers.multi_items()
                      if k == "set-cookie" and v.startswith("hotspot_session="))
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # plain http on loopback; https requests get Secure


def test_wrong_password_is_refused_and_logged(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        assert login(client, "investigator", "not-the-password").status_code == 401
        assert login(client, "no-such-user", "whatever-123").status_code == 401
    with server.client("admin") as admin:
        failed = admin.get("/api/audit/logins", params={"success": "false"}).json()
    names = [row["username"] for row in failed]
    assert "investigator" in names and "no-such-user" in names
    assert all(row["remote"] == "127.0.0.1" for row in failed)


def test_failed_logins_are_throttled(server: Server) -> None:
    """The module's server allows 3 free failures per user and address; then that address waits.
    (Other addresses and growing delays: test_login_throttle.py.)"""
    with server.site.runtime.sessions.begin() as session:
        add_user(session, "target", "security", "target-pass-123")
    with httpx.Client(base_url=server.url) as client:
        statuses = [login(client, "target", f"guess-{i}").status_code for i in range(3)]
        assert statuses == [401, 401, 401]
        limited = login(client, "target", "target-pass-123")
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) == 1
    with server.site.runtime.sessions() as session:
        reasons = [a.reason for a in session.scalars(select(LoginAttempt).where(LoginAttempt.username == "target"))]
    assert reasons == ["wrong username or password"] * 3 + ["throttled"]


def test_one_time_password_must_be_changed_first(server: Server) -> None:
    with server.client("admin") as admin:
        created = admin.post("/api/users", json={"username": "newguard", "role": "security"}).json()
    with httpx.Client(base_url=server.url) as client:
        me = login(client, "newguard", created["password"]).json()
        assert me["must_change_password"] is True
        client.headers["X-CSRF-Token"] = me["csrf_token"]
        assert client.get("/api/alerts").status_code == 403
        page = client.get("/alerts")
        assert page.status_code == 303 and page.headers["location"] == "/account"
        short = client.post("/api/me/password", json={"current_password": created["password"], "new_password": "short"})
        assert short.status_code == 422
        changed = client.post("/api/me/password",
                              json={"current_password": created["password"], "new_password": "guard-pass-456"})
        assert changed.status_code == 200
        assert client.get("/api/me").status_code == 401  # every session ends with the old password
        assert login(client, "newguard", created["password"]).status_code == 401
        me = login(client, "newguard", "guard-pass-456").json()
        assert me["must_change_password"] is False
        assert client.get("/api/alerts").status_code == 200


def test_disabled_user_loses_sessions_and_cannot_log_in(server: Server) -> None:
    with server.client("admin") as admin:
        created = admin.post("/api/users", json={"username": "leaver", "role": "investigator"}).json()
        with httpx.Client(base_url=server.url) as client:
            me = login(client, "leaver", created["password"]).json()
            client.headers["X-CSRF-Token"] = me["csrf_token"]
            client.post("/api/me/password", json={"current_password": created["password"],
                                                  "new_password": "leaver-pass-1"})
            login(client, "leaver", "leaver-pass-1")
            assert client.get("/api/clips").status_code == 200
            assert admin.patch("/api/users/leaver", json={"disabled": True}).json()["disabled"] is True
            assert client.get("/api/clips").status_code == 401
            assert login(client, "leaver", "leaver-pass-1").status_code == 401
        assert admin.patch("/api/users/admin", json={"disabled": True}).status_code == 409


def test_logout_ends_the_session(server: Server) -> None:
    with server.client("security") as client:
        assert client.post("/api/auth/logout").status_code == 204
        assert client.get("/api/alerts").status_code == 401


def test_login_page_only_redirects_inside_the_site(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        for hostile in ("//evil.example/x", "/\\evil.example", "https://evil.example/"):
            assert 'data-next="/alerts"' in client.get("/login", params={"next": hostile}).text
        assert 'data-next="/clips?camera=a"' in client.get("/login", params={"next": "/clips?camera=a"}).text
