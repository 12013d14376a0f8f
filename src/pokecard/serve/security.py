"""Access token and request-size guards, as plain ASGI middleware (they cover every route,
static files included)."""

from __future__ import annotations

import hmac
import json
import secrets
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

COOKIE = "pokecard_token"
HEADER = b"x-pokecard-token"


def new_token() -> str:
    return secrets.token_urlsafe(24)


async def _reply(send: Any, status: int, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class TokenGuard:
    """Every request must carry the token: ``?token=`` (the printed URL; it sets a cookie so
    the page's own requests carry it), the cookie, or the X-Pokecard-Token header."""

    def __init__(self, app: Any, token: str | None) -> None:
        self.app = app
        self.token = token

    def _presented(self, scope: dict[str, Any]) -> tuple[str | None, bool]:
        headers = dict(scope.get("headers") or [])
        if HEADER in headers:
            return headers[HEADER].decode("latin-1"), False
        q = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
        if q:
            return q[0], True
        if b"cookie" in headers:
            c = SimpleCookie()
            try:
                c.load(headers[b"cookie"].decode("latin-1"))
            except Exception:  # a malformed cookie header is just no token
                return None, False
            if COOKIE in c:
                return c[COOKIE].value, False
        return None, False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.token is None or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        got, from_query = self._presented(scope)
        if got is None or not hmac.compare_digest(got.encode(), self.token.encode()):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 4401})
                return
            await _reply(
                send, 401, "access token missing or wrong: open the URL that `pokecard serve` printed"
            )
            return
        if not from_query:
            await self.app(scope, receive, send)
            return
        cookie = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode()

        async def send_cookie(msg: dict[str, Any]) -> None:
            if msg["type"] == "http.response.start":
                msg = {**msg, "headers": [*msg.get("headers", []), (b"set-cookie", cookie)]}
            await send(msg)

        await self.app(scope, receive, send_cookie)


class BodyLimit:
    """Refuses a request body over ``max_bytes`` (413), by Content-Length before reading it and
    by counting when it is streamed without one."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        try:
            declared = int(headers.get(b"content-length", b"0"))
        except ValueError:
            declared = 0
        if declared > self.max_bytes:
            await _reply(
                send, 413, f"request of {declared} bytes is over the limit of {self.max_bytes} bytes"
            )
            return
        seen = 0

        async def counted() -> dict[str, Any]:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    return {"type": "http.disconnect"}  # the app stops reading; nothing is stored
            return msg

        await self.app(scope, counted, send)
