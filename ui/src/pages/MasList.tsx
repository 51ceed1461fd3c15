import { Link } from "react-router";
import { useGet } from "../lib/hooks";
import type { Mas } from "../lib/types";

export default function MasList() {
  const page = useGet<{ items: Mas[]; total: number }>("/mas?page_size=100");
  return (
    <section aria-labelledby="mas-title">
      <h1 id="mas-title">Multi-Agent Systems</h1>
      {page.error && <p role="alert">{page.error.message}</p>}
      {page.data && (
        <div className="table-scroll" tabIndex={0}>
<table>
          <caption>
            {page.data.total} MAS{page.data.total > page.data.items.length ? ` (the first ${page.data.items.length})` : ""}
          </caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Checks (enforced / shadow)</th>
              <th scope="col">Semantic threshold</th>
              <th scope="col">Active key</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {page.data.items.map((m) => (
              <tr key={m.id}>
                <td>
                  <Link to={`/systems/${m.id}`}>{m.name}</Link>
                </td>
                <td>
                  {m.enabled_checks.join(", ") || "–"} / {m.shadow_checks.join(", ") || "–"}
                </td>
                <td>{m.semantic.threshold}</td>
                <td>
                  <code>{m.realm.active_kid}</code>
                </td>
                <td>
                  <time dateTime={m.updated_at}>{new Date(m.updated_at).toLocaleString()}</time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
</div>
      )}
    </section>
  );
}
