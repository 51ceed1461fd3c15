// A typed client over the generated schema (openapi-typescript + openapi-fetch).
import createClient from "openapi-fetch";
import type { paths } from "./generated/schema.js";

export type { paths, components, operations } from "./generated/schema.js";

/** A client for the management and trace API, authenticated with the admin token. */
export function adminClient(baseUrl: string, adminToken: string) {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${adminToken}` } });
}

/** A client for the public endpoints (realm metadata, JWKS, health). */
export function publicClient(baseUrl: string) {
  return createClient<paths>({ baseUrl });
}
