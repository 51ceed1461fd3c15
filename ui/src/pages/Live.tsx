import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { useVirtualizer } from "@tanstack/react-virtual";
import { authHeader, get, unauthorized } from "../lib/api";
import { merge, openTraceStream, type StreamStatus, type TraceStream } from "../lib/stream";
import { reasonSentence, shortId } from "../lib/explain";
import type { TraceEvent, TracePage } from "../lib/types";

/** Filters the list reads from the URL; the stream takes all but `token_digest`. */
export const FILTERS = ["mas_id", "decision", "event_type", "app_id", "jti", "user_input_id", "token_digest"] as const;
const STREAMED = new Set<string>(["mas_id", "decision", "event_type", "app_id", "jti", "user_input_id"]);
const ROW = 40;

/** The smallest UUIDv7 of a millisecond: "everything after this time" as an event id. */
export function uuidV7Floor(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-000000000000`;
}

function summary(e: TraceEvent): string {
  switch (e.type) {
    case "exchange_allowed":
      return `${(e.tools ?? []).join(", ")} → ${e.audience ?? ""}`;
    case "exchange_denied":
      return (e.denials ?? []).map((d) => `${d.tool}: ${reasonSentence(d.reason)}`).join(" ");
    case "exchange_rejected":
      return e.description ?? e.error ?? "";
    case "token_issued":
      return (e.tools ?? []).join(", ");
    case "admin_change":
      return `${e.action ?? ""} ${e.target ?? ""}`;
    default:
      return "";
  }
}

function decisionOf(e: TraceEvent): "allowed" | "denied" | null {
  if (e.type === "token_issued" || e.type === "exchange_allowed") return "allowed";
  if (e.type === "exchange_denied" || e.type === "exchange_rejected") return "denied";
  return null;
}

/** What a row shows, kept instead of the whole event: a long list holds little. */
interface Row {
  id: string;
  at: string;
  type: string;
  jti: string | null;
  user_input_id: string | null;
  decision: "allowed" | "denied" | null;
  summary: string;
}

const toRow = (e: TraceEvent): Row => ({
  id: e.id,
  at: e.at,
  type: e.type,
  jti: e.jti,
  user_input_id: e.user_input_id,
  decision: decisionOf(e),
  summary: summary(e),
});
const toRows = (events: TraceEvent[]) => events.map(toRow);

export function Live() {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const filters = useMemo(() => FILTERS.flatMap((k) => (params.get(k) ? [[k, params.get(k) ?? ""] as const] : [])), [params]);
  const key = filters.map(([k, v]) => `${k}=${v}`).join("&");
  const [rows, setRows] = useState<Row[]>([]);
  const [status, setStatus] = useState<StreamStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState(0);
  const [rate, setRate] = useState(0);
  const arrivals = useRef<number[]>([]);
  const stream = useRef<TraceStream | null>(null);
  const scroller = useRef<HTMLDivElement>(null);
  // The cursor of the next older page of GET /trace (null: none left), read as the list scrolls down.
  const older = useRef<{ cursor: string | null; loading: boolean; key: string; seen: Set<string> }>({ cursor: null, loading: false, key: "", seen: new Set() });
  const [olderLeft, setOlderLeft] = useState(false);

  useEffect(() => {
    let stop = false;
    const seen = new Set<string>();
    setRows([]);
    setError(null);
    const q = new URLSearchParams(key);
    const streamed = new URLSearchParams([...q].filter(([k]) => STREAMED.has(k)));
    const startedAt = Date.now();
    older.current = { cursor: null, loading: false, key, seen };
    setOlderLeft(false);
    get<TracePage>(`/trace?${q.toString()}&limit=200`).then(
      (page) => {
        if (stop) return;
        older.current.cursor = page.next_cursor ?? null;
        setOlderLeft(Boolean(page.next_cursor));
        setRows((r) => merge(r, seen, toRows(page.items)));
        if (q.has("token_digest")) return; // A token's past: nothing streams for it.
        // Resume right after what was read, so nothing falls in between.
        const after = page.items[0]?.id ?? uuidV7Floor(startedAt - 1000);
        stream.current = openTraceStream({
          query: streamed,
          after,
          headers: authHeader,
          onUnauthorized: unauthorized,
          onStatus: (s) => !stop && setStatus(s),
          onEvents: (batch) => {
            if (stop) return;
            const now = performance.now();
            for (let i = 0; i < batch.length; i++) arrivals.current.push(now);
            setRows((r) => merge(r, seen, toRows(batch)));
          },
        });
      },
      (e: unknown) => !stop && setError(e instanceof Error ? e.message : String(e)),
    );
    return () => {
      stop = true;
      stream.current?.close();
      stream.current = null;
    };
  }, [key]);

  useEffect(() => {
    const t = setInterval(() => {
      const cutoff = performance.now() - 5000;
      arrivals.current = arrivals.current.filter((x) => x >= cutoff);
      setRate(arrivals.current.length / 5);
    }, 1000);
    return () => clearInterval(t);
  }, []);

  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW,
    overscan: 8,
  });

  // Near the bottom: read the next older page (500 events), once at a time.
  const items = virtual.getVirtualItems();
  const lastShown = items[items.length - 1]?.index ?? 0;
  useEffect(() => {
    const o = older.current;
    if (!olderLeft || o.loading || !o.cursor || o.key !== key || lastShown < rows.length - 60) return;
    o.loading = true;
    const q = new URLSearchParams(key);
    q.set("limit", "500");
    q.set("cursor", o.cursor);
    get<TracePage>(`/trace?${q.toString()}`).then(
      (page) => {
        if (older.current !== o) return;
        o.cursor = page.next_cursor ?? null;
        o.loading = false;
        setOlderLeft(Boolean(page.next_cursor));
        setRows((r) => merge(r, o.seen, toRows(page.items)));
      },
      (e: unknown) => {
        o.loading = false;
        setError(e instanceof Error ? e.message : String(e));
      },
    );
  }, [lastShown, rows.length, olderLeft, key]);

  const open = useCallback(
    (e: Row | undefined) => {
      if (e?.user_input_id) navigate(`/sessions/${e.user_input_id}?event=${e.id}`);
    },
    [navigate],
  );

  function onKey(ev: React.KeyboardEvent) {
    if (ev.key === "j" || ev.key === "ArrowDown") {
      ev.preventDefault();
      const next = Math.min(rows.length - 1, selected + 1);
      setSelected(next);
      virtual.scrollToIndex(next);
    } else if (ev.key === "k" || ev.key === "ArrowUp") {
      ev.preventDefault();
      const next = Math.max(0, selected - 1);
      setSelected(next);
      virtual.scrollToIndex(next);
    } else if (ev.key === "Enter") {
      open(rows[selected]);
    }
  }

  function addFilter(ev: FormEvent<HTMLFormElement>) {
    ev.preventDefault();
    const form = ev.currentTarget;
    const field = (form.elements.namedItem("field") as HTMLSelectElement).value;
    const input = form.elements.namedItem("value") as HTMLInputElement;
    if (!input.value.trim()) return;
    const next = new URLSearchParams(params);
    next.set(field, input.value.trim());
    input.value = "";
    setParams(next);
  }

  function removeFilter(k: string) {
    const next = new URLSearchParams(params);
    next.delete(k);
    setParams(next);
  }

  const conn = status?.connection ?? "connecting";
  return (
    <section aria-labelledby="live-title" className="live">
      <h1 id="live-title">Live decisions</h1>
      <div className="toolbar">
        <ul className="chips" aria-label="Active filters">
          {filters.map(([k, v]) => (
            <li key={k} className="chip">
              <span>
                {k}: {v}
              </span>
              <button type="button" aria-label={`Remove filter ${k}`} onClick={() => removeFilter(k)}>
                ×
              </button>
            </li>
          ))}
        </ul>
        <form onSubmit={addFilter} className="add-filter" aria-label="Add a filter">
          <label htmlFor="filter-field">Filter</label>
          <select id="filter-field" name="field" defaultValue="decision">
            {FILTERS.map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
          <label htmlFor="filter-value" className="visually-hidden">
            Value
          </label>
          <input id="filter-value" name="value" autoComplete="off" placeholder="value" />
          <button type="submit">Add</button>
        </form>
      </div>
      <p role="status" className={`conn conn-${conn}`} data-testid="connection" data-gaps={status?.gaps ?? 0} data-unfilled={status?.unfilled ?? 0}>
        <span className="dot" aria-hidden="true" />
        {conn === "reconnecting" && status?.retryInS ? `reconnecting in ${status.retryInS} s` : conn}
        {" · "}
        {rate.toFixed(1)}/s · last event {status?.lastEventAt ? new Date(status.lastEventAt).toLocaleTimeString() : "–"} · gaps{" "}
        {status?.gaps ?? 0}
        {status && status.gaps > 0 && (status.unfilled === 0 ? " (all filled from the store)" : ` (${status.unfilled} not filled: read older events with the filters above)`)}
        {" · "}
        <span data-testid="row-count">{rows.length}</span> rows{olderLeft ? " (older ones load as you scroll)" : ""}
        <button type="button" className="link" onClick={() => stream.current?.reconnect()}>
          Reconnect
        </button>
      </p>
      {error && <p role="alert">{error}</p>}
      <div
        ref={scroller}
        className="rows"
        tabIndex={0}
        role="list"
        aria-label="Decisions, newest first. j and k move, Enter opens the session."
        onKeyDown={onKey}
        data-testid="rows"
        data-older={olderLeft ? "more" : "none"}
      >
        <div style={{ height: virtual.getTotalSize(), position: "relative" }}>
          {virtual.getVirtualItems().map((v) => {
            const e = rows[v.index];
            if (!e) return null;
            const d = e.decision;
            return (
              <div
                key={e.id}
                id={`row-${e.id}`}
                role="listitem"
                className={`row${v.index === selected ? " selected" : ""}`}
                aria-current={v.index === selected ? "true" : undefined}
                data-testid="live-row"
                data-id={e.id}
                data-jti={e.jti ?? ""}
                style={{ transform: `translateY(${v.start}px)`, height: ROW }}
                onClick={() => setSelected(v.index)}
              >
                <time dateTime={e.at}>{new Date(e.at).toLocaleTimeString()}</time>
                <span className={`badge ${d ?? "neutral"}`}>{d ?? "info"}</span>
                <span className="type">{e.type}</span>
                <span className="summary">{e.summary}</span>
                {e.user_input_id ? (
                  <Link to={`/sessions/${e.user_input_id}?event=${e.id}`} tabIndex={-1}>
                    session {shortId(e.user_input_id)}
                  </Link>
                ) : (
                  <span />
                )}
              </div>
            );
          })}
        </div>
      </div>
    </section>
  );
}
