"""The error bodies the API answers with, as the OpenAPI schema declares them.

Every error is ``{"detail": ...}``: a sentence for the caller, the validator's list of
problems when a request does not fit its schema, or, for a configuration edit that was not
saved, the message and the config loader's problems.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ValidationProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ConfigProblems(BaseModel):
    message: str
    problems: list[str]


class ErrorOut(BaseModel):
    detail: str | list[ValidationProblem] | ConfigProblems


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("the Host header names a host this site does not serve (server.allowed_hosts)"),
    401: _error("not logged in, or the token is unknown or revoked"),
    403: _error("the role lacks the permission, the one-time password must be changed first, or the "
                "CSRF header is missing"),
    404: _error("no such alert, clip, camera, user or token"),
    409: _error("the request conflicts with the current state (already acknowledged, on hold, your own account)"),
    410: _error("the clip's file is missing from storage"),
    413: _error("the upload is larger than the limit"),
    422: _error("the request does not fit the schema, or the values are refused (the detail says why)"),
    429: _error("too many failed logins from this address: wait for Retry-After seconds"),
    503: _error("the database is unavailable; cameras keep recording"),
}
