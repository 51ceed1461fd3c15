import { describe, expect, it } from "vitest";
import { parseSemantic, reasonSentence, whatIf } from "./explain";
import type { TraceEvent } from "./types";

const event = (checks: TraceEvent["checks"]): TraceEvent => ({
  id: "e",
  at: "2026-01-01T00:00:00Z",
  mas_id: "m",
  user_input_id: null,
  app_ids: [],
  jti: null,
  parent: null,
  token_digest: null,
  latency_us: 0,
  type: "exchange_denied",
  checks,
  prev_hash: null,
  hash: null,
});

const semantic = (score: number, passed: boolean, detail: string) => ({
  tool: "t",
  check: "SEMANTIC_INTENT_MATCH",
  passed,
  reason: passed ? null : "tool_intent_mismatch",
  score,
  detail,
  enforced: true,
  tool_digest: "d",
});

describe("explain", () => {
  it("parses the recorded semantic detail", () => {
    expect(parseSemantic("score 0.234 (threshold 0.180), rank 2 of 5 (top_k 3)")).toEqual({
      score: 0.234,
      threshold: 0.18,
      rank: 2,
      of: 5,
      topK: 3,
    });
    expect(parseSemantic("score 0.1 (threshold 0.2), rank 1 of 1")?.topK).toBeNull();
    expect(parseSemantic("something else")).toBeNull();
  });

  it("recomputes verdicts at another threshold from full-precision scores, keeping top-k", () => {
    const events = [
      event([
        semantic(0.1234, false, "score 0.123 (threshold 0.180), rank 1 of 3"),
        semantic(0.25, true, "score 0.250 (threshold 0.180), rank 2 of 3"),
        semantic(0.5, false, "score 0.500 (threshold 0.180), rank 3 of 3 (top_k 2)"),
      ]),
    ];
    expect(whatIf(events, 0.12).map((w) => w.would)).toEqual([true, true, false]);
    expect(whatIf(events, 0.3).map((w) => w.would)).toEqual([false, false, false]);
    // At the recorded threshold the verdicts are the recorded ones.
    expect(whatIf(events, 0.18).map((w) => w.would)).toEqual(whatIf(events, 0.18).map((w) => w.was));
  });

  it("says unknown reasons plainly without inventing them", () => {
    expect(reasonSentence("tool_not_in_token")).toMatch(/does not grant/);
    expect(reasonSentence("brand_new")).toBe("Refused (brand_new).");
  });
});
