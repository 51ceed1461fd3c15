// Decisions in plain words, and the threshold what-if: everything here is
// computed from what the trace recorded, never guessed.
import type { CheckResult, TraceEvent } from "./types";

const REASONS: Record<string, string> = {
  tool_not_in_token: "The subject token does not grant this tool.",
  tool_not_allowed_for_app: "This agent is not allowed to use this tool.",
  unknown_tool: "No MCP server of this MAS serves a tool of this name.",
  delegation_too_deep: "The chain of exchanges is deeper than the MAS allows.",
  cross_mas_actor: "The actor belongs to another MAS.",
  tool_not_selected_by_llm: "None of the session's LLM calls selected this tool.",
  no_llm_calls_made: "No LLM call of this session was recorded, so no tool was selected.",
  tool_intent_mismatch: "The tool does not match the intent of the user's input closely enough.",
  intent_unavailable: "The intent of the user's input could not be computed.",
  tool_embedding_unavailable: "The tool has no embedding of this node's model.",
  llm_judged_inappropriate: "The LLM judge found the tool inappropriate for the task.",
  llm_verifier_unavailable: "The LLM judge gave no verdict (error or timeout), which denies.",
};

export function reasonSentence(code: string | null | undefined): string {
  if (!code) return "Passed.";
  return REASONS[code] ?? `Refused (${code}).`;
}

export interface SemanticDetail {
  score: number;
  threshold: number;
  rank: number;
  of: number;
  topK: number | null;
}

/** Parses the semantic check's recorded detail: "score 0.234 (threshold 0.180), rank 2 of 5 (top_k 3)". */
export function parseSemantic(detail: string | null | undefined): SemanticDetail | null {
  if (!detail) return null;
  const m = /^score (-?[\d.]+) \(threshold (-?[\d.]+)\), rank (\d+) of (\d+)(?: \(top_k (\d+)\))?/.exec(detail);
  if (!m) return null;
  return {
    score: Number(m[1]),
    threshold: Number(m[2]),
    rank: Number(m[3]),
    of: Number(m[4]),
    topK: m[5] === undefined ? null : Number(m[5]),
  };
}

export const SEMANTIC = "SEMANTIC_INTENT_MATCH";

export interface WhatIf {
  check: CheckResult;
  was: boolean;
  would: boolean;
}

/**
 * The semantic verdicts of these events at another threshold, from the
 * recorded scores (full precision) and ranks; the top-k rule is kept.
 */
export function whatIf(events: TraceEvent[], threshold: number): WhatIf[] {
  const out: WhatIf[] = [];
  for (const e of events) {
    for (const c of e.checks ?? []) {
      if (c.check !== SEMANTIC || c.score === null) continue;
      const d = parseSemantic(c.detail);
      const rankOk = d === null || d.topK === null || d.rank <= d.topK;
      out.push({ check: c, was: c.passed, would: c.score >= threshold && rankOk });
    }
  }
  return out;
}

/** The exchange's outcome per tool: allowed, or the enforced check that denied it first. */
export function deniedBy(e: TraceEvent): Map<string, CheckResult> {
  const out = new Map<string, CheckResult>();
  for (const c of e.checks ?? []) {
    if (!c.passed && c.enforced && !out.has(c.tool)) out.set(c.tool, c);
  }
  return out;
}

export function shortId(id: string | null | undefined, n = 8): string {
  return id ? id.slice(0, n) : "–";
}
