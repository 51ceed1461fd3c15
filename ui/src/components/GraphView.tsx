// A graph drawn by @xyflow/react, laid out by elkjs in a worker. Loaded
// lazily (its own chunk): only pages that show a graph fetch it.
import { useEffect, useState } from "react";
import { ReactFlow, Background, Controls, MarkerType, type Edge, type Node } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { layout, type Graph } from "../lib/graph";

export default function GraphView({ graph, label, direction = "DOWN" }: { graph: Graph; label: string; direction?: "DOWN" | "RIGHT" }) {
  const [laid, setLaid] = useState<{ nodes: Node[]; edges: Edge[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let stop = false;
    layout(graph, direction).then(
      (pos) => {
        if (stop) return;
        setLaid({
          nodes: graph.nodes.map((n) => ({
            id: n.id,
            position: pos[n.id] ?? { x: 0, y: 0 },
            data: { label: n.label },
            className: `gnode gnode-${n.kind}`,
            style: { width: n.width, height: n.height },
            connectable: false,
            draggable: false,
          })),
          edges: graph.edges.map((e) => ({
            id: e.id,
            source: e.source,
            target: e.target,
            label: e.label,
            className: e.denied ? "gedge-denied" : undefined,
            markerEnd: { type: MarkerType.ArrowClosed },
          })),
        });
      },
      (e: unknown) => !stop && setError(String(e)),
    );
    return () => {
      stop = true;
    };
  }, [graph, direction]);
  if (error) return <p role="alert">Graph layout failed: {error}</p>;
  if (!laid) return <p role="status">Laying out the graph…</p>;
  return (
    <div className="graph" role="figure" aria-label={label} data-testid="graph" data-nodes={laid.nodes.length} data-edges={laid.edges.length}>
      <ReactFlow
        nodes={laid.nodes}
        edges={laid.edges}
        fitView
        nodesConnectable={false}
        nodesDraggable={false}
        elementsSelectable={false}
        proOptions={{ hideAttribution: true }}
        minZoom={0.1}
        onlyRenderVisibleElements
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
