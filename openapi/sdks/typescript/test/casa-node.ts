// Spawns a real `casa serve` on a loopback port and a fresh data dir (for the tests).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";

const root = resolve(import.meta.dirname, "../../../..");

export function casaBinary(): string {
  return process.env.CASA_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(root, "target"), "debug", "casa");
}

async function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

export class CasaNode {
  private constructor(readonly url: string, readonly adminToken: string, private proc: ChildProcess, private dir: string) {}

  static async start(): Promise<CasaNode> {
    const dir = mkdtempSync(join(tmpdir(), "casa-sdk-ts-"));
    const port = await freePort();
    const adminToken = "sdk-test-admin-" + randomBytes(16).toString("hex");
    const log = openSync(join(dir, "casa.log"), "w");
    const proc = spawn(casaBinary(), ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", join(dir, "data")], {
      env: { ...process.env, CASA_ADMIN_TOKEN: adminToken, CASA_LOG_LEVEL: "warn" },
      stdio: ["ignore", log, log],
    });
    const node = new CasaNode(`http://127.0.0.1:${port}`, adminToken, proc, dir);
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error("casa exited: " + readFileSync(join(dir, "casa.log"), "utf8").slice(-2000));
      try {
        if ((await fetch(node.url + "/readyz")).status === 200) return node;
      } catch {}
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error("casa did not become ready");
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill("SIGTERM");
    await exited;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class Tally {
  passed = 0;
  failed = 0;
  check(name: string, ok: boolean, detail: unknown = ""): boolean {
    if (ok) {
      this.passed++;
      console.log(`ok   ${name}`);
    } else {
      this.failed++;
      console.log(`FAIL ${name} ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
    }
    return ok;
  }
  summary(): number {
    console.log(`${this.passed} passed, ${this.failed} failed`);
    return this.failed || !this.passed ? 1 : 0;
  }
}

export function claims(token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
}
