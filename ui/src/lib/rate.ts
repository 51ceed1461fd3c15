// Decisions per second: events bucketed by the second they were decided in
// (their recorded `at`, not their arrival), over a sliding window.
import type { TraceEvent } from "./types";

export const DECISIONS = new Set(["token_issued", "exchange_allowed", "exchange_denied", "exchange_rejected"]);

export class RateWindow {
  private counts = new Map<number, number>();
  private ids = new Set<string>();
  constructor(public readonly seconds: number) {}

  /** Counts each decision once (a resumed stream may repeat an event). */
  add(events: TraceEvent[]): void {
    for (const e of events) {
      if (!DECISIONS.has(e.type) || this.ids.has(e.id)) continue;
      this.ids.add(e.id);
      const s = Math.floor(Date.parse(e.at) / 1000);
      this.counts.set(s, (this.counts.get(s) ?? 0) + 1);
    }
  }

  /** [seconds, decisions in each] for the window ending at `nowMs`, oldest first. */
  series(nowMs: number): [number[], number[]] {
    const end = Math.floor(nowMs / 1000);
    const xs: number[] = [];
    const ys: number[] = [];
    for (let s = end - this.seconds + 1; s <= end; s++) {
      xs.push(s);
      ys.push(this.counts.get(s) ?? 0);
    }
    for (const s of this.counts.keys()) if (s <= end - this.seconds) this.counts.delete(s);
    if (this.ids.size > 50_000) this.ids.clear();
    return [xs, ys];
  }
}
