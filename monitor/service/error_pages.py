"""Every error a person meets in the browser is a page of the dashboard, never raw JSON.

The page keeps the header (so the way back is one click) and says what happened in words;
the server's own detail is shown below it only when it names something the person asked for.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import SQLAlchemyError

from monitor.service.accounts import session_user
from monitor.service.deps import SESSION_COOKIE, Principal

PAGES: dict[int, tuple[str, str]] = {
    403: ("Not for your role", "Your account's role does not include this page. If your work needs it, ask an admin."),
    404: ("Not found", "There is nothing at this address: it may have been mistyped, or what it showed is gone."),
    410: ("Gone", "What this address showed is no longer stored."),
    422: ("Cannot read that address", "A value in the address or the search form is not in a form this page reads."),
    503: ("Unavailable for a moment", "The server cannot answer this page right now."),
}


def _who(request: Request) -> Principal | None:
    """The logged-in person, for the header's menu; nobody when that cannot be told."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        with request.app.state.service.runtime.sessions() as db:
            found = session_user(db, cookie)
            if found is None:
                return None
            user, web = found
            return Principal(user.id, user.username, user.role, user.must_change_password, web.csrf_token)
    except SQLAlchemyError:
        return None


def error_page(request: Request, status: int, detail: str, *, who: bool = True) -> HTMLResponse:
    from monitor.service.routers.pages import render  # the pages import the app's routers

    title, explanation = PAGES.get(status, ("Something went wrong", "The page could not be shown."))
    shown = detail if status in (404, 410, 422, 503) else ""
    user = _who(request) if who else None
    response = render(request, "error.html", user, request.app.state.service, status=status, title=title,
                      explanation=explanation, detail=shown, home="/" if user else "/login",
                      home_label="the alert board" if user else "the login page")
    response.status_code = status
    return response
