import { describe, expect, it } from "vitest";
import { http, HttpResponse } from "msw";
import { ADMIN, VIEWER, server } from "./msw";
import { get, login, logout, session } from "../lib/api";

function roles() {
  server.use(
    http.get("*/mas", ({ request }) => {
      const auth = request.headers.get("authorization");
      return auth === `Bearer ${ADMIN}` || auth === `Bearer ${VIEWER}`
        ? HttpResponse.json({ items: [], total: 0 })
        : HttpResponse.json({ error: "invalid_token", error_description: "no" }, { status: 401 });
    }),
    http.get("*/user-inputs/:id", ({ request }) =>
      request.headers.get("authorization") === `Bearer ${ADMIN}`
        ? HttpResponse.json({ error: "not_found" }, { status: 404 })
        : HttpResponse.json({ error: "forbidden" }, { status: 403 }),
    ),
  );
}

describe("the credential", () => {
  it("learns the admin role from a 404 on /user-inputs and the viewer role from a 403", async () => {
    roles();
    expect(await login(ADMIN)).toBe("admin");
    expect(session()).toEqual({ role: "admin" });
    expect(await login(VIEWER)).toBe("viewer");
    expect(session()).toEqual({ role: "viewer" });
    logout();
  });

  it("refuses a wrong token and keeps no session", async () => {
    roles();
    await expect(login("wrong")).rejects.toMatchObject({ status: 401 });
    expect(session()).toBeNull();
  });

  it("sends the bearer header, never the token in the URL, and a 401 anywhere signs out", async () => {
    roles();
    await login(ADMIN);
    const seen: { url: string; auth: string | null }[] = [];
    server.use(
      http.get("*/stats", ({ request }) => {
        seen.push({ url: request.url, auth: request.headers.get("authorization") });
        return HttpResponse.json({ error: "invalid_token" }, { status: 401 });
      }),
    );
    await expect(get("/stats")).rejects.toMatchObject({ status: 401, code: "invalid_token" });
    expect(seen).toEqual([{ url: expect.not.stringContaining(ADMIN), auth: `Bearer ${ADMIN}` }]);
    expect(session()).toBeNull();
  });
});
