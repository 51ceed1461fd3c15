import { lazy, Suspense, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { useWindowVirtualizer } from "@tanstack/react-virtual";
import { Link, useParams, useSearchParams } from "react-router";
import { post, HttpError } from "../lib/api";
import { useGet, useSession } from "../lib/hooks";
import { deniedBy, parseSemantic, reasonSentence, SEMANTIC, shortId, whatIf } from "../lib/explain";
import type { CheckResult, Mas, TraceEvent } from "../lib/types";
import { delegationGraph } from "../lib/graph";

const GraphView = lazy(() => import("../components/GraphView"));

interface UserInput {
  user_input: unknown;
  task?: string | null;
}

function CheckRow({ c }: { c: CheckResult }) {
  const d = c.check === SEMANTIC ? parseSemantic(c.detail) : null;
  return (
    <tr className={c.passed ? "" : "failed"}>
      <td>{c.tool}</td>
      <td>{c.check}</td>
      <td>{c.enforced ? "enforced" : "shadow"}</td>
      <td>{c.passed ? "passed" : "failed"}</td>
      <td>{c.score === null ? "–" : `${c.score.toFixed(3)}${d ? ` / ${d.threshold.toFixed(3)}` : ""}`}</td>
      <td>{d ? `${d.rank} of ${d.of}${d.topK ? ` (top ${d.topK})` : ""}` : "–"}</td>
      <td>
        <code>{c.tool_digest ? shortId(c.tool_digest, 12) : "–"}</code>
      </td>
      <td>{c.passed ? "" : reasonSentence(c.reason)}</td>
    </tr>
  );
}

function Checks({ e }: { e: TraceEvent }) {
  if (!e.checks?.length) return null;
  return (
    <div className="table-scroll" tabIndex={0}>
<table className="checks">
      <caption className="visually-hidden">Check results of this exchange</caption>
      <thead>
        <tr>
          <th scope="col">Tool</th>
          <th scope="col">Check</th>
          <th scope="col">Mode</th>
          <th scope="col">Verdict</th>
          <th scope="col">Score / threshold</th>
          <th scope="col">Rank</th>
          <th scope="col">Tool digest</th>
          <th scope="col">Reason</th>
        </tr>
      </thead>
      <tbody>
        {e.checks.map((c, i) => (
          <CheckRow key={i} c={c} />
        ))}
      </tbody>
    </table>
</div>
  );
}

/** Why a tool was denied (or would have been, for shadow checks): the recorded verdicts, in words. */
function WhyDenied({ e }: { e: TraceEvent }) {
  const failed = (e.checks ?? []).filter((c) => !c.passed);
  const denials = e.denials ?? [];
  if (failed.length === 0 && denials.length === 0) return null;
  const enforcedBy = deniedBy(e);
  return (
    <div className="why" data-testid="why-denied">
      <h3>{e.type === "exchange_denied" ? "Why denied" : "Shadow verdicts (recorded, not enforced)"}</h3>
      <ul>
        {denials
          .filter((d) => !(e.checks ?? []).some((c) => c.tool === d.tool && c.check === d.check))
          .map((d, i) => (
            <li key={`d${i}`} data-testid="why-item" data-check={d.check} data-tool={d.tool} data-enforced="true">
              <strong>{d.tool}</strong>: {reasonSentence(d.reason)} <span className="muted">({d.check}{d.detail ? `: ${d.detail}` : ""})</span>
            </li>
          ))}
        {failed.map((c, i) => {
          const s = c.check === SEMANTIC ? parseSemantic(c.detail) : null;
          return (
            <li
              key={`c${i}`}
              data-testid="why-item"
              data-check={c.check}
              data-tool={c.tool}
              data-enforced={String(c.enforced)}
              data-score={c.score ?? ""}
              data-threshold={s?.threshold ?? ""}
              data-digest={c.tool_digest ?? ""}
              data-reason={c.reason ?? ""}
            >
              <strong>{c.tool}</strong>: {reasonSentence(c.reason)}{" "}
              <span className="muted">
                {c.check}, {c.enforced ? (enforcedBy.get(c.tool) === c ? "enforced: this denied it" : "enforced") : "shadow: recorded only"}
                {c.score !== null && s ? `, score ${c.score.toFixed(3)} against threshold ${s.threshold.toFixed(3)}` : ""}
                {c.tool_digest ? `, tool definition ${shortId(c.tool_digest, 12)}` : ""}
              </span>{" "}
              <Link to={`/systems/${e.mas_id}#checks`}>MAS setting</Link>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

function WhatIfPanel({ events, threshold }: { events: TraceEvent[]; threshold: number }) {
  const [t, setT] = useState(threshold);
  const results = useMemo(() => whatIf(events, t), [events, t]);
  if (results.length === 0) return null;
  const flips = results.filter((r) => r.was !== r.would);
  return (
    <section aria-labelledby="whatif-title" className="whatif">
      <h2 id="whatif-title">Threshold what-if</h2>
      <label htmlFor="whatif-t">Semantic threshold</label>{" "}
      <input id="whatif-t" type="number" min={-1} max={1} step={0.01} value={t} onChange={(e) => setT(Number(e.target.value))} />
      <p role="status" data-testid="whatif-flips">
        {flips.length} of {results.length} semantic verdicts would change at {t.toFixed(2)} (recorded threshold {threshold.toFixed(2)}).
      </p>
      {flips.length > 0 && (
        <ul>
          {flips.map((f, i) => (
            <li key={i}>
              {f.check.tool}: {f.was ? "passed" : "failed"} → {f.would ? "would pass" : "would fail"} (score {f.check.score?.toFixed(3)})
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Tokens of the session as recorded: each `jti` under the `parent` it was exchanged from. */
function Delegation({ events }: { events: TraceEvent[] }) {
  const { issued, children } = useMemo(() => {
    const issued = events.filter((e) => e.jti && (e.type === "token_issued" || e.type === "exchange_allowed"));
    const children = new Map<string | null, TraceEvent[]>();
    for (const e of issued) {
      const parent = e.type === "token_issued" ? null : e.parent;
      const kids = children.get(parent);
      if (kids) kids.push(e);
      else children.set(parent, [e]);
    }
    return { issued, children };
  }, [events]);
  const tree = (parent: string | null, depth: number): React.ReactNode => {
    const kids = children.get(parent);
    if (!kids || depth > 16) return null;
    return (
      <ul>
        {kids.map((e) => (
          <li key={e.id} data-testid="delegation-node">
            <code>{shortId(e.jti)}</code> {e.type === "token_issued" ? "issued" : `exchanged for ${(e.tools ?? []).join(", ")} (actor ${shortId(e.app_ids[1])})`}
            {tree(e.jti, depth + 1)}
          </li>
        ))}
      </ul>
    );
  };
  const graph = useMemo(() => delegationGraph(events), [events]);
  if (issued.length === 0) return null;
  return (
    <section aria-labelledby="delegation-title">
      <h2 id="delegation-title">Delegation</h2>
      <Suspense fallback={<p role="status">Loading the graph…</p>}>
        <GraphView graph={graph} label={`Delegation graph: ${graph.nodes.length} tokens, ${graph.edges.length} exchanges (the list below says the same)`} />
      </Suspense>
      {tree(null, 0)}
    </section>
  );
}

/** One event of the chain: what it was, its offset and latency, its checks and why-denied. */
function ChainEvent({ e, t0, span, focus, ref, index, style }: { e: TraceEvent; t0: number; span: number; focus: string | null; ref?: React.Ref<HTMLLIElement>; index?: number; style?: React.CSSProperties }) {
  const offset = Date.parse(e.at) - t0;
  return (
              <li ref={ref} data-index={index} style={style} className={`event ${e.type}${e.id === focus ? " focus" : ""}`} data-testid="chain-event" data-type={e.type}>
                <div className="event-head">
                  <span className="offset">+{offset} ms</span>
                  <strong>{e.type.replace(/_/g, " ")}</strong>
                  {e.jti && (
                    <span>
                      token <code>{shortId(e.jti)}</code>
                    </span>
                  )}
                  {e.parent && (
                    <span>
                      from <code>{shortId(e.parent)}</code>
                    </span>
                  )}
                  <span className="muted">{(e.latency_us / 1000).toFixed(2)} ms</span>
                </div>
                <div className="bar" aria-hidden="true">
                  <span
                    style={{
                      marginLeft: `${(offset / span) * 100}%`,
                      width: `${Math.max(0.5, (e.latency_us / 1000 / span) * 100)}%`,
                    }}
                  />
                </div>
                {e.tools && <p>Tools: {e.tools.join(", ")}</p>}
                {e.selected_tools && <p>LLM call {e.call_id} selected: {e.selected_tools.join(", ") || "none"}</p>}
                {e.type === "introspection" && <p>Introspection: {e.active ? "active" : "inactive"}</p>}
                {e.type === "revocation" && (
                  <p>
                    Revoked {JSON.stringify(e.targets)}; reached {(e.reached ?? []).length} tokens: {(e.reached ?? []).map((r) => shortId(r)).join(", ")}
                  </p>
                )}
                <Checks e={e} />
                <WhyDenied e={e} />
              </li>
            );
}

/** Sessions past this many events render only the rows in view (window virtualization). */
const VIRTUAL_FROM = 300;

function VirtualTimeline({ list, t0, span, focus }: { list: TraceEvent[]; t0: number; span: number; focus: string | null }) {
  const ref = useRef<HTMLOListElement>(null);
  const [margin, setMargin] = useState(0);
  useLayoutEffect(() => setMargin(ref.current ? ref.current.getBoundingClientRect().top + window.scrollY : 0), []);
  const v = useWindowVirtualizer({ count: list.length, estimateSize: () => 72, overscan: 8, scrollMargin: margin });
  useEffect(() => {
    const i = focus ? list.findIndex((e) => e.id === focus) : -1;
    if (i >= 0) v.scrollToIndex(i, { align: "center" });
    // When the session (or the event asked for) changes, not on every render.
  }, [list, focus, v]);
  return (
    <ol className="timeline" ref={ref} style={{ height: v.getTotalSize(), position: "relative" }} data-testid="timeline" data-virtual="true">
      {v.getVirtualItems().map((it) => {
        const e = list[it.index]!;
        return (
          <ChainEvent
            key={e.id}
            e={e}
            t0={t0}
            span={span}
            focus={focus}
            ref={v.measureElement}
            index={it.index}
            style={{ position: "absolute", top: 0, left: 0, right: 0, transform: `translateY(${it.start - margin}px)` }}
          />
        );
      })}
    </ol>
  );
}

function prompt(u: unknown): string {
  return typeof u === "string" ? u : JSON.stringify(u, null, 2);
}

function download(name: string, data: unknown) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function Revoke({ masId, sessionId, jtis }: { masId: string; sessionId: string; jtis: string[] }) {
  const [confirming, setConfirming] = useState(false);
  const [result, setResult] = useState<string | null>(null);
  async function revoke() {
    try {
      await post(`/mas/${masId}/revoke`, { user_input_id: sessionId });
      setResult("Revoked: every token of this session is now invalid.");
    } catch (e) {
      setResult(e instanceof HttpError ? e.message : String(e));
    }
    setConfirming(false);
  }
  return (
    <section aria-labelledby="revoke-title" className="revoke">
      <h2 id="revoke-title">Revoke</h2>
      {!confirming && (
        <button type="button" onClick={() => setConfirming(true)} data-write="revoke">
          Revoke this session's tokens…
        </button>
      )}
      {confirming && (
        <div role="group" aria-label="Confirm revocation">
          <p>This revokes the session and reaches these {jtis.length} tokens (and any exchanged from them later):</p>
          <ul>
            {jtis.map((j) => (
              <li key={j}>
                <code>{j}</code>
              </li>
            ))}
          </ul>
          <button type="button" onClick={revoke} data-write="revoke-confirm">
            Revoke {jtis.length} tokens
          </button>{" "}
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      )}
      {result && <p role="status">{result}</p>}
    </section>
  );
}

export default function Session() {
  const { id = "" } = useParams();
  const [params] = useSearchParams();
  const s = useSession();
  const events = useGet<TraceEvent[]>(`/trace/session/${encodeURIComponent(id)}`);
  const input = useGet<UserInput>(s?.role === "admin" ? `/user-inputs/${encodeURIComponent(id)}` : null);
  const list = useMemo(() => events.data ?? [], [events.data]);
  const masId = list[0]?.mas_id;
  const mas = useGet<Mas>(masId ? `/mas/${masId}` : null);
  const focus = params.get("event");
  // Computed once per loaded session, not on each render (the MAS and the
  // prompt arrive after the events, and a 10k-event session re-renders).
  const derived = useMemo(() => {
    const t0 = list.length ? Date.parse(list[0]!.at) : 0;
    let span = 1;
    let recordedThreshold: number | undefined;
    const jtis = new Set<string>();
    for (const e of list) {
      span = Math.max(span, Date.parse(e.at) - t0 + e.latency_us / 1000);
      if (e.jti) jtis.add(e.jti);
      if (recordedThreshold === undefined && e.checks) {
        for (const c of e.checks) {
          const x = c.check === SEMANTIC ? parseSemantic(c.detail)?.threshold : undefined;
          if (x !== undefined) {
            recordedThreshold = x;
            break;
          }
        }
      }
    }
    return { t0, span, recordedThreshold, jtis: [...jtis] };
  }, [list]);
  if (events.loading) return <p role="status">Loading the session…</p>;
  if (events.error) return <p role="alert">{events.error.message}</p>;
  const { t0, span, jtis } = derived;
  // The threshold the decisions were made at, as recorded; else the MAS's current one.
  const recorded = derived.recordedThreshold ?? mas.data?.semantic.threshold ?? 0.18;
  return (
    <article aria-labelledby="session-title" className="session">
      <h1 id="session-title">Session {shortId(id)}</h1>
      <p className="muted">
        <code>{id}</code> · {list.length} events
        {masId && (
          <>
            {" "}
            · MAS <Link to={`/systems/${masId}`}>{mas.data?.name ?? shortId(masId)}</Link>
          </>
        )}{" "}
        <button type="button" onClick={() => download(`casa-session-${id}.json`, { exported_at: new Date().toISOString(), user_input_id: id, events: list })}>
          Export JSON
        </button>
      </p>
      <section aria-labelledby="prompt-title">
        <h2 id="prompt-title">Prompt and task</h2>
        {s?.role !== "admin" ? (
          <p className="muted">The prompt is shown to the admin only.</p>
        ) : input.data ? (
          <>
            <pre className="prompt" data-testid="prompt">
              {prompt(input.data.user_input)}
            </pre>
            <p>
              Derived task: <span data-testid="task">{input.data.task ?? "–"}</span>
            </p>
          </>
        ) : (
          <p className="muted">{input.error ? input.error.message : "Loading…"}</p>
        )}
      </section>
      <section aria-labelledby="chain-title">
        <h2 id="chain-title">Chain</h2>
        {list.length > VIRTUAL_FROM ? (
          <VirtualTimeline list={list} t0={t0} span={span} focus={focus} />
        ) : (
          <ol className="timeline">
            {list.map((e) => (
              <ChainEvent key={e.id} e={e} t0={t0} span={span} focus={focus} />
            ))}
          </ol>
        )}
      </section>
      <Delegation events={list} />
      <WhatIfPanel key={recorded} events={list} threshold={recorded} />
      {s?.role === "admin" && masId && <Revoke masId={masId} sessionId={id} jtis={jtis} />}
    </article>
  );
}
