"""``hotspot users ...`` against the same SQLite file a running service uses."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from typer.testing import CliRunner

from monitor.cli import app
from monitor.service.accounts import ensure_first_admin
from monitor.service.permissions import matrix_markdown
from tests.service.conftest import Server, login, make_site, serve

runner = CliRunner()


def _hotspot(server: Server, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--config", str(server.site.config_path)], input=stdin)
    return result.exit_code, result.output


def test_add_passwd_disable_token(server: Server) -> None:
    code, out = _hotspot(server, "users", "add", "nightguard", "--role", "security")
    assert code == 0, out
    one_time = re.search(r"one-time password: (\S+)", out).group(1)  # type: ignore[union-attr]
    with httpx.Client(base_url=server.url) as client:
        assert login(client, "nightguard", one_time).json()["must_change_password"] is True

    code, out = _hotspot(server, "users", "passwd", "nightguard", stdin="night-pass-789\nnight-pass-789\n")
    assert code == 0, out
    with httpx.Client(base_url=server.url) as client:
        me = login(client, "nightguard", "night-pass-789").json()
        assert me["must_change_password"] is False and me["role"] == "security"

    code, token = _hotspot(server, "users", "token", "nightguard", "--name", "radio-bridge")
    assert code == 0
    bearer = {"Authorization": f"Bearer {token.strip()}"}
    assert httpx.get(f"{server.url}/api/alerts", headers=bearer).status_code == 200

    assert _hotspot(server, "users", "disable", "nightguard")[0] == 0
    assert httpx.get(f"{server.url}/api/alerts", headers=bearer).status_code == 401
    with httpx.Client(base_url=server.url) as client:
        assert login(client, "nightguard", "night-pass-789").status_code == 401
    assert _hotspot(server, "users", "disable", "nightguard", "--enable")[0] == 0
    with httpx.Client(base_url=server.url) as client:
        assert login(client, "nightguard", "night-pass-789").status_code == 200


def test_bad_input_exits_2_with_a_reason(server: Server) -> None:
    code, out = _hotspot(server, "users", "add", "Bad Name", "--role", "security")
    assert code == 2 and "not allowed" in out
    code, out = _hotspot(server, "users", "add", "someone", "--role", "janitor")
    assert code == 2 and "roles are security, investigator, admin" in out
    code, out = _hotspot(server, "users", "add", "admin", "--role", "admin")
    assert code == 2 and "already exists" in out
    code, out = _hotspot(server, "users", "passwd", "ghost", "--one-time")
    assert code == 2 and "no user 'ghost'" in out
    code, out = _hotspot(server, "users", "passwd", "security", stdin="short\nshort\n")
    assert code == 2 and "at least 10 characters" in out


def test_first_start_admin_must_change_the_printed_password(tmp_path: Path) -> None:
    site = make_site(tmp_path, users=False)
    with site.runtime.sessions.begin() as session:
        secret = ensure_first_admin(session)
    with site.runtime.sessions.begin() as session:
        assert ensure_first_admin(session) is None  # only ever on a site without users
    assert secret and len(secret) >= 12
    with serve(site.app) as url, httpx.Client(base_url=url) as client:
        me = login(client, "admin", secret).json()
        assert me["role"] == "admin" and me["must_change_password"] is True
        assert client.get("/api/users").status_code == 403


def test_permissions_command_prints_the_matrix() -> None:
    result = runner.invoke(app, ["users", "permissions"])
    assert result.exit_code == 0 and result.output == matrix_markdown()


def test_user_changes_by_command_are_on_the_custody_log(server: Server) -> None:
    assert _hotspot(server, "users", "add", "porter", "--role", "security")[0] == 0
    assert _hotspot(server, "users", "passwd", "porter", "--one-time")[0] == 0
    assert _hotspot(server, "users", "token", "porter", "--name", "door-panel")[0] == 0
    assert _hotspot(server, "users", "disable", "porter")[0] == 0
    entries = [e for e in server.site.runtime.evidence.entries() if e.details.get("user") == "porter"]
    assert [str(e.action) for e in entries] == ["user_added", "password_reset", "token_created", "user_changed"]
    assert all(e.actor.endswith("(command line)") for e in entries)
    assert entries[0].details["role"] == "security" and entries[3].details["disabled"] is True
