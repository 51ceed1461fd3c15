// toolGuard in front of a Node HTTP JSON-RPC tool server, with real tokens from a live casa.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { generateKeyPair, SignJWT, decodeProtectedHeader } from "jose";
import { CasaOAuth, toolGuard } from "../src/index.js";
import { CasaNode, claims } from "./casa-node.js";

let node: CasaNode;
let guarded: string;
let online: string;
let servers: Server[] = [];
const calls: string[] = [];
// Every line the guards log, and anything written to the console meanwhile.
const logs: string[] = [];
// Every token these tests present: none may appear in `logs`.
const presented: string[] = [];
const log = (line: string) => void logs.push(line);
let mas: any, files: any, mail: any;
let client: CasaOAuth, agent: CasaOAuth;

function toolServer(guard: ReturnType<typeof toolGuard>): Promise<string> {
  const srv = createServer((req, res) => {
    guard(req as any, res, (err?: unknown) => {
      if (err) return void res.writeHead(500).end();
      const body = (req as any).body as { id: number; params: { name: string } };
      calls.push(body.params.name);
      res.writeHead(200, { "Content-Type": "application/json" }).end(
        JSON.stringify({ jsonrpc: "2.0", id: body.id, result: { content: [{ type: "text", text: "ok" }] } }),
      );
    });
  });
  servers.push(srv);
  return new Promise((ok) => srv.listen(0, "127.0.0.1", () => ok(`http://127.0.0.1:${(srv.address() as any).port}/mcp`)));
}

async function call(url: string, token: string | undefined, tool: string) {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (token) presented.push(token);
  const r = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: tool, arguments: {} } }),
  });
  return { status: r.status, www: r.headers.get("www-authenticate") ?? "", body: (await r.json()) as any };
}

async function exchanged(tools: string[], audience: string) {
  const parent = (await client.token("tidy my files", ["read_file", "write_file", "send_mail"])).access_token;
  return { parent, token: (await agent.exchange(parent, tools, audience)).access_token };
}

before(async () => {
  for (const level of ["log", "info", "warn", "error", "debug", "trace"] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      logs.push(args.map(String).join(" "));
      original(...args);
    };
  }
  node = await CasaNode.start();
  const admin = (path: string, body: unknown) =>
    fetch(node.url + path, {
      method: "POST",
      headers: { Authorization: `Bearer ${node.adminToken}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }).then((r) => r.json() as any);
  mas = await admin("/mas", { name: "ts-guard", exchanged_token_ttl_seconds: 1 });
  const app = (b: object) => admin("/apps", { mas_id: mas.id, ...b });
  files = await app({ name: "files", type: "mcp_server", tools: [
    { name: "read_file", description: "Read a file" }, { name: "write_file", description: "Write a file" }] });
  mail = await app({ name: "mail", type: "mcp_server", tools: [{ name: "send_mail", description: "Send mail" }] });
  const chat = await app({ name: "chat", type: "client", allowed_tools: ["read_file", "write_file", "send_mail"] });
  const ag = await app({ name: "agent", type: "agent", allowed_tools: ["read_file", "write_file", "send_mail"] });
  client = new CasaOAuth(node.url, chat.client_id, chat.client_secret);
  agent = new CasaOAuth(node.url, ag.client_id, ag.client_secret);
  guarded = await toolServer(toolGuard({ issuer: mas.realm.issuer, audience: files.client_id, log }));
  online = await toolServer(toolGuard({
    issuer: mas.realm.issuer, audience: files.client_id, log,
    introspection: { url: `${node.url}/oauth/introspect`, clientId: files.client_id, clientSecret: files.client_secret },
  }));
});

after(async () => {
  for (const s of servers) s.close();
  await node.stop();
});

test("an allowed tool is called", async () => {
  const { token } = await exchanged(["read_file"], files.id);
  const r = await call(guarded, token, "read_file");
  assert.equal(r.status, 200);
  assert.equal(calls.at(-1), "read_file");
});

test("a tool outside the token is 403 insufficient_scope with a JSON-RPC error", async () => {
  const { token } = await exchanged(["read_file"], files.id);
  const n = calls.length;
  const r = await call(guarded, token, "write_file");
  assert.equal(r.status, 403);
  assert.match(r.www, /error="insufficient_scope"/);
  assert.equal(r.body.id, 3);
  assert.equal(r.body.error.data.reason, "tool_not_in_token");
  assert.equal(calls.length, n);
});

test("no token is 401 with a bare Bearer challenge", async () => {
  const r = await call(guarded, undefined, "read_file");
  assert.equal(r.status, 401);
  assert.equal(r.www, 'Bearer realm="casa"');
});

test("an expired token is 401 invalid_token", async () => {
  const { token } = await exchanged(["read_file"], files.id);
  await new Promise((ok) => setTimeout(ok, 7000));
  const r = await call(guarded, token, "read_file");
  assert.equal(r.status, 401);
  assert.match(r.www, /error="invalid_token"/);
  assert.equal(r.body.error.data.reason, "expired");
});

test("another server's token is refused", async () => {
  const { token } = await exchanged(["send_mail"], mail.id);
  const r = await call(guarded, token, "send_mail");
  assert.equal(r.status, 401);
  assert.equal(r.body.error.data.reason, "wrong_audience");
});

test("a revoked token is refused in introspection mode", async () => {
  const { parent, token } = await exchanged(["read_file"], files.id);
  assert.equal((await call(online, token, "read_file")).status, 200);
  await client.revoke(parent);
  const r = await call(online, token, "read_file");
  assert.equal(r.status, 401);
  assert.equal(r.body.error.data.reason, "inactive");
});

test("forged tokens are refused", async () => {
  const { token } = await exchanged(["read_file"], files.id);
  const kid = decodeProtectedHeader(token).kid!;
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const c = claims(token);
  const forged = await new SignJWT({ ...c, tools: ["read_file", "write_file"] })
    .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid })
    .sign(privateKey);
  const none = [Buffer.from(JSON.stringify({ alg: "none", typ: "at+jwt", kid })).toString("base64url"),
    Buffer.from(JSON.stringify(c)).toString("base64url"), ""].join(".");
  const n = calls.length;
  for (const bad of [forged, none, token.slice(0, -4) + "AAAA"]) {
    const r = await call(guarded, bad, "read_file");
    assert.equal(r.status, 401, bad);
  }
  assert.equal(calls.length, n);
});

test("a realm key rotation: the guard refetches the JWKS on the new kid, old tokens still verify", async () => {
  // A guard of its own, its JWKS cached from a token of the current key.
  const rotating = await toolServer(toolGuard({ issuer: mas.realm.issuer, audience: files.client_id, jwksCooldownMs: 1000, log }));
  const before = (await exchanged(["read_file"], files.id)).token;
  assert.equal((await call(rotating, before, "read_file")).status, 200);
  const rotate = await fetch(`${node.url}/mas/${mas.id}/keys/rotate`, {
    method: "POST", headers: { Authorization: `Bearer ${node.adminToken}` },
  });
  assert.equal(rotate.status, 200);
  const after = (await exchanged(["read_file"], files.id)).token;
  const [oldKid, newKid] = [decodeProtectedHeader(before).kid, decodeProtectedHeader(after).kid];
  assert.notEqual(newKid, oldKid, "the rotation gave the realm a new signing key");
  // The cached set has no key `newKid`; past the 1 s cooldown the guard refetches it.
  await new Promise((ok) => setTimeout(ok, 1100));
  const r = await call(rotating, after, "read_file");
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(calls.at(-1), "read_file");
  // A token of the previous key is still good until it expires.
  assert.equal((await call(rotating, before, "read_file")).status, 200);
});

test("the token is never logged", async () => {
  // Denials were logged (so the capture works) ...
  for (const reason of ["tool_not_in_token", "missing", "expired", "wrong_audience", "inactive", "bad_token"])
    assert.ok(logs.some((l) => l.includes("denied") && l.includes(reason)), `no logged denial for ${reason}: ${logs.join("\n")}`);
  // ... and no line holds a token, or a token's signature.
  assert.ok(presented.length >= 10, `${presented.length} tokens presented`);
  for (const token of new Set(presented)) {
    const signature = token.split(".")[2] ?? "";
    for (const line of logs) {
      assert.ok(!line.includes(token), "a log line holds a token");
      assert.ok(signature.length < 16 || !line.includes(signature), "a log line holds a token's signature");
    }
  }
});
