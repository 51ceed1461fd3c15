// Verifies trace events the way `casa audit verify` does: each event's hash
// is SHA-256 over its predecessor's hash, a zero byte, and the event (without
// its hashes) as casa serialized it — fields in the Rust structs' order,
// compact JSON. Serde's order is reproduced here field by field.
import type { TraceEvent } from "./types";

const KIND_FIELDS: Record<string, string[]> = {
  token_issued: ["tools"],
  exchange_allowed: ["tools", "audience", "checks"],
  exchange_denied: ["requested", "denials", "checks"],
  exchange_rejected: ["error", "description"],
  introspection: ["active"],
  revocation: ["targets", "reached"],
  llm_call: ["call_id", "selected_tools"],
  key_rotated: ["kid", "retired_kid"],
  admin_change: ["action", "target", "changes"],
};
const CHECK_FIELDS = ["tool", "check", "passed", "reason", "score", "detail", "enforced", "tool_digest"];
const DENIAL_FIELDS = ["tool", "check", "reason", "detail"];
const TARGET_FIELDS = ["kind", "id"];

/** An f64 as serde_json (ryu) writes it: integral values keep a ".0", and
 * magnitudes below 1e-5 or from 1e16 up are written with an exponent (JS
 * switches only below 1e-6 and from 1e21), e.g. a tiny calibrated probability. */
export function f64(x: number): string {
  const a = Math.abs(x);
  if (Number.isFinite(x) && a !== 0 && (a < 1e-5 || a >= 1e16)) return x.toExponential().replace("e+", "e");
  const s = JSON.stringify(x);
  return Number.isInteger(x) && !/e/i.test(s) ? `${s}.0` : s;
}

function obj(o: Record<string, unknown>, fields: string[], floats: Set<string> = new Set()): string {
  return `{${fields
    .map((f) => {
      const v = o[f] ?? null;
      return `${JSON.stringify(f)}:${floats.has(f) && typeof v === "number" ? f64(v) : JSON.stringify(v)}`;
    })
    .join(",")}}`;
}

/** serde_json's `Value` has sorted keys (no preserve_order). */
function sorted(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sorted).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${sorted(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

export function canonical(e: TraceEvent): string {
  const r = e as unknown as Record<string, unknown>;
  const head = ["id", "at", "mas_id", "user_input_id", "app_ids", "jti", "parent", "token_digest", "latency_us"]
    .map((f) => `${JSON.stringify(f)}:${JSON.stringify(r[f] ?? null)}`)
    .join(",");
  const fields = KIND_FIELDS[e.type];
  if (!fields) throw new Error(`unknown event type ${e.type}`);
  const kind = fields
    .map((f) => {
      const v = r[f];
      let s: string;
      if (f === "checks") s = `[${(v as Record<string, unknown>[]).map((c) => obj(c, CHECK_FIELDS, new Set(["score"]))).join(",")}]`;
      else if (f === "denials") s = `[${(v as Record<string, unknown>[]).map((d) => obj(d, DENIAL_FIELDS)).join(",")}]`;
      else if (f === "targets") s = `[${(v as Record<string, unknown>[]).map((t) => obj(t, TARGET_FIELDS)).join(",")}]`;
      else if (f === "changes") s = sorted(v ?? null);
      else s = JSON.stringify(v ?? (f === "reached" ? [] : null));
      return `${JSON.stringify(f)}:${s}`;
    })
    .join(",");
  const chain = r.chain ? `,"chain":${JSON.stringify(r.chain)}` : "";
  return `{${head},"type":${JSON.stringify(e.type)},${kind},"prev_hash":null,"hash":null${chain}}`;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as BufferSource);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function chainHash(e: TraceEvent): Promise<string> {
  const enc = new TextEncoder();
  const prev = enc.encode(e.prev_hash ?? "");
  const body = enc.encode(canonical(e));
  const all = new Uint8Array(prev.length + 1 + body.length);
  all.set(prev, 0);
  all.set(body, prev.length + 1);
  return sha256Hex(all);
}

export type ChainVerdict = { ok: true; events: number } | { ok: false; events: number; broken: string; why: string };

/**
 * Verifies a contiguous window of one MAS's events (newest first, as
 * `GET /trace?mas_id=` returns them): every event matches its hash, and each
 * links to the one before it in its chain segment.
 */
export async function verifyWindow(newestFirst: TraceEvent[]): Promise<ChainVerdict> {
  const events = [...newestFirst].reverse();
  const last = new Map<string, string | null>();
  for (const e of events) {
    const segment = (e as unknown as { chain?: string }).chain ?? "";
    if ((await chainHash(e)) !== e.hash) {
      return { ok: false, events: events.length, broken: e.id, why: "its content does not match its hash" };
    }
    if (last.has(segment) && last.get(segment) !== e.prev_hash) {
      return { ok: false, events: events.length, broken: e.id, why: "it does not link to the previous event" };
    }
    last.set(segment, e.hash);
  }
  return { ok: true, events: events.length };
}
