"""The whole SDK scenario against a live `casa serve` this script spawns: a MAS and its
apps, an initial token (client credentials, Basic), an allowed and a denied exchange,
introspection, revocation reaching the child, the session trace, the JWKS, deletion."""

from __future__ import annotations

import base64
import json
import sys
import time

from casa_client import AuthenticatedClient
from casa_client.api.apps import create_app
from casa_client.api.mas import create_mas, delete_mas, get_mas
from casa_client.api.realms import realm_jwks, realm_metadata_path_inserted
from casa_client.api.trace import session_trace
from casa_client.models import AppType, CreateApp, CreateMas, ToolSpec
from casa_sdk import CasaOAuth, OAuthError

from casa_node import CasaNode, Tally


def part(token: str, i: int) -> dict:
    """The JWS header (0) or claims (1), unverified."""
    raw = token.split(".")[i]
    return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))


def claims(token: str) -> dict:
    return part(token, 1)


def main() -> int:
    t = Tally()
    with CasaNode() as node:
        admin = AuthenticatedClient(base_url=node.url, token=node.admin_token)
        r = create_mas.sync_detailed(client=admin, body=CreateMas(name="sdk-python"))
        t.check("create MAS (201)", r.status_code == 201, r.content)
        mas = r.parsed
        mas_id = str(mas.id)

        def app(name: str, kind: AppType, **kw) -> object:
            r = create_app.sync_detailed(client=admin, body=CreateApp(mas_id=mas.id, name=name, type_=kind, **kw))
            t.check(f"create app {name} (201)", r.status_code == 201, r.content)
            return r.parsed

        server = app("files", AppType.MCP_SERVER, tools=[
            ToolSpec(name="fs:read", description="Read a file"), ToolSpec(name="fs:write", description="Write a file")])
        client = app("chat", AppType.CLIENT, allowed_tools=["fs:read", "fs:write"])
        agent = app("reader", AppType.AGENT, allowed_tools=["fs:read"])

        chat = CasaOAuth(node.url, client.client_id, client.client_secret)
        reader = CasaOAuth(node.url, agent.client_id, agent.client_secret)
        issued = chat.token("read my notes", tools=["fs:read", "fs:write"])
        t.check("issue: client credentials with Basic", issued.token_type == "Bearer" and issued.access_token, issued)

        child = reader.exchange(issued.access_token, ["fs:read"], audience=str(server.id))
        t.check("exchange allowed: 200 with tools", child.tools == ["fs:read"], child)
        t.check("exchanged token is for the tool server", claims(child.access_token)["aud"] == server.client_id)

        try:
            reader.exchange(issued.access_token, ["fs:write"], audience=str(server.id))
            t.check("exchange denied", False, "was allowed")
        except OAuthError as e:
            t.check("exchange denied: 403 access_denied", (e.status, e.error) == (403, "access_denied"), e)
            t.check("exchange denied: per-tool denial",
                    [(d["tool"], d["reason"]) for d in e.denials] == [("fs:write", "tool_not_allowed_for_app")],
                    e.denials)

        seen = chat.introspect(child.access_token)
        t.check("introspect: active", seen.active is True, seen)
        t.check("introspect: act names the agent", seen.act and seen.act.to_dict()["sub"] == agent.client_id, seen)

        chat.revoke(issued.access_token)
        t.check("revoke parent: child inactive", chat.introspect(child.access_token).active is False)
        t.check("revoke parent: parent inactive", chat.introspect(issued.access_token).active is False)

        # The trace is written in batches, just after the answers.
        for _ in range(50):
            r = session_trace.sync_detailed(issued.user_input_id, client=admin)
            types = [e["type"] for e in json.loads(r.content)]
            if "revocation" in types:
                break
            time.sleep(0.1)
        t.check("session trace in order",
                r.status_code == 200 and types[:3] == ["token_issued", "exchange_allowed", "exchange_denied"]
                and "revocation" in types and types.index("revocation") > 2, types)

        r = realm_jwks.sync_detailed(mas.id, client=admin)
        keys = json.loads(r.content)["keys"]
        t.check("JWKS holds the active key", [k["kid"] for k in keys].count(mas.realm.active_kid) == 1, keys)
        header = part(issued.access_token, 0)
        t.check("tokens are signed by the active key", header["kid"] == mas.realm.active_kid, header)

        r = realm_metadata_path_inserted.sync_detailed(mas.id, client=admin)
        t.check("RFC 8414 metadata (path insertion)",
                r.status_code == 200 and json.loads(r.content)["issuer"] == mas.realm.issuer, r.content)

        r = delete_mas.sync_detailed(mas.id, client=admin)
        t.check("delete MAS (204)", r.status_code == 204, r.content)
        r = get_mas.sync_detailed(mas.id, client=admin)
        t.check("deleted MAS: 404", r.status_code == 404, r.content)
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
