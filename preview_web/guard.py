"""The preview server's guards, checked in this order before any route (a pure ASGI wrapper).

1. **Host allow-list** before anything else: ``localhost``, ``127.0.0.1`` and ``[::1]`` on any
   port (so an SSH port-forward works), and exactly ``host[:port]`` (RFC 9110 §7.2): anything
   else, no Host, or a Host with userinfo (``evil.example@127.0.0.1``) is answered 421. This is
   what stops DNS rebinding (``localhost.evil.example``, ``127.0.0.1.nip.io``).
2. **Token**: the printed URL carries ``?token=`` (at least 128 random bits); the first visit
   trades it for an HttpOnly, SameSite=Strict cookie and is redirected to the same path without
   it (so it leaves the address bar and the history). The redirect goes to a path of this
   server only (``//evil.example/`` becomes ``/evil.example/``) and keeps the rest of the query
   byte for byte as it came. Every request needs the cookie (or the token), compared in
   constant time; else 401.
3. **Origin** on every non-GET request: present and on the allow-list, else 403.
4. **Body cap**: ``MAX_BODY`` bytes, else 413.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any
from urllib.parse import quote_from_bytes, unquote_plus, urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

MAX_BODY = 16 * 1024
MCP_PATH = "/mcp"
MCP_MAX_BODY = 1024 * 1024  # a tool call's arguments are at most 256 KiB (engine.agent.loop)
ALLOWED_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# uri-host [ ":" port ]: a bracketed IPv6 literal or a reg-name/IPv4 (no "@", no "/").
_HOST = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9._~!$&'()*+,;=%-]+)(?::[0-9]{0,5})?", re.ASCII)
# What a Location may carry unescaped (Starlette's RedirectResponse quotes with the same set).
_URL_SAFE = ":/%#?=@[]!$&'()*+,;"


def cookie_name(token: str) -> str:
    """The cookie of one project's server: named after its token, so two projects served on
    one host (cookies ignore ports) never overwrite each other's."""
    return f"reelcut_{hashlib.sha256(token.encode()).hexdigest()[:16]}"


def new_token() -> str:
    """192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def host_allowed(host: str | None, extra: frozenset[str] = frozenset()) -> bool:
    """``localhost``, ``127.0.0.1`` or ``[::1]`` (or a host named with ``--host``), with any
    port (or none), and nothing else in the header: no userinfo, path or spaces."""
    if not host:
        return False
    match = _HOST.fullmatch(host.lower())
    if match is None:
        return False
    name = match.group(1).removeprefix("[").removesuffix("]")
    return name in ALLOWED_HOSTS or name in {e.lower().strip("[]") for e in extra}


def origin_allowed(origin: str | None, extra: frozenset[str] = frozenset()) -> bool:
    """An Origin header naming this server: ``http(s)://`` and an allowed host, nothing more."""
    if not origin:
        return False
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or parts.path or parts.query or parts.fragment:
        return False
    return host_allowed(parts.netloc, extra)


def local_redirect(scope: Scope) -> str:
    """Where the token's redirect goes: this request's path on this server, as it came
    (still percent-encoded), with its query minus every ``token`` parameter, byte for byte.

    Leading slashes and backslashes collapse to one slash: a browser reads ``//host/`` (and
    ``/\\host/``) as a URL on another host, which would make the redirect an open one."""
    raw: bytes = scope.get("raw_path") or quote_from_bytes(scope["path"].encode()).encode()
    path = "/" + raw.split(b"?", 1)[0].lstrip(b"/\\").decode("latin-1")
    kept = [
        field
        for field in scope.get("query_string", b"").split(b"&")
        if field and unquote_plus(field.split(b"=", 1)[0].decode("latin-1")) != "token"
    ]
    query = b"&".join(kept).decode("latin-1")
    target = path + (f"?{query}" if query else "")
    return quote_from_bytes(target.encode("latin-1"), safe=_URL_SAFE)


class Guard:
    """Host allow-list, token/cookie, Origin and body cap, before any route (pure ASGI)."""

    def __init__(
        self,
        app: ASGIApp,
        token: str,
        max_body: int = MAX_BODY,
        extra_hosts: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.token = token.encode()
        self.cookie = cookie_name(token)
        self.max_body = max_body
        self.extra_hosts = extra_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if not host_allowed(headers.get("host"), self.extra_hosts):
            await PlainTextResponse("misdirected request: unknown Host", 421)(scope, receive, send)
            return
        if scope["path"] == MCP_PATH:
            await self._mcp(scope, receive, send, headers)
            return
        request = Request(scope)
        given = request.query_params.get("token")
        cookie = request.cookies.get(self.cookie)
        if given is not None and self._ok(given):
            # Trade the token for a cookie and drop it from the address bar.
            response = RedirectResponse(local_redirect(scope), 303)
            response.set_cookie(
                self.cookie, given, httponly=True, samesite="strict", path="/", secure=False
            )
            await response(scope, receive, send)
            return
        if cookie is None or not self._ok(cookie):
            await PlainTextResponse(
                "unauthorised: open the URL reelcut printed (it carries the token)", 401
            )(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            if not origin_allowed(headers.get("origin"), self.extra_hosts):
                await PlainTextResponse("forbidden: cross-origin request", 403)(
                    scope, receive, send
                )
                return
            length = headers.get("content-length")
            if length is not None and (
                not (length.isascii() and length.isdigit()) or int(length) > self.max_body
            ):
                await PlainTextResponse("request body too large", 413)(scope, receive, send)
                return
            receive = self._capped(receive)
        await self.app(scope, receive, send)

    async def _mcp(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]
    ) -> None:
        """The MCP endpoint: a bearer token (the project's, as in the page's URL), never a
        cookie or a query (a page on another site must not ride on the browser's); an Origin,
        when a browser sends one, of this server only; a bounded body."""
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not self._ok(value.strip()):
            await PlainTextResponse(
                "unauthorised: send Authorization: Bearer <the token in reelcut's preview URL>",
                401,
                headers={"WWW-Authenticate": "Bearer"},
            )(scope, receive, send)
            return
        if "origin" in headers and not origin_allowed(headers["origin"], self.extra_hosts):
            await PlainTextResponse("forbidden: cross-origin request", 403)(scope, receive, send)
            return
        length = headers.get("content-length")
        if length is not None and (
            not (length.isascii() and length.isdigit()) or int(length) > MCP_MAX_BODY
        ):
            await PlainTextResponse("request body too large", 413)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _ok(self, value: str) -> bool:
        return hmac.compare_digest(value.encode(), self.token)

    def _capped(self, receive: Receive) -> Receive:
        seen = 0
        cap = self.max_body

        async def capped() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise BodyTooLarge
            return message

        return capped


class BodyTooLarge(Exception):
    """A request body grew past the cap while it was read (no Content-Length, or a false one)."""
