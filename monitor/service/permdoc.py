"""docs/permissions.md: the role matrix and, for every route of the app, the rule it enforces.

The endpoint table is read from the routes' own dependencies, and the permission tests check
the running server against the committed file, so the document cannot drift from the code.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount

from monitor.service.deps import route_permission
from monitor.service.permissions import matrix_markdown

INTRO = """# Permissions

Three roles use the dashboard and the API. The server enforces this matrix on every request
(browser sessions and API tokens alike); pages require the same permission as the data they show.
An account with a one-time password can only change its password until it does.
An admin cannot disable, demote or reset the password of their own account through the API
(409): another admin must. Changing a password ends every session of the user and revokes
their API tokens unless they choose to keep them; an admin's reset always revokes them.
`/metrics` is public unless `server.metrics_token` is set, and then needs that bearer token;
every route, public or not, answers only requests for a host in `server.allowed_hosts`
(see [security.md](security.md)).
Security staff see what triggered an alert, not the archive: with `alerts.clip` they can play
the clip(s) recorded for an alert on the board (the same privacy-masked video investigators
see) for 12 hours after the alert, roughly their shift, and every viewing is a custody entry
naming them ("viewed", via the alert board). They cannot search clips, open other clips,
download or export; older alerts' clips are for investigators (`clips.view`).
Generated from the code; `tests/service/test_permissions.py` checks every route below for every
role and for anonymous callers against this file.

## Roles

"""


def _calls(dependant: Dependant) -> Iterator[object]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def endpoint_rules(app: FastAPI) -> list[tuple[str, str, str]]:
    """(method, path, rule) for every route of ``app`` (included routers flattened), sorted."""
    rules: list[tuple[str, str, str]] = []
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path or ""
        if isinstance(route, Mount):
            rules.append(("GET", f"{path}/{{path}}", "public"))
            continue
        rule = route_permission(list(_calls(route.dependant))) if isinstance(route, APIRoute) else "public"
        rules.extend((method, path, rule) for method in sorted(context.methods or ()) if method != "HEAD")
    return sorted(rules, key=lambda r: (r[1], r[0]))


def permissions_markdown(app: FastAPI) -> str:
    lines = ["| method | path | rule |", "|---|---|---|"]
    lines += [f"| {method} | `{path}` | {rule} |" for method, path, rule in endpoint_rules(app)]
    return INTRO + matrix_markdown() + "\n## Endpoints\n\n" + "\n".join(lines) + "\n"
