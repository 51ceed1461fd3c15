import { useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { useGet } from "../lib/hooks";
import { shortId } from "../lib/explain";
import { chainHash, verifyWindow, type ChainVerdict } from "../lib/chain";
import type { Mas, TraceEvent, TracePage } from "../lib/types";

/** Whether the newest 500 events of a MAS verify as a hash chain, recomputed here. */
function ChainBadge({ masId }: { masId: string }) {
  const recent = useGet<TracePage>(`/trace?mas_id=${encodeURIComponent(masId)}&limit=500`);
  const [verdict, setVerdict] = useState<ChainVerdict | null>(null);
  useEffect(() => {
    setVerdict(null);
    if (recent.data) void verifyWindow(recent.data.items).then(setVerdict);
  }, [recent.data]);
  if (!verdict) return <p role="status">Verifying the chain…</p>;
  return verdict.ok ? (
    <p role="status" className="badge allowed" data-testid="chain-badge" data-ok="true">
      Chain verified: the newest {verdict.events} events match their hashes and link up.
    </p>
  ) : (
    <p role="alert" className="badge denied" data-testid="chain-badge" data-ok="false" data-broken={verdict.broken}>
      Chain broken at event {verdict.broken}: {verdict.why}.
    </p>
  );
}

/** Management changes and key rotations, newest first. */
export default function Audit() {
  const [params] = useSearchParams();
  const mas = params.get("mas_id");
  const scope = mas ? `&mas_id=${encodeURIComponent(mas)}` : "";
  const changes = useGet<TracePage>(`/trace?event_type=admin_change&limit=100${scope}`);
  const rotations = useGet<TracePage>(`/trace?event_type=key_rotated&limit=100${scope}`);
  const rows = [...(changes.data?.items ?? []), ...(rotations.data?.items ?? [])].sort((a, b) => (a.id < b.id ? 1 : -1));
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit{mas ? ` of MAS ${shortId(mas)}` : ""}</h1>
      {mas ? <ChainBadge masId={mas} /> : <MasPicker />}
      {(changes.error ?? rotations.error) && <p role="alert">{(changes.error ?? rotations.error)?.message}</p>}
      <div className="table-scroll" tabIndex={0}>
<table>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">MAS</th>
            <th scope="col">What</th>
            <th scope="col">Changes</th>
            <th scope="col">Hash</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => (
            <tr key={e.id}>
              <td>
                <time dateTime={e.at}>{new Date(e.at).toLocaleString()}</time>
              </td>
              <td>
                <code>{shortId(e.mas_id)}</code>
              </td>
              <td>{e.type === "key_rotated" ? `key rotated: ${e.retired_kid ?? ""} → ${e.kid ?? ""}` : `${e.action ?? ""} ${e.target ?? ""}`}</td>
              <td>
                {e.changes ? <pre className="changes">{JSON.stringify(e.changes, null, 2)}</pre> : "–"}
              </td>
              <td>
                <code>{shortId(e.hash, 12)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      <OpenExport />
    </section>
  );
}

/** Opens a session exported from the Explorer and checks every event against its recorded hash, offline. */
function OpenExport() {
  const [result, setResult] = useState<string | null>(null);
  async function open(file: File) {
    try {
      const data = JSON.parse(await file.text()) as { user_input_id?: string; events?: TraceEvent[] };
      const events = data.events ?? [];
      for (const e of events) {
        if ((await chainHash(e)) !== e.hash) {
          setResult(`Not verified: event ${e.id} does not match its hash.`);
          return;
        }
      }
      setResult(`Verified: all ${events.length} events of session ${data.user_input_id ?? "?"} match their hashes.`);
    } catch (e) {
      setResult(`Not an exported session: ${String(e)}`);
    }
  }
  return (
    <section aria-labelledby="open-title">
      <h2 id="open-title">Open an exported session</h2>
      <label htmlFor="export-file">Exported JSON file</label>{" "}
      <input id="export-file" type="file" accept="application/json,.json" onChange={(e) => e.target.files?.[0] && void open(e.target.files[0])} />
      {result && (
        <p role="status" data-testid="export-verdict">
          {result}
        </p>
      )}
    </section>
  );
}

function MasPicker() {
  const list = useGet<{ items: Mas[] }>("/mas?page_size=100");
  return (
    <nav aria-label="Verify a MAS's chain">
      Verify the chain of:{" "}
      {(list.data?.items ?? []).map((m) => (
        <Link key={m.id} to={`/audit?mas_id=${m.id}`} className="chip">
          {m.name}
        </Link>
      ))}
    </nav>
  );
}
