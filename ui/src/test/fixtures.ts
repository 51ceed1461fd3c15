import { chainHash } from "../lib/chain";
import type { TraceEvent } from "../lib/types";

export const MAS = "0194f000-0000-7000-8000-000000000001";
export const SESSION = "0194f000-0000-7000-8000-0000000000aa";

let n = 0;
export function event(type: string, extra: Partial<TraceEvent> = {}): TraceEvent {
  n += 1;
  return {
    id: `0194f000-0000-7000-8000-${n.toString(16).padStart(12, "0")}`,
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, n)).toISOString().replace(".000Z", "Z"),
    mas_id: MAS,
    user_input_id: SESSION,
    app_ids: ["client-1", "agent-1"],
    jti: null,
    parent: null,
    token_digest: null,
    latency_us: 100 + n,
    type,
    prev_hash: null,
    hash: null,
    ...extra,
  };
}

/** Events hashed into one chain as casa does, oldest first; returned newest first like GET /trace. */
export async function chained(events: TraceEvent[]): Promise<TraceEvent[]> {
  let prev: string | null = null;
  for (const e of events) {
    e.prev_hash = prev;
    e.hash = await chainHash(e);
    prev = e.hash;
  }
  return [...events].reverse();
}
