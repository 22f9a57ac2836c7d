"""Every route x every role x anonymous, over real HTTP, against docs/permissions.md.

The committed document is the specification: its endpoint table must list exactly the app's
routes with the rules the code declares, and the running server must answer each caller as the
document's role matrix says (401 or a login redirect for anonymous, 403 without the permission).
Set HOTSPOT_WRITE_DOCS=1 to regenerate the document after a deliberate change.
"""

from __future__ import annotations

import os
import re

import httpx
import pytest

from monitor.service.permdoc import endpoint_rules, permissions_markdown
from tests.conftest import REPO
from tests.service.conftest import ROLES, Server

DOC = REPO / "docs" / "permissions.md"
ANONYMOUS = "anonymous"


def _doc_tables(text: str) -> tuple[dict[str, set[str]], dict[tuple[str, str], str]]:
    """(role -> permissions, (method, path) -> rule) as written in the document."""
    roles_part, endpoints_part = text.split("## Endpoints")
    header = next(line for line in roles_part.splitlines() if line.startswith("| permission"))
    role_names = [c.strip() for c in header.strip("|").split("|")][2:]
    matrix: dict[str, set[str]] = {role: set() for role in role_names}
    for permission, *marks in re.findall(r"^\| `([a-z.]+)` \| [^|]+ \| (\S+) \| (\S+) \| (\S+) \|$", roles_part, re.MULTILINE):
        for role, mark in zip(role_names, marks, strict=True):
            if mark == "yes":
                matrix[role].add(permission)
    rules = {(m, p): r for m, p, r in re.findall(r"^\| ([A-Z]+) \| `([^`]+)` \| ([^|]+?) \|$", endpoints_part, re.MULTILINE)}
    return matrix, rules


@pytest.fixture(scope="module")
def spec(server: Server) -> tuple[dict[str, set[str]], dict[tuple[str, str], str]]:
    if os.environ.get("HOTSPOT_WRITE_DOCS") == "1":
        DOC.write_text(permissions_markdown(server.site.app), encoding="utf-8")
    return _doc_tables(DOC.read_text(encoding="utf-8"))


def test_document_matches_the_code(server: Server, spec: object) -> None:
    assert DOC.read_text(encoding="utf-8") == permissions_markdown(server.site.app), (
        "docs/permissions.md is out of date: run the tests with HOTSPOT_WRITE_DOCS=1 and review the diff"
    )


def test_every_route_is_in_the_document(server: Server, spec: tuple[dict[str, set[str]], dict[tuple[str, str], str]]) -> None:
    _matrix, rules = spec
    code = {(m, p): r for m, p, r in endpoint_rules(server.site.app)}
    assert code == rules
    assert len(rules) > 40


def _expected(rule: str, who: str, matrix: dict[str, set[str]]) -> str:
    """'allowed', 'login' (not authenticated) or 'forbidden'."""
    if rule == "public":
        return "allowed"
    if who == ANONYMOUS:
        return "login"
    if rule in ("any logged-in user", "any active user"):
        return "allowed"
    return "allowed" if rule in matrix[who] else "forbidden"


def _fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)


def _call(client: httpx.Client, method: str, url: str) -> tuple[int, str]:
    """Send the request and read only the status (streams such as SSE are closed at once)."""
    body: dict[str, object] | None = None if method == "GET" else {}
    with client.stream(method, url, json=body) as response:
        return response.status_code, response.headers.get("location", "")


def _verdict(status: int, location: str) -> str:
    if status == 401 or (status == 303 and location.startswith("/login")):
        return "login"
    return "forbidden" if status == 403 else "allowed"


@pytest.mark.slow
def test_every_route_for_every_role(server: Server, spec: tuple[dict[str, set[str]], dict[tuple[str, str], str]]) -> None:
    matrix, rules = spec
    clip, alert = server.site.add_clip()
    assert alert is not None
    ids = {"clip_id": clip.id, "alert_id": str(alert.id), "camera_id": "east-stairwell", "username": "nobody-here",
           "token_id": "999999", "path": "app.css", "case_ref": "no-such-case", "photo_id": "999999",
           "request_id": "no-such-request"}
    # Logging out ends the session, so it goes last.
    ordered = sorted(rules.items(), key=lambda item: item[0][1] == "/api/auth/logout")
    failures = []
    for who in (ANONYMOUS, *ROLES):
        with server.client(None if who == ANONYMOUS else who) as client:
            for (method, path), rule in ordered:
                status, location = _call(client, method, _fill(path, ids))
                got, want = _verdict(status, location), _expected(rule, who, matrix)
                if got != want:
                    failures.append(f"{who} {method} {path}: expected {want}, got HTTP {status}")
                if want == "allowed":
                    assert status < 500, f"{who} {method} {path}: HTTP {status}"
    assert not failures, "\n".join(failures)


def test_api_tokens_carry_their_owner_role_and_need_no_csrf(server: Server) -> None:
    with server.client("security") as browser:
        token = browser.post("/api/me/tokens", json={"name": "script"}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers) as script:
        assert script.get("/api/alerts").status_code == 200
        assert script.get("/api/clips").status_code == 403
        assert script.get("/api/users").status_code == 403
        alert = server.site.add_alert()
        assert script.post(f"/api/alerts/{alert.id}/ack", json={"note": "checked by script"}).status_code == 200
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer hs_not-a-token"}) as forged:
        assert forged.get("/api/alerts").status_code == 401


def test_revoked_token_stops_working(server: Server) -> None:
    with server.client("investigator") as browser:
        created = browser.post("/api/me/tokens", json={"name": "once"}).json()
        headers = {"Authorization": f"Bearer {created['token']}"}
        assert httpx.get(f"{server.url}/api/clips", headers=headers).status_code == 200
        assert browser.post(f"/api/me/tokens/{created['id']}/revoke").status_code == 204
        assert httpx.get(f"{server.url}/api/clips", headers=headers).status_code == 401


def test_csrf_is_required_on_every_state_changing_route(server: Server) -> None:
    unsafe = [(m, p) for m, p, rule in endpoint_rules(server.site.app) if m != "GET" and rule != "public"]
    assert len(unsafe) >= 15
    clip, alert = server.site.add_clip()
    ids = {"clip_id": clip.id, "alert_id": str(alert.id if alert else 0), "camera_id": "east-stairwell",
           "username": "security", "token_id": "1", "case_ref": "no-such-case", "photo_id": "1",
           "request_id": "no-such-request"}
    with server.client("admin") as client:
        good = client.headers.pop("X-CSRF-Token")
        for method, path in unsafe:
            url = _fill(path, ids)
            assert client.request(method, url, json={}).status_code == 403, f"{method} {path} without CSRF"
            bad = client.request(method, url, json={}, headers={"X-CSRF-Token": good[:-2] + "xx"})
            assert bad.status_code == 403, f"{method} {path} with a wrong CSRF token"
        assert client.get("/api/me").status_code == 200  # reads need no token, and the session still works


def test_login_itself_needs_the_login_csrf_cookie(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        response = client.post("/api/auth/login", json={"username": "admin", "password": "admin-pass-123"})
        assert response.status_code == 403
        client.get("/login")
        forged = client.post("/api/auth/login", json={"username": "admin", "password": "admin-pass-123"},
                             headers={"X-CSRF-Token": "guessed"})
        assert forged.status_code == 403
