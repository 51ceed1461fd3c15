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

  it("appends an older page after what is shown", () => {
    const seen = new Set<string>();
    let list = merge([], seen, [ev("09"), ev("08")]);
    list = merge(list, seen, [ev("05"), ev("07"), ev("06")]);
    expect(list.map((e) => e.id)).toEqual(["09", "08", "07", "06", "05"]);
  });
});
