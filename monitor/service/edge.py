"""What every request passes before a route sees it: who is really calling, which host was
asked for, and the headers every response carries.

- The caller's address is the TCP peer. ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are read
  only when that peer is one of ``server.trusted_proxies`` (none by default), so a local client
  cannot forge the address the audit records and the login throttle counts. Run uvicorn with
  ``proxy_headers=False`` (``server_config`` does): this middleware is the only place that
  believes a forwarded header.
- The Host header must name one of ``server.allowed_hosts``: a DNS-rebinding page, whose
  requests name the attacker's host, gets 400 and reads nothing (not even ``/healthz``).
- Every response says ``nosniff`` and ``no-referrer`` and carries the content security policy;
  API responses are ``no-store`` unless the route chose otherwise, so a token, a one-time
  password or a clip never stays in a browser's or a proxy's cache.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.config import Server

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self'; style-src 'self' 'unsafe-inline'; "
    "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
}
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def host_name(host_header: str) -> str:
    """The host part of a Host header: ``[::1]:8000`` -> ``::1``, ``Example.org.:80`` -> ``example.org``."""
    value = host_header.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


class ForwardedFor:
    """Which address a request really comes from, believing only the configured proxies."""

    def __init__(self, trusted: Iterable[str]) -> None:
        self._trusted: tuple[Network, ...] = tuple(ipaddress.ip_network(t, strict=False) for t in trusted)

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)

    def client(self, peer: str, forwarded_for: str | None) -> str:
        """The right-most address that is not a trusted proxy, walking back from the peer."""
        if not forwarded_for or not self.trusts(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.trusts(hop):
                return hop[:64]
        return hops[0][:64] if hops else peer


class EdgeMiddleware:
    """Pure ASGI middleware (streaming responses such as clips and SSE pass through untouched)."""

    def __init__(self, app: ASGIApp, *, server: Server) -> None:
        self.app = app
        self._forwarded = ForwardedFor(server.trusted_proxies)
        self._hosts = frozenset(host_name(h) for h in server.allowed_hosts)

    def _host_allowed(self, headers: Headers) -> bool:
        return "*" in self._hosts or host_name(headers.get("host", "")) in self._hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not self._host_allowed(headers):
            response = JSONResponse({"detail": "this host name is not served here (server.allowed_hosts)"}, 400)
            await response(scope, receive, _with_headers(send, api=False))
            return
        scope = self._resolve_client(scope, headers)
        await self.app(scope, receive, _with_headers(send, api=scope["path"].startswith("/api/")))

    def _resolve_client(self, scope: Scope, headers: Headers) -> Scope:
        peer, port = scope.get("client") or ("unknown", 0)
        if not self._forwarded.trusts(peer):
            return scope
        scope = dict(scope)
        scope["client"] = (self._forwarded.client(peer, headers.get("x-forwarded-for")), port)
        proto = headers.get("x-forwarded-proto", "").strip().lower()
        if proto in ("http", "https"):
            scope["scheme"] = proto
        return scope


def _with_headers(send: Send, *, api: bool) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in ALWAYS.items():
                if name not in headers:
                    headers[name] = value
            if api and "cache-control" not in headers:
                headers["Cache-Control"] = "no-store"
        await send(message)

    return wrapped


def server_config(app: Any, **options: Any) -> Any:
    """uvicorn's settings for this app: it must not believe forwarded headers on its own
    (its default believes them from 127.0.0.1); ``EdgeMiddleware`` decides instead."""
    import uvicorn

    return uvicorn.Config(app, proxy_headers=False, server_header=False, **options)
