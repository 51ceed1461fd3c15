import { lazy, Suspense, useMemo } from "react";
import { useGet } from "../lib/hooks";
import { callGraph } from "../lib/graph";

const GraphView = lazy(() => import("../components/GraphView"));
import type { Stats } from "../lib/types";
import { RateChart } from "../components/RateChart";

function Counts({ title, counts }: { title: string; counts: Record<string, number> }) {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  const max = Math.max(1, ...entries.map(([, n]) => n));
  return (
    <section aria-labelledby={title}>
      <h2 id={title}>{title}</h2>
      {entries.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <ul className="bars">
          {entries.map(([k, n]) => (
            <li key={k}>
              <span className="label">{k}</span>
              <span className="bar" aria-hidden="true">
                <span style={{ width: `${(n / max) * 100}%` }} />
              </span>
              <span className="n">{n}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export default function Dashboard() {
  const stats = useGet<Stats>("/stats");
  const graph = useMemo(() => (stats.data ? callGraph(stats.data) : null), [stats.data]);
  if (stats.error) return <p role="alert">{stats.error.message}</p>;
  const s = stats.data;
  if (!s) return <p role="status">Loading…</p>;
  const tiles: [string, number][] = [
    ["Issued", s.issued],
    ["Allowed", s.allowed],
    ["Denied", s.denied],
    ["Rejected", s.rejected],
  ];
  return (
    <section aria-labelledby="dash-title">
      <h1 id="dash-title">Dashboard</h1>
      <p className="muted">
        The last 24 hours: {s.events} events{s.truncated ? " (the newest 200,000 counted)" : ""}.
      </p>
      <ul className="tiles" aria-label="Decisions">
        {tiles.map(([k, n]) => (
          <li key={k} className="tile" data-testid={`tile-${k.toLowerCase()}`}>
            <span className="n">{n}</span>
            <span>{k}</span>
          </li>
        ))}
      </ul>
      <RateChart />
      <div className="grid2">
        <Counts title="Denials by reason" counts={s.denials_by_reason} />
        <Counts title="Denials by check" counts={s.denials_by_check} />
      </div>
      <section aria-labelledby="edges-title">
        <h2 id="edges-title">Caller → callee</h2>
        {graph && graph.nodes.length > 0 && (
          <Suspense fallback={<p role="status">Loading the graph…</p>}>
            <GraphView graph={graph} direction="RIGHT" label={`Caller to callee graph: ${graph.edges.length} edges (the table below says the same)`} />
          </Suspense>
        )}
        <div className="table-scroll" tabIndex={0}>
<table>
          <thead>
            <tr>
              <th scope="col">Caller (agent)</th>
              <th scope="col">Callee (tool server)</th>
              <th scope="col">Calls</th>
              <th scope="col">Denied</th>
            </tr>
          </thead>
          <tbody>
            {s.edges.map((e) => (
              <tr key={`${e.caller}>${e.callee}`}>
                <td>
                  <code>{e.caller}</code>
                </td>
                <td>
                  <code>{e.callee}</code>
                </td>
                <td>{e.calls}</td>
                <td>
                  {e.denied} ({e.calls ? Math.round((e.denied / e.calls) * 100) : 0}%)
                </td>
              </tr>
            ))}
          </tbody>
        </table>
</div>
      </section>
    </section>
  );
}
