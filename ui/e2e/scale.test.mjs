// Scale, in a real Chromium against the real release casa: 100k stored events
// (first rows ≤ 1 s, ≤ 200 rows in the DOM, no long task > 200 ms while
// scrolling to the end) and a 10k-event session (interactive in ≤ 1.5 s).
// The events are stored through casa's own API: the collector's report
// endpoint takes 1,000 wire events a request, and casa gives each its id,
// time and chain hash as it does for any event.
//
// The budgets are enforced (a miss fails the run). Each time budget is taken
// after a warm-up (the same walk or load once, unmeasured: casa's and the
// browser's caches, the JIT) as the median of TRIES measured tries, each in a
// fresh page: one stall of a shared 2-core machine does not decide it, a
// page that misses its budget half the time does. CASA_UI_SCALE_BUDGETS=report
// (a developer on an overloaded machine) prints a missed time budget instead
// of failing; the functional checks (rows in the DOM, every event reached)
// are enforced either way.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ADMIN, browser, client, fleet, settled, signIn, startCasa } from "./harness.mjs";

const TOTAL = 100_000;
const SESSION_EVENTS = 10_000;
const TRIES = 3;
let casa, api, chrome, world;

/** A time budget: enforced unless CASA_UI_SCALE_BUDGETS=report. */
function budget(ok, what) {
  if (ok) return;
  if (process.env.CASA_UI_SCALE_BUDGETS === "report") console.log(`# scale budget missed (CASA_UI_SCALE_BUDGETS=report): ${what}`);
  else assert.fail(what);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const wire = (masId, session, i) => ({
  id: "00000000-0000-7000-8000-000000000000",
  at: new Date().toISOString(),
  mas_id: masId,
  user_input_id: session,
  app_ids: [],
  jti: null,
  parent: null,
  token_digest: null,
  latency_us: 0,
  type: "wire_token_seen",
  node: "scale-test",
  sender: `cgroup ${i % 97}`,
  source: `10.0.${(i >> 8) & 255}.${i & 255}:40000`,
  destination: "10.1.0.1:8443",
  path: "/mcp",
  count: 1 + (i % 5),
});

async function stored(masId) {
  return (await api.get(`/stats?mas_id=${masId}`)).events;
}

/** casa_trace_events_written_total: cheap to read, unlike a count of the store. */
async function written() {
  const text = await (await fetch(`${casa.base}/metrics`, { headers: { Authorization: `Bearer ${ADMIN}` } })).text();
  const m = /^casa_trace_events_written_total (\d+)/m.exec(text);
  return m ? Number(m[1]) : null;
}

before(async () => {
  casa = await startCasa();
  api = client(casa.base);
  chrome = await browser();
  const f = await fleet(api, "scale");
  const session = (await api.token(f.chat, "a long session", "fs:read")).user_input_id;
  const started = Date.now();
  const base = await stored(f.mas.id);
  // Pacing reads the writer's counter; without it, the store's count (slower).
  const metered = (await written()) !== null;
  const progress = async () => (metered ? await written() : await stored(f.mas.id));
  const progressBase = await progress();
  for (let b = 0; b < TOTAL / 1000; b++) {
    // The last 10 batches belong to one session: a 10k-event session.
    const inSession = b >= (TOTAL - SESSION_EVENTS) / 1000;
    const events = Array.from({ length: 1000 }, (_, i) => wire(f.mas.id, inSession ? session : null, b * 1000 + i));
    const r = await api.post("/collector/events", { events });
    assert.equal(r.accepted, 1000);
    // Let the trace writer keep up (its buffer drops what overflows it).
    if (b % 10 === 9) {
      const want = progressBase + (b + 1) * 1000;
      for (let i = 0; (await progress()) < want; i++) {
        assert.ok(i < 1200, "the writer stores what it accepted");
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  const total = await stored(f.mas.id);
  console.log(`# scale: ${total} events stored for the MAS in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.ok(total >= base + TOTAL, `${total} stored`);
  world = { ...f, session, total };
});

after(async () => {
  await chrome?.close();
  await casa?.halt();
});

async function adminPage() {
  const context = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await signIn(page, casa.base);
  // The dashboard signed into has loaded (its /stats reads the 100k events):
  // what is timed next is the page under test alone.
  await settled(page);
  return { context, page, errors };
}

/** Client-side navigation to `path`, timed until `ready` is in the DOM (ms). */
const timedGo = (page, path, ready) =>
  page.evaluate(
    ([p, sel]) =>
      new Promise((done) => {
        const t = performance.now();
        window.history.pushState({}, "", p);
        window.dispatchEvent(new PopStateEvent("popstate"));
        const check = () => (document.querySelector(sel) ? done(performance.now() - t) : requestAnimationFrame(check));
        check();
      }),
    [path, ready],
  );

describe("scale", () => {
  /** One walk from the first rows to the end of the list, in a fresh page. */
  async function walkToEnd() {
    const { context, page, errors } = await adminPage();
    const first = await timedGo(page, `/live?mas_id=${world.mas.id}`, "[data-testid=live-row]");
    await page.evaluate(() => {
      window.__long = [];
      new PerformanceObserver((l) => window.__long.push(...l.getEntries().map((e) => e.duration))).observe({ type: "longtask" });
    });
    const started = Date.now();
    const walk = await page.evaluate(async () => {
      const box = document.querySelector("[data-testid=rows]");
      const count = () => Number(document.querySelector("[data-testid=row-count]").textContent);
      const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      let maxDom = 0;
      let stuck = 0;
      for (let last = -1; ; ) {
        box.scrollTop = box.scrollHeight;
        await frame();
        maxDom = Math.max(maxDom, box.querySelectorAll("[data-testid=live-row]").length);
        const atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 1;
        if (box.dataset.older === "none" && atEnd) break;
        const n = count();
        stuck = n === last ? stuck + 1 : 0;
        if (stuck > 600) throw new Error(`no older page after ${n} rows`);
        if (stuck > 0) await new Promise((r) => setTimeout(r, 20));
        last = n;
      }
      const lastRow = [...box.querySelectorAll("[data-testid=live-row]")].sort(
        (a, b) => Number(/translateY\(([\d.]+)px\)/.exec(b.style.transform)?.[1]) - Number(/translateY\(([\d.]+)px\)/.exec(a.style.transform)?.[1]),
      )[0];
      return { rows: count(), maxDom, oldest: lastRow?.getAttribute("data-id") };
    });
    const long = await page.evaluate(() => window.__long);
    const worst = Math.max(0, ...long);
    const seconds = (Date.now() - started) / 1000;
    await context.close();
    return { first, ...walk, long, worst, seconds, errors };
  }

  test("100k events: first rows ≤ 1 s, ≤ 200 rows in the DOM, no long task > 200 ms while scrolling to the end", async () => {
    const runs = [];
    for (let i = 0; i <= TRIES; i++) {
      const r = await walkToEnd();
      console.log(
        `# scale live ${i === 0 ? "warm-up" : `try ${i}`}: first rows ${r.first.toFixed(0)} ms; scrolled to the end of ${r.rows} rows in ${r.seconds.toFixed(1)} s; ` +
          `at most ${r.maxDom} rows in the DOM; ${r.long.length} long tasks, longest ${r.worst.toFixed(0)} ms`,
      );
      // Every walk, the warm-up too, shows its first rows within a second,
      // keeps few rows in the DOM and reaches every event.
      assert.ok(r.first <= 1000, `first rows after ${r.first.toFixed(0)} ms`);
      assert.ok(r.maxDom <= 200, `${r.maxDom} rows in the DOM`);
      assert.equal(r.rows, world.total, "every stored event was reached");
      assert.deepEqual(r.errors, []);
      if (i > 0) runs.push(r);
    }
    const worst = median(runs.map((r) => r.worst));
    console.log(`# scale live budget: longest task while scrolling ${worst.toFixed(0)} ms (budget 200), median of ${TRIES} tries (${runs.map((r) => r.worst.toFixed(0)).join(", ")})`);
    budget(worst <= 200, `a long task of ${worst.toFixed(0)} ms while scrolling (budget 200)`);
  });

  /** Opens the session in a fresh page: ms until interactive, and what it shows. */
  async function openSession() {
    const { context, page, errors } = await adminPage();
    const ms = await page.evaluate(
      (p) =>
        new Promise((done) => {
          const t = performance.now();
          window.history.pushState({}, "", p);
          window.dispatchEvent(new PopStateEvent("popstate"));
          // Interactive: the chain is on screen and the main thread is free again.
          const check = () =>
            document.querySelector("[data-testid=chain-event]") ? setTimeout(() => done(performance.now() - t), 0) : requestAnimationFrame(check);
          check();
        }),
      `/sessions/${world.session}`,
    );
    const shown = await page.evaluate(() => ({
      dom: document.querySelectorAll("[data-testid=chain-event]").length,
      text: document.querySelector("#session-title")?.parentElement?.querySelector(".muted")?.textContent ?? "",
    }));
    // It answers input: scroll to the end and the last events render.
    const events = Number(/([\d]+) events/.exec(shown.text)?.[1]);
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await page
      .waitForFunction((n) => document.querySelector(`[data-testid=chain-event][data-index="${n - 1}"]`), events, { timeout: 10_000 })
      .catch(() => {});
    const end = await page.evaluate(() => ({
      dom: document.querySelectorAll("[data-testid=chain-event]").length,
      last: Math.max(...[...document.querySelectorAll("[data-testid=chain-event]")].map((e) => Number(e.getAttribute("data-index")))),
    }));
    await context.close();
    return { ms, events, shown, end, errors };
  }

  test("a 10k-event session opens interactive in ≤ 1.5 s", async () => {
    const times = [];
    for (let i = 0; i <= TRIES; i++) {
      const { ms, events, shown, end, errors } = await openSession();
      console.log(`# scale session ${i === 0 ? "warm-up" : `try ${i}`}: ${events} events, interactive in ${ms.toFixed(0)} ms, ${shown.dom} in the DOM; scrolled to the end: ${end.dom} in the DOM, the last index ${end.last}`);
      assert.ok(events >= SESSION_EVENTS, shown.text);
      assert.ok(shown.dom <= 200, `${shown.dom} events in the DOM`);
      assert.ok(end.dom <= 200, `${end.dom} events in the DOM at the end`);
      assert.equal(end.last, events - 1, "the last event renders at the end");
      assert.deepEqual(errors, []);
      if (i > 0) times.push(ms);
    }
    const ms = median(times);
    console.log(`# scale session budget: interactive in ${ms.toFixed(0)} ms (budget 1,500), median of ${TRIES} tries (${times.map((x) => x.toFixed(0)).join(", ")})`);
    budget(ms <= 1500, `interactive after ${ms.toFixed(0)} ms (budget 1,500)`);
  });
});
