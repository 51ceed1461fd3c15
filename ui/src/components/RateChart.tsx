import { useEffect, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { authHeader, get, unauthorized } from "../lib/api";
import { RateWindow } from "../lib/rate";
import { openTraceStream } from "../lib/stream";
import type { TracePage } from "../lib/types";

const WINDOW_S = 120;

/** The live decisions-per-second line: the newest stored events, then the stream. */
export function RateChart() {
  const box = useRef<HTMLDivElement>(null);
  const [summary, setSummary] = useState({ now: 0, peak: 0, total: 0 });
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const win = new RateWindow(WINDOW_S);
    const color = getComputedStyle(el).color;
    const plot = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: 160,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [
          { stroke: color, grid: { stroke: "rgba(128,128,128,0.2)" }, ticks: { stroke: color } },
          { stroke: color, grid: { stroke: "rgba(128,128,128,0.2)" }, ticks: { stroke: color }, size: 40 },
        ],
        series: [{}, { label: "decisions/s", stroke: "#2563eb", width: 2, fill: "rgba(37,99,235,0.12)" }],
      },
      win.series(Date.now()),
      el,
    );
    const draw = () => {
      const [xs, ys] = win.series(Date.now());
      plot.setData([xs, ys]);
      // The newest second is still filling: "now" is the last complete one.
      setSummary({ now: ys[ys.length - 2] ?? 0, peak: Math.max(0, ...ys), total: ys.reduce((a, b) => a + b, 0) });
    };
    let stream: { close(): void } | null = null;
    let stop = false;
    const ctrl = new AbortController();
    get<TracePage>("/trace?limit=500", ctrl.signal).then(
      (page) => {
        if (stop) return;
        win.add(page.items);
        draw();
        stream = openTraceStream({
          query: new URLSearchParams(),
          after: page.items[0]?.id ?? null,
          headers: authHeader,
          onUnauthorized: unauthorized,
          onStatus: () => {},
          onEvents: (batch) => win.add(batch),
        });
      },
      () => {},
    );
    const tick = setInterval(draw, 1000);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height: 160 }));
    resize.observe(el);
    return () => {
      stop = true;
      ctrl.abort();
      stream?.close();
      clearInterval(tick);
      resize.disconnect();
      plot.destroy();
    };
  }, []);
  return (
    <section aria-labelledby="rate-title">
      <h2 id="rate-title">Decisions per second</h2>
      <div
        ref={box}
        className="rate-chart"
        role="img"
        aria-label={`Decisions per second over the last ${WINDOW_S} seconds: ${summary.now} in the last second, peak ${summary.peak}, ${summary.total} in all.`}
        data-testid="dps-chart"
        data-total={summary.total}
      />
      <p className="muted" aria-hidden="true">
        {summary.now}/s now · peak {summary.peak}/s · {summary.total} decisions in the last {WINDOW_S} s
      </p>
    </section>
  );
}
