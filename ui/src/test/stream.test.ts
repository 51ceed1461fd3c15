import { describe, expect, it } from "vitest";
import { http, HttpResponse } from "msw";
import { server } from "./msw";
import { openTraceStream, type StreamStatus } from "../lib/stream";
import { event } from "./fixtures";
import type { TraceEvent } from "../lib/types";

const sse = (chunks: string[], keepOpen: boolean) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const s of chunks) c.enqueue(new TextEncoder().encode(s));
      if (!keepOpen) c.close();
    },
  });

describe("the trace stream", () => {
  it("resumes with Last-Event-ID after a drop and counts a lagged event as a gap", async () => {
    const a = event("exchange_allowed");
    const b = event("exchange_allowed");
    const requests: { lastEventId: string | null; auth: string | null; url: string }[] = [];
    server.use(
      http.get("*/trace/stream", ({ request }) => {
        requests.push({ lastEventId: request.headers.get("last-event-id"), auth: request.headers.get("authorization"), url: request.url });
        const body =
          requests.length === 1
            ? sse([`id: ${a.id}\ndata: ${JSON.stringify(a)}\n\n`, `event: lagged\ndata: {"missed": 3}\n\n`], true)
            : sse([`id: ${b.id}\ndata: ${JSON.stringify(b)}\n\n`], true);
        return new HttpResponse(body, { headers: { "Content-Type": "text/event-stream" } });
      }),
    );
    const got: TraceEvent[] = [];
    let last: StreamStatus | null = null;
    const s = openTraceStream({
      query: new URLSearchParams("mas_id=m"),
      after: "0194f000-0000-7000-8000-000000000000",
      headers: () => ({ Authorization: "Bearer t" }),
      onEvents: (batch) => got.push(...batch),
      onStatus: (st) => (last = st),
      onUnauthorized: () => {},
    });
    await expect.poll(() => got.map((e) => e.id), { timeout: 15_000 }).toEqual([a.id, b.id]);
    s.close();
    expect(requests.map((r) => r.lastEventId)).toEqual(["0194f000-0000-7000-8000-000000000000", a.id]);
    expect(requests.every((r) => r.auth === "Bearer t" && !r.url.includes("Bearer"))).toBe(true);
    expect(last!.gaps).toBe(1);
    expect(last!.unfilled).toBe(0);
  });

  it("a lag the store cannot fill is counted as unfilled", async () => {
    let calls = 0;
    server.use(
      http.get("*/trace/stream", () => {
        calls += 1;
        const body = calls === 1 ? sse([`event: lagged\ndata: {"missed": null}\n\n`], true) : sse([], true);
        return new HttpResponse(body, { headers: { "Content-Type": "text/event-stream" } });
      }),
    );
    let last: StreamStatus | null = null;
    const s = openTraceStream({
      query: new URLSearchParams(),
      after: null,
      headers: () => ({}),
      onEvents: () => {},
      onStatus: (st) => (last = st),
      onUnauthorized: () => {},
    });
    await expect.poll(() => calls, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    s.close();
    expect(last!.unfilled).toBe(1);
  });

  it("a 401 stops the stream and signs out", async () => {
    server.use(http.get("*/trace/stream", () => HttpResponse.json({ error: "invalid_token" }, { status: 401 })));
    let out = 0;
    openTraceStream({
      query: new URLSearchParams(),
      after: null,
      headers: () => ({}),
      onEvents: () => {},
      onStatus: () => {},
      onUnauthorized: () => (out += 1),
    });
    await expect.poll(() => out, { timeout: 15_000 }).toBe(1);
  });
});
