"""ToolGuard end to end: a real MCP server (the `mcp` package's streamable-HTTP app)
behind the middleware, real tokens from a live `casa serve`, a real MCP client."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import socket
import sys
import threading
import time

import httpx
import httpx2
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer

from casa_sdk import CasaOAuth, Introspection, ToolGuard
from casa_node import CasaNode, Tally

calls: list[str] = []


def mcp_app():
    server = MCPServer("files", log_level="WARNING")

    @server.tool(name="read_file", description="Read a file")
    def read_file(path: str) -> str:
        calls.append(f"read_file {path}")
        return f"contents of {path}"

    @server.tool(name="write_file", description="Write a file")
    def write_file(path: str, text: str) -> str:
        calls.append(f"write_file {path}")
        return "written"

    return server.streamable_http_app(stateless_http=True, json_response=True)


def serve(app) -> tuple[str, uvicorn.Server]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}/mcp", server


async def call(url: str, token: str, tool: str, args: dict) -> str:
    """A tool call through a real MCP client; the text it got back, or the error."""
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=20)
    try:
        async with Client(streamable_http_client(url, http_client=http)) as client:
            result = await client.call_tool(tool, args)
            text = " ".join(getattr(c, "text", "") for c in result.content)
            return ("error: " if result.is_error else "") + text
    except Exception as e:  # the transport surfaces the HTTP denial
        return f"error: {type(e).__name__}: {e}"
    finally:
        await http.aclose()


def raw_call(url: str, token: str | None, tool: str) -> httpx.Response:
    """One JSON-RPC `tools/call`, to see the exact HTTP denial."""
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": tool, "arguments": {"path": "a"}}}
    return httpx.post(url, json=body, headers=headers, timeout=20)


def forge(claims: dict, kid: str, key=None, alg="EdDSA", typ="at+jwt") -> str:
    key = key or Ed25519PrivateKey.generate()
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, "typ": typ})


def part(token: str, i: int) -> dict:
    raw = token.split(".")[i]
    return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))


async def main() -> int:
    t = Tally()
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    logging.getLogger("casa_sdk").addHandler(handler)
    logging.getLogger("casa_sdk").setLevel(logging.DEBUG)
    for noisy in ("httpx", "httpx2", "mcp", "uvicorn"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with CasaNode() as node:
        admin = httpx.Client(base_url=node.url, headers={"Authorization": f"Bearer {node.admin_token}"})
        mas = admin.post("/mas", json={"name": "mcp-e2e", "exchanged_token_ttl_seconds": 1}).json()
        issuer = mas["realm"]["issuer"]

        def app(body: dict) -> dict:
            r = admin.post("/apps", json={"mas_id": mas["id"], **body})
            assert r.status_code == 201, r.text
            return r.json()

        files = app({"name": "files", "type": "mcp_server", "tools": [
            {"name": "read_file", "description": "Read a file"}, {"name": "write_file", "description": "Write a file"}]})
        mail = app({"name": "mail", "type": "mcp_server", "tools": [{"name": "send_mail", "description": "Send mail"}]})
        chat = app({"name": "chat", "type": "client", "allowed_tools": ["read_file", "write_file", "send_mail"]})
        agent = app({"name": "agent", "type": "agent", "allowed_tools": ["read_file", "write_file", "send_mail"]})
        client = CasaOAuth(node.url, chat["client_id"], chat["client_secret"])
        actor = CasaOAuth(node.url, agent["client_id"], agent["client_secret"])

        offline, srv1 = serve(ToolGuard(mcp_app(), issuer=issuer, audience=files["client_id"], jwks_min_refresh_seconds=1))
        online, srv2 = serve(ToolGuard(mcp_app(), issuer=issuer, audience=files["client_id"], introspection=Introspection(
            f"{node.url}/oauth/introspect", files["client_id"], files["client_secret"])))

        def exchanged(tools: list[str], audience: str) -> tuple[str, str]:
            parent = client.token("tidy my files", tools=["read_file", "write_file", "send_mail"]).access_token
            return parent, actor.exchange(parent, tools, audience=audience).access_token

        # Allowed.
        _, token = exchanged(["read_file"], files["id"])
        out = await call(offline, token, "read_file", {"path": "notes.txt"})
        t.check("allowed tool: the call succeeds", out == "contents of notes.txt", out)
        t.check("allowed tool: the tool ran", calls[-1:] == ["read_file notes.txt"], calls)

        # A tool outside the token.
        before = len(calls)
        out = await call(offline, token, "write_file", {"path": "x", "text": "y"})
        t.check("tool outside the token: denied", out.startswith("error") and len(calls) == before, out)
        r = raw_call(offline, token, "write_file")
        www = r.headers.get("www-authenticate", "")
        t.check("tool outside the token: 403 insufficient_scope",
                r.status_code == 403 and 'error="insufficient_scope"' in www, (r.status_code, www))
        body = r.json()
        t.check("tool outside the token: JSON-RPC error names the reason",
                body.get("id") == 7 and body["error"]["data"]["reason"] == "tool_not_in_token", body)

        # No token, not Bearer.
        r = raw_call(offline, None, "read_file")
        t.check("no token: 401 with a bare Bearer challenge",
                r.status_code == 401 and r.headers.get("www-authenticate") == 'Bearer realm="casa"', r.headers)

        # Expired (exchanged tokens of this MAS live 1 s; the leeway is 5 s).
        _, short = exchanged(["read_file"], files["id"])
        await asyncio.sleep(7)
        r = raw_call(offline, short, "read_file")
        t.check("expired token: 401 invalid_token",
                r.status_code == 401 and 'error="invalid_token"' in r.headers.get("www-authenticate", "")
                and r.json()["error"]["data"]["reason"] == "expired", (r.status_code, r.text))
        t.check("expired token: MCP call denied", (await call(offline, short, "read_file", {"path": "a"})).startswith("error"))

        # Revoked: offline verification cannot know; introspection mode refuses at once.
        parent, token = exchanged(["read_file"], files["id"])
        out = await call(online, token, "read_file", {"path": "before"})
        t.check("introspection mode: an active token works", out == "contents of before", out)
        client.revoke(parent)
        r = raw_call(online, token, "read_file")
        t.check("revoked token, introspection mode: 401 inactive",
                r.status_code == 401 and r.json()["error"]["data"]["reason"] == "inactive", r.text)
        t.check("revoked token, introspection mode: MCP call denied",
                (await call(online, token, "read_file", {"path": "a"})).startswith("error"))

        # Another server's token.
        _, other = exchanged(["send_mail"], mail["id"])
        r = raw_call(offline, other, "send_mail")
        t.check("another server's token: 401 wrong_audience",
                r.status_code == 401 and r.json()["error"]["data"]["reason"] == "wrong_audience", r.text)
        t.check("another server's token: MCP call denied",
                (await call(offline, other, "read_file", {"path": "a"})).startswith("error"))

        # Forged: a genuine token's claims, signed with another key under the realm's kid;
        # alg HS256 keyed with the public key; typ JWT; an unknown kid.
        _, genuine = exchanged(["read_file"], files["id"])
        claims, kid = part(genuine, 1), part(genuine, 0)["kid"]
        jwk = next(k for k in httpx.get(mas["realm"]["jwks_uri"]).json()["keys"] if k["kid"] == kid)
        forgeries = {
            "another key, the realm's kid": forge(claims, kid),
            "HS256 keyed with the public key": forge(claims, kid, key=base64.urlsafe_b64decode(jwk["x"] + "="), alg="HS256"),
            "typ JWT": forge(claims, kid, typ="JWT"),
            "an unknown kid": forge(claims, "not-a-kid"),
            "tampered claims": ".".join([genuine.split(".")[0],
                base64.urlsafe_b64encode(json.dumps({**claims, "tools": ["read_file", "write_file"]}).encode()).rstrip(b"=").decode(),
                genuine.split(".")[2]]),
        }
        for what, forged in forgeries.items():
            before = len(calls)
            r = raw_call(offline, forged, "read_file")
            t.check(f"forged ({what}): 401", r.status_code == 401 and len(calls) == before, (r.status_code, r.text))
        t.check("forged: MCP call denied",
                (await call(offline, forgeries["another key, the realm's kid"], "read_file", {"path": "a"})).startswith("error"))

        # Key rotation: a token of the new key is accepted once the JWKS is refreshed.
        assert admin.post(f"/mas/{mas['id']}/keys/rotate").status_code == 200
        _, rotated = exchanged(["read_file"], files["id"])
        t.check("rotated key: a new kid", part(rotated, 0)["kid"] != kid)
        await asyncio.sleep(1)  # the guard refreshes its JWKS at most once a second here
        out = await call(offline, rotated, "read_file", {"path": "rotated"})
        t.check("rotated key: the cached guard refreshes on the unknown kid", out == "contents of rotated", out)
        t.check("rotated key: tokens of the previous key still verify",
                (await call(offline, genuine, "read_file", {"path": "old"})) == "contents of old")

        tokens = [token, short, other, genuine, rotated, parent]
        t.check("the token is never logged", not any(tok in logs.getvalue() for tok in tokens) and "denied" in logs.getvalue())
        for s in (srv1, srv2):
            s.should_exit = True
    return t.summary()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
