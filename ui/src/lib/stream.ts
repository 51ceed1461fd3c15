// The live trace: `fetch` + an SSE parser (EventSource cannot send the
// bearer header, and the token must never go into a URL). Reconnects with
// `Last-Event-ID`, so the server replays what was missed from the store; a
// `lagged` event (the server's live feed outran us) triggers the same
// resume, and is counted as a gap.
import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { TraceEvent } from "./types";

export type Connection = "connecting" | "connected" | "reconnecting" | "closed";

export interface StreamStatus {
  connection: Connection;
  /** Seconds until the next attempt, while reconnecting. */
  retryInS: number;
  /** Gaps noticed: lagged events and dropped connections. */
  gaps: number;
  /** Of those, the ones the resume from the store could not fill. */
  unfilled: number;
  lastEventAt: string | null;
}

export interface StreamOptions {
  query: URLSearchParams;
  /** Resume after this event id (e.g. the newest of an initial `GET /trace`). */
  after: string | null;
  headers: () => Record<string, string>;
  onEvents: (events: TraceEvent[]) => void;
  onStatus: (s: StreamStatus) => void;
  onUnauthorized: () => void;
}

export interface TraceStream {
  /** Drops the current connection and resumes at once (what a network drop does). */
  reconnect(): void;
  close(): void;
}

export function openTraceStream(o: StreamOptions): TraceStream {
  let lastId = o.after;
  let closed = false;
  let current: AbortController | null = null;
  let attempt = 0;
  let wake: (() => void) | null = null;
  const status: StreamStatus = { connection: "connecting", retryInS: 0, gaps: 0, unfilled: 0, lastEventAt: null };
  const report = () => o.onStatus({ ...status });

  async function connectOnce(): Promise<void> {
    const ctrl = new AbortController();
    current = ctrl;
    const headers: Record<string, string> = { ...o.headers(), Accept: "text/event-stream" };
    if (lastId) headers["Last-Event-ID"] = lastId;
    const r = await fetch(`/trace/stream?${o.query.toString()}`, { headers, signal: ctrl.signal, cache: "no-store" });
    if (r.status === 401) {
      closed = true;
      o.onUnauthorized();
      return;
    }
    if (!r.ok || !r.body) throw new Error(`stream: ${r.status}`);
    status.connection = "connected";
    status.retryInS = 0;
    attempt = 0;
    report();
    let batch: TraceEvent[] = [];
    let flush = 0;
    const deliver = () => {
      flush = 0;
      if (batch.length === 0) return;
      const out = batch;
      batch = [];
      o.onEvents(out);
    };
    const parser = createParser({
      onEvent(msg: EventSourceMessage) {
        if (msg.event === "lagged") {
          status.gaps += 1;
          const body = JSON.parse(msg.data) as { missed: number | null };
          if (body.missed === null) status.unfilled += 1;
          // Counted here once: the drop below is this same gap.
          status.connection = "reconnecting";
          report();
          // Resume from the store right away: the gap is filled from there.
          ctrl.abort();
          return;
        }
        const e = JSON.parse(msg.data) as TraceEvent;
        if (msg.id) lastId = msg.id;
        status.lastEventAt = e.at;
        batch.push(e);
        if (!flush) flush = requestAnimationFrame(deliver);
      },
    });
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    // An abort ends the read even where the body does not error on its own.
    ctrl.signal.addEventListener("abort", () => void reader.cancel().catch(() => {}));
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
    } finally {
      if (flush) cancelAnimationFrame(flush);
      deliver();
    }
  }

  async function run() {
    while (!closed) {
      try {
        await connectOnce();
      } catch {
        /* dropped or refused: resume below */
      }
      if (closed) break;
      status.gaps += status.connection === "connected" ? 1 : 0;
      status.connection = "reconnecting";
      // 0 s after a deliberate drop or a lag, then 1, 2, 4 ... 10 s.
      const delay = attempt === 0 ? 0 : Math.min(10, 2 ** (attempt - 1));
      attempt += 1;
      for (let left = delay; left > 0 && !closed; left -= 1) {
        status.retryInS = left;
        report();
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 1000);
        });
      }
      status.retryInS = 0;
      report();
    }
    status.connection = "closed";
    report();
  }

  void run();
  return {
    reconnect() {
      attempt = 0;
      current?.abort();
      wake?.();
    },
    close() {
      closed = true;
      current?.abort();
      wake?.();
    },
  };
}

/** Newest first, each event once: merges a batch into the list. */
export function merge<T extends { id: string }>(list: T[], seen: Set<string>, batch: T[]): T[] {
  const fresh = batch.filter((e) => !seen.has(e.id));
  if (fresh.length === 0) return list;
  for (const e of fresh) seen.add(e.id);
  // Event ids are UUIDv7: their order is time order.
  const newestFirst = (a: T, b: T) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
  fresh.sort(newestFirst);
  const oldestFresh = fresh[fresh.length - 1];
  const newestKept = list[0];
  // The usual case: everything new is newer than what is shown.
  if (!newestKept || (oldestFresh && oldestFresh.id > newestKept.id)) return fresh.concat(list);
  // An older page, read while scrolling down: it goes after what is shown.
  const oldestKept = list[list.length - 1];
  const newestFresh = fresh[0];
  if (oldestKept && newestFresh && newestFresh.id < oldestKept.id) return list.concat(fresh);
  return fresh.concat(list).sort(newestFirst);
}
