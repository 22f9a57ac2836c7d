"""Credentials as an attacker with a stolen password would probe them: API tokens after a password
change or reset, guessable passwords, and an admin resetting their own password."""

from __future__ import annotations

import contextlib

import httpx
from typer.testing import CliRunner

from monitor.cli import app as cli
from monitor.service.accounts import add_user, new_api_token
from tests.service.conftest import Server, login

runner = CliRunner()


def _user_with_token(server: Server, username: str, password: str) -> tuple[httpx.Client, dict[str, str]]:
    """A logged-in user with an API token (as a thief with their password would make, too)."""
    with server.site.runtime.sessions.begin() as session:
        user, _secret = add_user(session, username, "investigator", password)
        _row, token = new_api_token(session, user, "script")
    client = httpx.Client(base_url=server.url)
    client.headers["X-CSRF-Token"] = login(client, username, password).json()["csrf_token"]
    return client, {"Authorization": f"Bearer {token}"}


def test_changing_the_password_revokes_api_tokens_unless_the_user_keeps_them(server: Server) -> None:
    client, bearer = _user_with_token(server, "owner1", "owner-pass-2718")
    with contextlib.closing(client):
        kept = client.post("/api/me/password", json={"current_password": "owner-pass-2718",
                                                     "new_password": "owner-pass-3141", "revoke_tokens": False})
        assert kept.json() == {"sessions_ended": True, "tokens_revoked": 0}
        assert httpx.get(f"{server.url}/api/clips", headers=bearer).status_code == 200
        client.headers["X-CSRF-Token"] = login(client, "owner1", "owner-pass-3141").json()["csrf_token"]
        changed = client.post("/api/me/password", json={"current_password": "owner-pass-3141",
                                                        "new_password": "owner-pass-5772"})
        assert changed.status_code == 200
        assert changed.json() == {"sessions_ended": True, "tokens_revoked": 1}  # the default revokes
        assert httpx.get(f"{server.url}/api/clips", headers=bearer).status_code == 401


def test_an_admin_reset_revokes_the_users_tokens_and_says_so(server: Server) -> None:
    client, bearer = _user_with_token(server, "owner3", "owner-pass-2718")
    client.close()
    with server.client("admin") as admin:
        reset = admin.post("/api/users/owner3/reset-password")
    assert reset.status_code == 200 and reset.json()["tokens_revoked"] == 1
    assert httpx.get(f"{server.url}/api/clips", headers=bearer).status_code == 401


def test_the_command_line_revokes_tokens_and_says_so(server: Server) -> None:
    client, bearer = _user_with_token(server, "owner4", "owner-pass-2718")
    client.close()
    result = runner.invoke(cli, ["users", "passwd", "owner4", "--one-time", "--config", str(server.site.config_path)])
    assert result.exit_code == 0, result.output
    assert "1 API token(s) revoked" in result.output
    assert httpx.get(f"{server.url}/api/clips", headers=bearer).status_code == 401


def test_common_and_guessable_passwords_are_refused(server: Server) -> None:
    with server.client("admin") as admin:
        created = admin.post("/api/users", json={"username": "guessme", "role": "security"}).json()
    with httpx.Client(base_url=server.url) as client:
        client.headers["X-CSRF-Token"] = login(client, "guessme", created["password"]).json()["csrf_token"]
        # all of these pass the old rule (10 characters, not the username)
        for weak in ("password123", "Summer2024!", "qwertyuiop", "P@ssw0rd2024", "guessme2026!", "testschool2026",
                     "a" * 300):  # past zxcvbn's 72 characters: judged, not a server error
            refused = client.post("/api/me/password", json={"current_password": created["password"],
                                                            "new_password": weak})
            assert refused.status_code == 422, weak
            assert "too easy to guess" in refused.text, weak
        accepted = client.post("/api/me/password", json={"current_password": created["password"],
                                                         "new_password": "amber-trellis-42"})
        assert accepted.status_code == 200
    result = runner.invoke(cli, ["users", "passwd", "guessme", "--config", str(server.site.config_path)],
                           input="iloveyou123\niloveyou123\n")
    assert result.exit_code == 2 and "too easy to guess" in result.output


def test_an_admin_cannot_reset_their_own_password_through_the_api(server: Server) -> None:
    with server.client("admin") as admin:
        token = admin.post("/api/me/tokens", json={"name": "self"}).json()["token"]
        refused = admin.post("/api/users/admin/reset-password")
        assert refused.status_code == 409 and "Account page" in refused.json()["detail"]
        assert admin.get("/api/users").status_code == 200  # still logged in
    assert httpx.get(f"{server.url}/api/users", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with httpx.Client(base_url=server.url) as client:
        assert login(client, "admin", "admin-pass-123").status_code == 200
