import { useGet } from "../lib/hooks";

interface Member {
  name: string;
  addr: string;
  state: string;
  serving: boolean;
  last_seen_ms: number;
  active_mas: number;
  owned_mas: number;
}

interface Report {
  node: string;
  epoch: number;
  serving: boolean;
  reason?: string | null;
  members: Member[];
}

export default function Cluster() {
  const r = useGet<Report>("/cluster");
  return (
    <section aria-labelledby="cluster-title">
      <h1 id="cluster-title">Cluster</h1>
      {r.error && <p role="status">{r.error.status === 404 ? "This node runs alone (no cluster)." : r.error.message}</p>}
      {r.data && (
        <>
          <p>
            Node <code>{r.data.node}</code>, epoch {r.data.epoch}, {r.data.serving ? "serving" : `not serving${r.data.reason ? `: ${r.data.reason}` : ""}`}
          </p>
          <div className="table-scroll" tabIndex={0}>
<table>
            <thead>
              <tr>
                <th scope="col">Member</th>
                <th scope="col">Address</th>
                <th scope="col">State</th>
                <th scope="col">MAS owned</th>
                <th scope="col">MAS active</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {r.data.members.map((m) => (
                <tr key={m.name}>
                  <td>{m.name}</td>
                  <td>
                    <code>{m.addr}</code>
                  </td>
                  <td>
                    {m.state}
                    {m.serving ? "" : " (not serving)"}
                  </td>
                  <td>{m.owned_mas}</td>
                  <td>{m.active_mas}</td>
                  <td>{m.last_seen_ms} ms ago</td>
                </tr>
              ))}
            </tbody>
          </table>
</div>
        </>
      )}
    </section>
  );
}
