"""Small leaks: server paths in verify errors, and error answers the OpenAPI schema did not
declare (a client generated from the schema would choke on them)."""

from __future__ import annotations

import tempfile
from typing import Any

import httpx
import jsonschema_rs

from tests.service.conftest import Server


def test_bundle_verify_errors_name_no_server_path(server: Server) -> None:
    with server.client("investigator") as client:
        for body in (b"PK\x03\x04 not really a zip", b"plain text", b"PK\x05\x06" + b"\0" * 18):
            result = client.post("/api/bundles/verify", content=body).json()
            assert result["ok"] is False and result["error"]
            assert tempfile.gettempdir() not in result["error"] and "upload-" not in result["error"], result["error"]


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The response schema with the components it refers to, for jsonschema."""
    return {**schema, "components": spec["components"]}


def _check(spec: dict[str, Any], method: str, path: str, response: httpx.Response) -> None:
    declared = spec["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in declared, f"{method.upper()} {path} answered {status}, undeclared: {list(declared)}"
    schema = declared[status]["content"]["application/json"]["schema"]
    jsonschema_rs.validate(_resolve(spec, schema), response.json())


def test_error_answers_are_declared_in_the_schema(server: Server) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    with server.client("security") as guard:
        _check(spec, "get", "/api/users", guard.get("/api/users"))  # 403
        _check(spec, "get", "/api/alerts/{alert_id}", guard.get("/api/alerts/424242"))  # 404
        _check(spec, "post", "/api/me/password", guard.post(  # 422 with a sentence
            "/api/me/password", json={"current_password": "security-pass-1", "new_password": "security-pass-1"}))
        _check(spec, "post", "/api/me/password", guard.post(  # 422 from the validator: a list
            "/api/me/password", json={"current_password": 5}))
        _check(spec, "post", "/api/me/password", guard.post(  # 403
            "/api/me/password", json={"current_password": "wrong-one-xx", "new_password": "amber-trellis-42"}))
    with server.client("admin") as admin:
        _check(spec, "patch", "/api/users/{username}", admin.patch("/api/users/admin", json={"disabled": True}))  # 409
        _check(spec, "put", "/api/cameras/{camera_id}/zones", admin.put(  # 422 with the config's problems
            "/api/cameras/east-stairwell/zones",
            json={"zones": [{"id": "x", "polygon": [[0, 0], [1, 1]]}], "privacy_zones": []}))
    with httpx.Client(base_url=server.url) as anonymous:
        _check(spec, "get", "/api/alerts", anonymous.get("/api/alerts"))  # 401
        _check(spec, "get", "/api/alerts", anonymous.get("/api/alerts", headers={"Host": "evil.example"}))  # 400
