// The whole SDK scenario against a live `casa serve` this script spawns.
import { adminClient, publicClient, CasaOAuth, OAuthError, type components } from "../src/index.js";
import { CasaNode, Tally, claims } from "./casa-node.js";

const t = new Tally();
const node = await CasaNode.start();
try {
  const admin = adminClient(node.url, node.adminToken);
  const created = await admin.POST("/mas", { body: { name: "sdk-typescript" } });
  t.check("create MAS (201)", created.response.status === 201, created.error);
  const mas = created.data!;

  const app = async (body: Omit<components["schemas"]["CreateApp"], "mas_id">) => {
    const r = await admin.POST("/apps", { body: { ...body, mas_id: mas.id } });
    t.check(`create app ${body.name} (201)`, r.response.status === 201, r.error);
    return r.data!;
  };
  const server = await app({
    name: "files",
    type: "mcp_server",
    tools: [
      { name: "fs:read", description: "Read a file" },
      { name: "fs:write", description: "Write a file" },
    ],
  });
  const client = await app({ name: "chat", type: "client", allowed_tools: ["fs:read", "fs:write"] });
  const agent = await app({ name: "reader", type: "agent", allowed_tools: ["fs:read"] });

  const chat = new CasaOAuth(node.url, client.client_id, client.client_secret);
  const reader = new CasaOAuth(node.url, agent.client_id, agent.client_secret);
  const issued = await chat.token("read my notes", ["fs:read", "fs:write"]);
  t.check("issue: client credentials with Basic", issued.token_type === "Bearer" && !!issued.access_token, issued);

  const child = await reader.exchange(issued.access_token, ["fs:read"], server.id);
  t.check("exchange allowed: 200 with tools", JSON.stringify(child.tools) === '["fs:read"]', child);
  t.check("exchanged token is for the tool server", claims(child.access_token).aud === server.client_id);

  try {
    await reader.exchange(issued.access_token, ["fs:write"], server.id);
    t.check("exchange denied", false, "was allowed");
  } catch (e) {
    const err = e as OAuthError;
    t.check("exchange denied: 403 access_denied", err.status === 403 && err.body.error === "access_denied", err.message);
    const denials = (err.body.denials ?? []).map((d) => [d.tool, d.reason]);
    t.check("exchange denied: per-tool denial", JSON.stringify(denials) === '[["fs:write","tool_not_allowed_for_app"]]', denials);
  }

  const seen = await chat.introspect(child.access_token);
  t.check("introspect: active", seen.active === true, seen);
  t.check("introspect: act names the agent", (seen.act as { sub?: string } | undefined)?.sub === agent.client_id, seen);

  await chat.revoke(issued.access_token);
  t.check("revoke parent: child inactive", (await chat.introspect(child.access_token)).active === false);
  t.check("revoke parent: parent inactive", (await chat.introspect(issued.access_token)).active === false);

  let types: string[] = [];
  // The trace is written in batches, just after the answers.
  for (let i = 0; i < 50 && !types.includes("revocation"); i++) {
    await new Promise((ok) => setTimeout(ok, 100));
    const trace = await admin.GET("/trace/session/{user_input_id}", { params: { path: { user_input_id: issued.user_input_id } } });
    types = (trace.data ?? []).map((e) => (e as { type: string }).type);
  }
  t.check(
    "session trace in order",
    types.slice(0, 3).join() === "token_issued,exchange_allowed,exchange_denied" && types.indexOf("revocation") > 2,
    types,
  );

  const pub = publicClient(node.url);
  const jwks = await pub.GET("/realms/{mas_id}/.well-known/jwks.json", { params: { path: { mas_id: mas.id } } });
  const kids = ((jwks.data as { keys: { kid: string }[] }).keys ?? []).map((k) => k.kid);
  t.check("JWKS holds the active key", kids.includes(mas.realm.active_kid), kids);
  t.check("tokens are signed by the active key", JSON.parse(Buffer.from(issued.access_token.split(".")[0], "base64url").toString()).kid === mas.realm.active_kid);

  const meta = await pub.GET("/.well-known/oauth-authorization-server/realms/{mas_id}", { params: { path: { mas_id: mas.id } } });
  t.check("RFC 8414 metadata (path insertion)", (meta.data as { issuer?: string })?.issuer === mas.realm.issuer, meta.data);

  const del = await admin.DELETE("/mas/{id}", { params: { path: { id: mas.id } } });
  t.check("delete MAS (204)", del.response.status === 204, del.error);
  const gone = await admin.GET("/mas/{id}", { params: { path: { id: mas.id } } });
  t.check("deleted MAS: 404", gone.response.status === 404, gone.error);
} finally {
  await node.stop();
}
process.exit(t.summary());
