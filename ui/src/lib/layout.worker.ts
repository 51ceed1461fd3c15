// Graph layout off the main thread: elkjs (layered) runs in this worker, so a
// large delegation graph never blocks the page. Messages: {id, nodes, edges}
// in, {id, positions} or {id, error} out.
import ELK from "elkjs/lib/elk.bundled.js";
import type { LayoutRequest, LayoutResponse } from "./graph";

const elk = new ELK();

self.onmessage = async (ev: MessageEvent<LayoutRequest>) => {
  const { id, nodes, edges, direction } = ev.data;
  try {
    const out = await elk.layout({
      id: "root",
      layoutOptions: {
        "elk.algorithm": "layered",
        "elk.direction": direction,
        "elk.spacing.nodeNode": "24",
        "elk.layered.spacing.nodeNodeBetweenLayers": "48",
      },
      children: nodes.map((n) => ({ id: n.id, width: n.width, height: n.height })),
      edges: edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
    });
    const positions: Record<string, { x: number; y: number }> = {};
    for (const c of out.children ?? []) positions[c.id] = { x: c.x ?? 0, y: c.y ?? 0 };
    (self as unknown as Worker).postMessage({ id, positions } satisfies LayoutResponse);
  } catch (e) {
    (self as unknown as Worker).postMessage({ id, error: String(e) } satisfies LayoutResponse);
  }
};
