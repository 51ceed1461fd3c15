// msw for the unit tests: the API is answered by handlers in the test, at the
// network layer (fetch itself is not replaced), so the code under test runs
// its real requests, headers and error paths.
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll } from "vitest";
import { cleanup, configure } from "@testing-library/react";

// A loaded CI machine is slow: waits are generous, assertions are not.
configure({ asyncUtilTimeout: 15_000 });

export const server = setupServer();

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  cleanup();
  server.resetHandlers();
});
afterAll(() => server.close());

export const ADMIN = "unit-admin-token";
export const VIEWER = "unit-viewer-token";
