"""`ToolGuard`: ASGI middleware that enforces casa tokens in front of a tool server
(the `mcp` SDK's streamable-HTTP app, or any Starlette/FastAPI app).

Every HTTP request needs `Authorization: Bearer <token>`, verified offline against the
realm's JWKS: `alg` EdDSA only, `typ` `at+jwt`, `iss` the configured realm, `aud` this
server's client id, `exp`/`nbf` with a small leeway. A JSON-RPC `tools/call` must name a
tool in the token's `tools`. With `introspection`, each token is also checked online
(RFC 7662), so a revoked token is refused at once.

Denials are RFC 6750: 401 (`invalid_token`) or 403 (`insufficient_scope`) with
`WWW-Authenticate`, and a JSON-RPC error object naming the reason when the request was
JSON-RPC. The token is never logged; the verified claims are in `scope["casa.claims"]`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import httpx
import jwt

from .jwks import JwksCache
from .oauth import basic_auth

log = logging.getLogger("casa_sdk.toolguard")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

MAX_BODY_BYTES = 4 * 1024 * 1024
# JSON-RPC server error codes (-32000 to -32099 are implementation-defined).
UNAUTHORIZED = -32001
FORBIDDEN = -32003


@dataclass
class Introspection:
    """Online checking: this server's own client credentials at casa's introspection endpoint."""

    url: str
    client_id: str
    client_secret: str


class Denied(Exception):
    def __init__(self, status: int, error: str, reason: str, description: str):
        self.status, self.error, self.reason, self.description = status, error, reason, description


class ToolGuard:
    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        *,
        issuer: str,
        audience: str,
        jwks_uri: str | None = None,
        leeway_seconds: int = 5,
        introspection: Introspection | None = None,
        http: httpx.AsyncClient | None = None,
        realm: str = "casa",
        jwks_min_refresh_seconds: float = 10.0,
    ):
        self.app = app
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.leeway = leeway_seconds
        self.introspection = introspection
        self.realm = realm
        self._http = http or httpx.AsyncClient(timeout=10)
        self.jwks = JwksCache(jwks_uri or f"{self.issuer}/.well-known/jwks.json", self._http, jwks_min_refresh_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body, more = await _read_body(receive)
        rpc = _json_rpc(body)
        try:
            if more:
                raise Denied(413, "invalid_request", "body_too_large", "the request body is too large")
            claims = await self._verify(_bearer(scope))
            for call in rpc:
                if call.get("method") == "tools/call":
                    name = (call.get("params") or {}).get("name")
                    if not isinstance(name, str) or name not in claims.get("tools", []):
                        raise Denied(403, "insufficient_scope", "tool_not_in_token",
                                     f"the token does not grant the tool {name!r}")
        except Denied as d:
            log.info("denied %s %s: %s", scope.get("method"), scope.get("path"), d.reason)
            return await self._deny(send, d, rpc)
        scope = {**scope, "casa.claims": claims}
        await self.app(scope, _replay(body, receive), send)

    async def _verify(self, token: str) -> dict[str, Any]:
        def invalid(reason: str, description: str) -> Denied:
            return Denied(401, "invalid_token", reason, description)

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise invalid("malformed", "the token is not a JWS") from None
        if header.get("alg") != "EdDSA" or header.get("typ") != "at+jwt" or not isinstance(header.get("kid"), str):
            raise invalid("bad_header", "the token's header is not {alg: EdDSA, typ: at+jwt, kid}")
        try:
            key = await self.jwks.key(header["kid"])
        except httpx.HTTPError:
            raise Denied(503, "temporarily_unavailable", "jwks_unavailable", "the realm's keys cannot be read") from None
        if key is None:
            raise invalid("unknown_key", "the token's key is not a key of the realm")
        try:
            claims = jwt.decode(
                token, key.key, algorithms=["EdDSA"], audience=self.audience, issuer=self.issuer, leeway=self.leeway,
                options={"require": ["exp", "nbf", "iat", "iss", "aud", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise invalid("expired", "the token has expired") from None
        except jwt.InvalidAudienceError:
            raise invalid("wrong_audience", "the token is not for this server") from None
        except jwt.InvalidIssuerError:
            raise invalid("wrong_issuer", "the token is not of this realm") from None
        except jwt.PyJWTError:
            raise invalid("bad_token", "the token's signature or claims are invalid") from None
        if self.introspection and not await self._active(token):
            raise invalid("inactive", "the token is revoked or no longer active")
        return claims

    async def _active(self, token: str) -> bool:
        i = self.introspection
        assert i is not None
        try:
            r = await self._http.post(i.url, data={"token": token},
                                      headers={"Authorization": basic_auth(i.client_id, i.client_secret)})
        except httpx.HTTPError:
            raise Denied(503, "temporarily_unavailable", "introspection_unavailable", "casa cannot be reached") from None
        if r.status_code != 200:
            raise Denied(503, "temporarily_unavailable", "introspection_failed", f"introspection answered {r.status_code}")
        return r.json().get("active") is True

    async def _deny(self, send: Send, d: Denied, rpc: list[dict[str, Any]]) -> None:
        challenge = f'Bearer realm="{self.realm}"'
        if d.reason != "missing":
            challenge += f', error="{d.error}", error_description="{d.description}"'
        error = {"code": FORBIDDEN if d.status == 403 else UNAUTHORIZED, "message": d.description,
                 "data": {"error": d.error, "reason": d.reason}}
        if rpc:
            ids = [c.get("id") for c in rpc if "id" in c] or [None]
            answers = [{"jsonrpc": "2.0", "id": i, "error": error} for i in ids]
            payload: Any = answers if len(answers) > 1 else answers[0]
        else:
            payload = {"error": d.error, "error_description": d.description, "reason": d.reason}
        body = json.dumps(payload).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if d.status in (401, 403):
            headers.append((b"www-authenticate", challenge.encode()))
        await send({"type": "http.response.start", "status": d.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _bearer(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            raise Denied(401, "invalid_request", "not_bearer", "use Authorization: Bearer <token>")
    raise Denied(401, "invalid_request", "missing", "a bearer token is required")


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole body, up to the limit; `True` if there was more."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _json_rpc(body: bytes) -> list[dict[str, Any]]:
    """The JSON-RPC messages of a body (one, or a batch); none if it is not JSON-RPC."""
    try:
        value = json.loads(body) if body else None
    except ValueError:
        return []
    messages = value if isinstance(value, list) else [value]
    return [m for m in messages if isinstance(m, dict) and m.get("jsonrpc") == "2.0"]


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
