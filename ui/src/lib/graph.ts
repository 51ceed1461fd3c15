// Graphs built from recorded facts only: a session's tokens (each exchanged
// token under the `parent` it was exchanged from, with its actor), and a
// MAS's caller → callee calls from /stats. Nothing is inferred from timing.
import { shortId } from "./explain";
import type { Stats, TraceEvent } from "./types";

export interface GraphNode {
  id: string;
  label: string;
  kind: "root" | "token" | "denied" | "app";
  width: number;
  height: number;
}
export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  label?: string;
  denied?: boolean;
}
export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}
export interface LayoutRequest extends Graph {
  id: number;
  direction: "DOWN" | "RIGHT";
}
export type LayoutResponse = { id: number; positions: Record<string, { x: number; y: number }> } | { id: number; error: string };

const W = 200;
const H = 56;

/** The session's delegation: `jti` → `parent` of every token issued or exchanged. */
export function delegationGraph(events: TraceEvent[]): Graph {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const known = new Set<string>();
  for (const e of events) {
    if (!e.jti || (e.type !== "token_issued" && e.type !== "exchange_allowed") || known.has(e.jti)) continue;
    known.add(e.jti);
    const issued = e.type === "token_issued";
    nodes.push({
      id: e.jti,
      kind: issued ? "root" : "token",
      label: issued ? `${shortId(e.jti)} issued: ${(e.tools ?? []).join(", ")}` : `${shortId(e.jti)} ${(e.tools ?? []).join(", ")} (actor ${shortId(e.app_ids[1] ?? "")})`,
      width: W,
      height: H,
    });
  }
  for (const e of events) {
    if (e.type === "exchange_allowed" && e.jti && e.parent && known.has(e.parent)) {
      edges.push({ id: `${e.parent}>${e.jti}`, source: e.parent, target: e.jti, label: "exchanged" });
    }
  }
  return { nodes, edges };
}

/** The MAS's caller → callee calls, with their denied share. */
export function callGraph(s: Stats): Graph {
  const apps = new Set<string>();
  for (const e of s.edges) apps.add(e.caller).add(e.callee);
  return {
    nodes: [...apps].map((a) => ({ id: a, label: a, kind: "app", width: W, height: 40 })),
    edges: s.edges.map((e) => ({
      id: `${e.caller}>${e.callee}`,
      source: e.caller,
      target: e.callee,
      label: `${e.calls} calls, ${e.calls ? Math.round((e.denied / e.calls) * 100) : 0}% denied`,
      denied: e.denied > 0,
    })),
  };
}

let worker: Worker | null = null;
let next = 0;
const waiting = new Map<number, (r: LayoutResponse) => void>();

/** Lays a graph out in the layout worker (started on first use). */
export function layout(g: Graph, direction: "DOWN" | "RIGHT" = "DOWN"): Promise<Record<string, { x: number; y: number }>> {
  if (typeof Worker === "undefined") return Promise.reject(new Error("this browser runs no Web Worker"));
  if (!worker) {
    worker = new Worker(new URL("./layout.worker.ts", import.meta.url), { type: "module" });
    worker.onmessage = (ev: MessageEvent<LayoutResponse>) => {
      waiting.get(ev.data.id)?.(ev.data);
      waiting.delete(ev.data.id);
    };
  }
  const id = ++next;
  const w = worker;
  return new Promise((ok, fail) => {
    waiting.set(id, (r) => ("error" in r ? fail(new Error(r.error)) : ok(r.positions)));
    w.postMessage({ id, direction, nodes: g.nodes, edges: g.edges } satisfies LayoutRequest);
  });
}
