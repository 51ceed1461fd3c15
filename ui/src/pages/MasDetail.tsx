import { useState } from "react";
import { Link, useParams } from "react-router";
import { useGet } from "../lib/hooks";
import { definitionText, diffLines } from "../lib/diff";
import { shortId } from "../lib/explain";
import type { App, Mas, Tool } from "../lib/types";

function Drift({ tool }: { tool: Tool }) {
  const [open, setOpen] = useState(false);
  const registered = tool.history[0];
  if (!tool.changed_since_registration || !registered) return <span className="badge allowed">unchanged</span>;
  const lines = diffLines(definitionText(registered.description, registered.input_schema), definitionText(tool.description, tool.input_schema));
  return (
    <>
      <button type="button" className="badge denied" aria-expanded={open} onClick={() => setOpen(!open)}>
        drifted: {open ? "hide" : "show"} diff
      </button>
      {open && (
        <pre className="diff" aria-label={`Registered (${shortId(registered.digest, 12)}) versus current (${shortId(tool.digest, 12)}) definition of ${tool.name}`}>
          {lines.map((l, i) => (
            <span key={i} className={l.kind}>
              {l.kind === "added" ? "+ " : l.kind === "removed" ? "- " : "  "}
              {l.text}
              {"\n"}
            </span>
          ))}
        </pre>
      )}
    </>
  );
}

export default function MasDetail() {
  const { id = "" } = useParams();
  const mas = useGet<Mas>(`/mas/${encodeURIComponent(id)}`);
  const tools = useGet<Tool[]>(`/mas/${encodeURIComponent(id)}/tools`);
  const apps = useGet<{ items: App[] }>(`/apps?mas_id=${encodeURIComponent(id)}&page_size=100`);
  if (mas.error) return <p role="alert">{mas.error.message}</p>;
  const m = mas.data;
  if (!m) return <p role="status">Loading…</p>;
  return (
    <article aria-labelledby="mas-name">
      <h1 id="mas-name">{m.name}</h1>
      {m.description && <p>{m.description}</p>}
      <p className="muted">
        <code>{m.id}</code> · <Link to={`/live?mas_id=${m.id}`}>Live decisions</Link> · <Link to={`/audit?mas_id=${m.id}`}>Audit</Link>
      </p>
      <section aria-labelledby="checks">
        <h2 id="checks">Checks and thresholds</h2>
        <dl className="facts">
          <dt>Enforced</dt>
          <dd>{m.enabled_checks.join(", ") || "none"}</dd>
          <dt>Shadow</dt>
          <dd>{m.shadow_checks.join(", ") || "none"}</dd>
          <dt>Semantic threshold</dt>
          <dd>
            {m.semantic.threshold}
            {m.semantic.top_k ? `, top ${m.semantic.top_k}` : ""}
          </dd>
          <dt>Token lifetime</dt>
          <dd>
            {m.token_ttl_seconds} s (exchanged: {m.exchanged_token_ttl_seconds} s), delegation depth ≤ {m.max_delegation_depth}
          </dd>
          <dt>Session quota</dt>
          <dd>{m.sessions_per_app_per_second} new sessions per app per second</dd>
        </dl>
      </section>
      <section aria-labelledby="keys">
        <h2 id="keys">Realm</h2>
        <dl className="facts">
          <dt>Active key</dt>
          <dd>
            <code>{m.realm.active_kid}</code>
          </dd>
          <dt>Issuer</dt>
          <dd>
            <code>{m.realm.issuer}</code>
          </dd>
          <dt>Keys</dt>
          <dd>
            <a href={`/realms/${m.id}/.well-known/jwks.json`}>
              JWKS
            </a>{" "}
            · <a href={`/realms/${m.id}/.well-known/oauth-authorization-server`}>metadata</a>
          </dd>
        </dl>
      </section>
      <section aria-labelledby="tools">
        <h2 id="tools">Tools</h2>
        {tools.data && (
          <div className="table-scroll" tabIndex={0}>
<table>
            <thead>
              <tr>
                <th scope="col">Tool</th>
                <th scope="col">Served by</th>
                <th scope="col">Description</th>
                <th scope="col">Digest</th>
                <th scope="col">Drift</th>
              </tr>
            </thead>
            <tbody>
              {tools.data.map((t) => (
                <tr key={t.name} data-testid="tool-row">
                  <td>{t.name}</td>
                  <td>{t.app_name}</td>
                  <td className="description">{t.description}</td>
                  <td>
                    <code>{shortId(t.digest, 12)}</code>
                  </td>
                  <td>
                    <Drift tool={t} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
</div>
        )}
      </section>
      <section aria-labelledby="apps">
        <h2 id="apps">Apps</h2>
        {apps.data && (
          <div className="table-scroll" tabIndex={0}>
<table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Allowed tools</th>
                <th scope="col">Id</th>
              </tr>
            </thead>
            <tbody>
              {apps.data.items.map((a) => (
                <tr key={a.id}>
                  <td>{a.name}</td>
                  <td>{a.type}</td>
                  <td>{a.allowed_tools.join(", ") || "–"}</td>
                  <td>
                    <code>{a.id}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
</div>
        )}
      </section>
    </article>
  );
}
