import { describe, expect, it } from "vitest";
import { http, HttpResponse } from "msw";
import { render, screen, waitFor } from "@testing-library/react";
import { createMemoryRouter, RouterProvider } from "react-router";
import { ADMIN, server } from "./msw";
import { MAS, SESSION, chained, event } from "./fixtures";
import { login } from "../lib/api";
import Session from "../pages/Session";
import Audit from "../pages/Audit";
import type { TraceEvent } from "../lib/types";

async function signedIn() {
  server.use(
    http.get("*/mas", () => HttpResponse.json({ items: [], total: 0 })),
    http.get("*/user-inputs/00000000-0000-0000-0000-000000000000", () => HttpResponse.json({ error: "not_found" }, { status: 404 })),
  );
  await login(ADMIN);
}

function at(path: string, routes: { path: string; element: React.ReactNode }[]) {
  const router = createMemoryRouter(routes, { initialEntries: [path] });
  return render(<RouterProvider router={router} />);
}

const semantic = (tool: string, score: number) => ({
  tool,
  check: "SEMANTIC_INTENT_MATCH",
  passed: false,
  reason: "intent_mismatch",
  score,
  detail: `score ${score.toFixed(3)} (threshold 0.900), rank 2 of 3 (top_k 2)`,
  enforced: false,
  tool_digest: "ab".repeat(32),
});

describe("the session page (msw)", () => {
  it("shows each failed verdict as the trace recorded it, and the what-if counts flips", async () => {
    await signedIn();
    const denied = event("exchange_denied", {
      requested: ["fs:write"],
      denials: [{ tool: "fs:write", check: "ACTOR", reason: "actor_not_allowed", detail: null }],
      checks: [
        { tool: "fs:write", check: "ACTOR", passed: false, reason: "actor_not_allowed", score: null, detail: null, enforced: true, tool_digest: null },
        semantic("fs:write", 0.42),
      ],
    });
    const events: TraceEvent[] = [event("token_issued", { jti: "j-root", tools: ["fs:read", "fs:write"] }), denied];
    server.use(
      http.get(`*/trace/session/${SESSION}`, () => HttpResponse.json(events)),
      http.get(`*/user-inputs/${SESSION}`, () => HttpResponse.json({ user_input: "read <img src=x onerror=alert(1)>", task: "read a file" })),
      http.get(`*/mas/${MAS}`, () => HttpResponse.json({ id: MAS, name: "support", semantic: { threshold: 0.9 } })),
    );
    at(`/sessions/${SESSION}`, [{ path: "/sessions/:id", element: <Session /> }]);
    await screen.findByTestId("why-denied");
    const items = screen.getAllByTestId("why-item").map((li) => ({ ...li.dataset }));
    expect(items).toEqual([
      { testid: "why-item", check: "ACTOR", tool: "fs:write", enforced: "true", score: "", threshold: "", digest: "", reason: "actor_not_allowed" },
      { testid: "why-item", check: "SEMANTIC_INTENT_MATCH", tool: "fs:write", enforced: "false", score: "0.42", threshold: "0.9", digest: "ab".repeat(32), reason: "intent_mismatch" },
    ]);
    // The prompt is text, never markup.
    expect((await screen.findByTestId("prompt")).textContent).toContain("<img src=x");
    expect(document.querySelectorAll("img").length).toBe(0);
    expect(screen.getByTestId("whatif-flips").textContent).toMatch(/^0 of 1 semantic verdicts would change at 0\.90/);
  });
});

describe("the audit chain badge (msw)", () => {
  const trail = () => [
    event("token_issued", { jti: "j1", tools: ["fs:read"] }),
    event("exchange_allowed", { jti: "j2", parent: "j1", tools: ["fs:read"], audience: "files", checks: [] }),
    event("introspection", { jti: "j2", active: true }),
  ];
  const serve = (items: TraceEvent[]) =>
    server.use(
      http.get("*/trace", ({ request }) => {
        const q = new URL(request.url).searchParams;
        return HttpResponse.json({ items: q.get("event_type") ? [] : items, next_cursor: null });
      }),
    );

  it("is green for a chain that verifies", async () => {
    await signedIn();
    serve(await chained(trail()));
    at(`/audit?mas_id=${MAS}`, [{ path: "/audit", element: <Audit /> }]);
    await waitFor(() => expect(screen.getByTestId("chain-badge").dataset.ok).toBe("true"));
  });

  it("is red, naming the event, when one event was changed after it was hashed", async () => {
    await signedIn();
    const items = await chained(trail());
    const victim = items[1]!;
    victim.tools = ["fs:write"];
    serve(items);
    at(`/audit?mas_id=${MAS}`, [{ path: "/audit", element: <Audit /> }]);
    await waitFor(() => expect(screen.getByTestId("chain-badge").dataset.ok).toBe("false"));
    expect(screen.getByTestId("chain-badge").dataset.broken).toBe(victim.id);
  });

  it("is red when an event was dropped from between two others", async () => {
    await signedIn();
    const items = await chained(trail());
    serve([items[0]!, items[2]!]);
    at(`/audit?mas_id=${MAS}`, [{ path: "/audit", element: <Audit /> }]);
    await waitFor(() => expect(screen.getByTestId("chain-badge").dataset.ok).toBe("false"));
    expect(screen.getByTestId("chain-badge").textContent).toMatch(/does not link/);
  });
});
