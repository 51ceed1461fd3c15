import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, NavLink, Outlet, useNavigate } from "react-router";
import { get, HttpError, login, logout } from "./lib/api";
import { useSession } from "./lib/hooks";
import { shortId } from "./lib/explain";
import type { TracePage } from "./lib/types";

function Login() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(ev: FormEvent<HTMLFormElement>) {
    ev.preventDefault();
    const form = ev.currentTarget;
    const field = form.elements.namedItem("token") as HTMLInputElement;
    const token = field.value.trim();
    // The token is kept in memory only; the field is cleared at once.
    field.value = "";
    setBusy(true);
    setError(null);
    try {
      await login(token);
    } catch (e) {
      setError(e instanceof HttpError ? e.message : "casa cannot be reached.");
    } finally {
      setBusy(false);
    }
  }
  return (
    <main className="login" id="main">
      <h1>casa Explorer</h1>
      <form onSubmit={submit} autoComplete="off">
        <label htmlFor="token">Admin or viewer token</label>
        <input id="token" name="token" type="password" required autoComplete="off" spellCheck={false} />
        <p className="hint">Kept in this tab's memory only: a reload signs you out.</p>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

const JWT = /^eyJ[\w-]*\.eyJ[\w-]*\.[\w-]*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

type Hit = { label: string; to: string };

/** ⌘K: MAS by name or id, sessions, `jti`, event ids; a raw JWT is hashed here and searched by digest. */
function Search({ onClose }: { onClose: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [hits, setHits] = useState<Hit[] | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const navigate = useNavigate();
  useEffect(() => input.current?.focus(), []);
  async function submit(ev: FormEvent) {
    ev.preventDefault();
    const field = input.current;
    if (!field) return;
    const q = field.value.trim();
    const found: Hit[] = [];
    setNote(null);
    if (JWT.test(q)) {
      // The token never leaves the page: only its SHA-256 is sent.
      field.value = "";
      const digest = await sha256Hex(q);
      setNote(`Searched by token digest ${digest.slice(0, 12)}…`);
      const page = await get<TracePage>(`/trace?token_digest=${digest}&limit=20`);
      for (const e of page.items) {
        found.push({ label: `${e.type} ${shortId(e.id)}`, to: e.user_input_id ? `/sessions/${e.user_input_id}` : `/live?jti=${e.jti ?? ""}` });
      }
    } else if (UUID.test(q)) {
      const tries: [string, Hit][] = [
        [`/mas/${q}`, { label: `MAS ${q}`, to: `/systems/${q}` }],
        [`/trace/session/${q}`, { label: `Session ${q}`, to: `/sessions/${q}` }],
      ];
      for (const [path, hit] of tries) {
        try {
          const r = await get<unknown>(path);
          if (!Array.isArray(r) || r.length > 0) found.push(hit);
        } catch {
          /* not this kind */
        }
      }
      found.push({ label: `Events of token ${shortId(q)}`, to: `/live?jti=${q}` });
    } else if (q) {
      const page = await get<{ items: { id: string; name: string }[] }>(`/mas?q=${encodeURIComponent(q)}&page_size=20`);
      for (const m of page.items) found.push({ label: `MAS ${m.name}`, to: `/systems/${m.id}` });
      found.push({ label: `Events of token ${q}`, to: `/live?jti=${encodeURIComponent(q)}` });
    }
    setHits(found);
  }
  return (
    <div className="overlay" role="presentation" onClick={onClose}>
      <div
        role="dialog"
        aria-modal="true"
        aria-label="Search"
        className="search"
        onClick={(e) => e.stopPropagation()}
        onKeyDown={(e) => e.key === "Escape" && onClose()}
      >
        <form onSubmit={submit} role="search">
          <label htmlFor="q">Search MAS, session, jti, event id or a pasted token</label>
          <input id="q" ref={input} type="search" autoComplete="off" spellCheck={false} />
        </form>
        {note && <p className="hint">{note}</p>}
        {hits && (
          <ul aria-label="Results">
            {hits.length === 0 && <li>Nothing found.</li>}
            {hits.map((h) => (
              <li key={h.to + h.label}>
                <a
                  href={h.to}
                  onClick={(e) => {
                    e.preventDefault();
                    onClose();
                    navigate(h.to);
                  }}
                >
                  {h.label}
                </a>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}

export function Layout() {
  const s = useSession();
  const [searching, setSearching] = useState(false);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.metaKey || e.ctrlKey) && e.key.toLowerCase() === "k") {
        e.preventDefault();
        setSearching(true);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  if (!s) return <Login />;
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header>
        <Link to="/" className="brand">
          casa Explorer
        </Link>
        <nav aria-label="Main">
          <NavLink to="/" end>
            Dashboard
          </NavLink>
          <NavLink to="/live">Live</NavLink>
          <NavLink to="/systems">MAS</NavLink>
          <NavLink to="/audit">Audit</NavLink>
          <NavLink to="/members">Cluster</NavLink>
        </nav>
        <button type="button" onClick={() => setSearching(true)} aria-keyshortcuts="Control+K Meta+K">
          Search <kbd>⌘K</kbd>
        </button>
        <span className="role" data-testid="role">
          {s.role}
        </span>
        <button type="button" onClick={logout}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
      {searching && <Search onClose={() => setSearching(false)} />}
    </>
  );
}
