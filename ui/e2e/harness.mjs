// The browser tests' world: the real release casa on a loopback port with a
// fresh data dir, seeded through its real API, and Debian's Chromium driven
// by playwright-core.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

export const ADMIN = "e2e-admin-token-0123456789abcdef0123456789";
export const VIEWER = "e2e-viewer-token-0123456789abcdef012345678";
export const REPO = resolve(new URL("../..", import.meta.url).pathname);
export const OUT = resolve(new URL("./out", import.meta.url).pathname);
export const SHOTS = join(REPO, "docs/ui");
/** The test-only store editor (ui/e2e/tamper-store), built by scripts/test-ui. */
export const TAMPER = process.env.CASA_TAMPER_BIN ?? join(REPO, "target/release/tamper-store");

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on("error", fail);
  });
}

/** A release casa on a fresh data dir, or on `dataDir` (e.g. a copy of another run's). */
export async function startCasa(extraEnv = {}, dataDir = null) {
  const bin = process.env.CASA_BIN ?? join(REPO, "target/release/casa");
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "casa-e2e-"));
  // Each run's data dirs (with their key-encryption keys) go when the test process ends.
  process.once("exit", () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
  const data = dataDir ?? join(dir, "data");
  const child = spawn(bin, ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", data], {
    cwd: REPO,
    env: { ...process.env, CASA_ADMIN_TOKEN: ADMIN, CASA_VIEWER_TOKEN: VIEWER, CASA_LOG_LEVEL: "warn", ...extraEnv },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr.on("data", (d) => (log += d));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      /* not up yet */
    }
    if (child.exitCode !== null || i > 300) throw new Error(`casa did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const exited = new Promise((ok) => child.once("exit", ok));
  return {
    base,
    dir,
    data,
    child,
    log: () => log,
    stop: () => child.kill("SIGTERM"),
    /** SIGTERM, then waits until the process is gone (its store is closed). */
    async halt() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** The admin API, as a seeding script would use it. */
export function client(base) {
  const admin = { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" };
  async function json(method, path, body, headers = admin) {
    const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
  const basic = (app) => `Basic ${Buffer.from(`${app.client_id}:${app.client_secret}`).toString("base64")}`;
  async function form(path, app, pairs) {
    const r = await fetch(base + path, {
      method: "POST",
      headers: { Authorization: basic(app), "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(pairs).toString(),
    });
    return { status: r.status, body: await r.json() };
  }
  return {
    get: (path) => json("GET", path),
    post: (path, body) => json("POST", path, body),
    patch: (path, body) => json("PATCH", path, body),
    mas: (body) => json("POST", "/mas", body),
    app: (body) => json("POST", "/apps", body),
    async token(app, userInput, tools) {
      const pairs = { grant_type: "client_credentials", user_input: userInput };
      if (tools) pairs.tools = tools;
      const r = await form("/oauth/token", app, pairs);
      if (r.status !== 200) throw new Error(`token: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
    exchange: (actor, subject, tools) =>
      form("/oauth/token/exchange", actor, {
        subject_token: subject,
        subject_token_type: "urn:ietf:params:oauth:token-type:access_token",
        tools,
      }),
    /** An LLM call's selected tools, reported by an app the MAS designated in `llm_evidence_apps`. */
    llmCall: (app, userInputId, callId, selected) =>
      json("POST", "/trace/llm", { user_input_id: userInputId, call_id: callId, selected_tools: selected }, { Authorization: basic(app), "Content-Type": "application/json" }),
    /** Every stored event matching `query`, newest first (all pages). */
    async allTraces(query) {
      const out = [];
      let cursor = null;
      for (;;) {
        const page = await json("GET", `/trace?${query}&limit=500${cursor ? `&cursor=${cursor}` : ""}`);
        out.push(...page.items);
        if (!page.next_cursor) return out;
        cursor = page.next_cursor;
      }
    },
  };
}

export const jwtPayload = (t) => JSON.parse(Buffer.from(t.split(".")[1], "base64url").toString());

/** A MAS with a client, a planner and an executor agent, and a tool server. */
export async function fleet(api, name, settings = {}, toolDescriptions = {}, plannerTools = ["fs:read", "fs:write", "web:search"]) {
  const mas = await api.mas({ name, ...settings });
  const tools = ["fs:read", "fs:write", "web:search"].map((t) => ({
    name: t,
    description: toolDescriptions[t] ?? `The ${t} tool: ${t === "fs:read" ? "read a file from the workspace" : t === "fs:write" ? "write a file to the workspace" : "search the web"}`,
    input_schema: { type: "object" },
  }));
  const server = await api.app({ mas_id: mas.id, name: "files", type: "mcp_server", base_url: "http://127.0.0.1:9/mcp", tools });
  const chat = await api.app({ mas_id: mas.id, name: "chat", type: "client", allowed_tools: ["fs:read", "fs:write", "web:search"] });
  const planner = await api.app({ mas_id: mas.id, name: "planner", type: "agent", allowed_tools: plannerTools });
  const executor = await api.app({ mas_id: mas.id, name: "executor", type: "agent", allowed_tools: ["fs:read"] });
  return { mas, server, chat, planner, executor };
}

export async function browser() {
  mkdirSync(OUT, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** Signs in through the login form (the only way a token gets in). */
export async function signIn(page, base, token = ADMIN) {
  track(page);
  await page.goto(`${base}/`);
  await page.fill("#token", token);
  await page.click("button[type=submit]");
  await page.waitForSelector("[data-testid=role]");
}

const inflight = new WeakMap();

/** Counts the page's requests still open, leaving out the live streams
 * (`/trace/stream` stays open by design, so Playwright's "networkidle" never
 * comes on a page that streams: it waited out its 30 s timeout instead). */
function track(page) {
  let t = inflight.get(page);
  if (t) return t;
  t = { open: new Set(), last: Date.now() };
  const streaming = (r) => r.url().includes("/trace/stream");
  const done = (r) => {
    if (t.open.delete(r)) t.last = Date.now();
  };
  page.on("request", (r) => {
    if (streaming(r)) return;
    t.open.add(r);
    t.last = Date.now();
  });
  page.on("requestfinished", done);
  page.on("requestfailed", done);
  inflight.set(page, t);
  return t;
}

/** Waits until no request but a live stream has been open for `quietMs`
 * (Playwright's networkidle: 500 ms), at most `maxMs`. */
export async function settled(page, quietMs = 500, maxMs = 15_000) {
  const t = track(page);
  const start = Date.now();
  t.last = Math.max(t.last, start);
  while (Date.now() - start < maxMs) {
    if (t.open.size === 0 && Date.now() - t.last >= quietMs) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Client-side navigation: a full load would sign out (the token is in memory only). */
export async function go(page, path) {
  track(page);
  await page.evaluate((p) => {
    window.history.pushState({}, "", p);
    window.dispatchEvent(new PopStateEvent("popstate"));
  }, path);
  await settled(page);
}
