import { describe, expect, it } from "vitest";
import { merge } from "./stream";
import type { TraceEvent } from "./types";

const ev = (id: string): TraceEvent => ({
  id,
  at: "",
  mas_id: "",
  user_input_id: null,
  app_ids: [],
  jti: null,
  parent: null,
  token_digest: null,
  latency_us: 0,
  type: "introspection",
  prev_hash: null,
  hash: null,
});

describe("merge", () => {
  it("keeps each event once, newest first, whatever order batches come in", () => {
    const seen = new Set<string>();
    let list: TraceEvent[] = [];
    list = merge(list, seen, [ev("01"), ev("03")]);
    list = merge(list, seen, [ev("02"), ev("03")]);
    list = merge(list, seen, [ev("04"), ev("01")]);
    expect(list.map((e) => e.id)).toEqual(["04", "03", "02", "01"]);
  });
});
