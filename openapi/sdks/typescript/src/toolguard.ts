// `toolGuard`: middleware that enforces casa tokens in front of a tool server (MCP
// server) on Node's HTTP server or Express-style stacks: `(req, res, next)`.
//
// Every request needs `Authorization: Bearer <token>`, verified offline against the
// realm's JWKS (jose): `alg` EdDSA only, `typ` `at+jwt`, `iss` the configured realm,
// `aud` this server's client id, `exp`/`nbf` with a small leeway. A JSON-RPC
// `tools/call` must name a tool in the token's `tools`. With `introspection`, each token
// is also checked online (RFC 7662), so a revoked token is refused at once.
// Denials are RFC 6750 401/403 with `WWW-Authenticate`, and a JSON-RPC error object
// naming the reason for JSON-RPC requests. Each denial is reported to `log` (method,
// path and reason; the token is never logged). The verified claims are `req.casa`,
// the parsed body `req.body`.
import type { IncomingMessage, ServerResponse } from "node:http";
import { errors, jwtVerify, type JWTPayload } from "jose";
import { realmJwks } from "./jwks.js";
import { basicAuth } from "./oauth.js";

export interface ToolGuardOptions {
  /** The realm's issuer (`realm.issuer` of the MAS). */
  issuer: string;
  /** This tool server's client id. */
  audience: string;
  jwksUri?: string;
  /** A token with an unknown `kid` refetches the JWKS at most this often (default 10 s). */
  jwksCooldownMs?: number;
  leewaySeconds?: number;
  /** Where denials are reported, one line each (default: nowhere). Never given the token. */
  log?: (line: string) => void;
  /** Online checking with this server's own client credentials. */
  introspection?: { url: string; clientId: string; clientSecret: string };
  maxBodyBytes?: number;
}

export interface CasaClaims extends JWTPayload {
  tools: string[];
  client_id: string;
  uiid: string;
  act?: { sub: string };
}

type Req = IncomingMessage & { casa?: CasaClaims; body?: unknown };
type Next = (err?: unknown) => void;

class Denied extends Error {
  constructor(readonly status: number, readonly error: string, readonly reason: string, message: string) {
    super(message);
  }
}

export function toolGuard(options: ToolGuardOptions) {
  const issuer = options.issuer.replace(/\/$/, "");
  const jwks = realmJwks(options.jwksUri ?? `${issuer}/.well-known/jwks.json`, options.jwksCooldownMs);
  const log = options.log ?? (() => {});
  const leeway = options.leewaySeconds ?? 5;
  const maxBody = options.maxBodyBytes ?? 4 * 1024 * 1024;

  async function verify(token: string): Promise<CasaClaims> {
    const invalid = (reason: string, message: string) => new Denied(401, "invalid_token", reason, message);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        algorithms: ["EdDSA"],
        typ: "at+jwt",
        issuer,
        audience: options.audience,
        clockTolerance: leeway,
        requiredClaims: ["exp", "nbf", "iat", "jti"],
      }));
    } catch (e) {
      if (e instanceof errors.JWTExpired) throw invalid("expired", "the token has expired");
      if (e instanceof errors.JWTClaimValidationFailed && e.claim === "aud")
        throw invalid("wrong_audience", "the token is not for this server");
      if (e instanceof errors.JWTClaimValidationFailed && e.claim === "iss")
        throw invalid("wrong_issuer", "the token is not of this realm");
      if (e instanceof errors.JWKSNoMatchingKey) throw invalid("unknown_key", "the token's key is not a key of the realm");
      if (e instanceof errors.JWKSTimeout || (e instanceof Error && e.name === "TypeError"))
        throw new Denied(503, "temporarily_unavailable", "jwks_unavailable", "the realm's keys cannot be read");
      throw invalid("bad_token", "the token's signature, header or claims are invalid");
    }
    if (!Array.isArray(payload.tools)) throw invalid("bad_token", "the token names no tools");
    if (options.introspection && !(await active(token))) throw invalid("inactive", "the token is revoked or no longer active");
    return payload as CasaClaims;
  }

  async function active(token: string): Promise<boolean> {
    const i = options.introspection!;
    let r: Response;
    try {
      r = await fetch(i.url, {
        method: "POST",
        body: new URLSearchParams({ token }),
        headers: { Authorization: basicAuth(i.clientId, i.clientSecret) },
      });
    } catch {
      throw new Denied(503, "temporarily_unavailable", "introspection_unavailable", "casa cannot be reached");
    }
    if (r.status !== 200) throw new Denied(503, "temporarily_unavailable", "introspection_failed", `introspection answered ${r.status}`);
    return ((await r.json()) as { active?: unknown }).active === true;
  }

  return async function guard(req: Req, res: ServerResponse, next: Next): Promise<void> {
    let rpc: Record<string, unknown>[] = [];
    try {
      const body = req.body !== undefined ? req.body : await readJson(req, maxBody);
      req.body = body;
      rpc = (Array.isArray(body) ? body : [body]).filter(
        (m): m is Record<string, unknown> => typeof m === "object" && m !== null && (m as any).jsonrpc === "2.0",
      );
      const claims = await verify(bearer(req));
      for (const call of rpc) {
        if (call.method !== "tools/call") continue;
        const name = (call.params as { name?: unknown } | undefined)?.name;
        if (typeof name !== "string" || !claims.tools.includes(name))
          throw new Denied(403, "insufficient_scope", "tool_not_in_token", `the token does not grant the tool ${JSON.stringify(name)}`);
      }
      req.casa = claims;
    } catch (e) {
      if (!(e instanceof Denied)) return next(e);
      log(`casa toolGuard: denied ${req.method} ${req.url?.split("?")[0]}: ${e.status} ${e.reason}`);
      return deny(res, e, rpc);
    }
    next();
  };
}

function bearer(req: IncomingMessage): string {
  const header = req.headers.authorization;
  if (!header) throw new Denied(401, "invalid_request", "missing", "a bearer token is required");
  const [scheme, token] = header.split(" ", 2);
  if (scheme.toLowerCase() !== "bearer" || !token?.trim())
    throw new Denied(401, "invalid_request", "not_bearer", "use Authorization: Bearer <token>");
  return token.trim();
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  if (req.method === "GET" || req.method === "HEAD" || req.method === "DELETE") return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Denied(413, "invalid_request", "body_too_large", "the request body is too large");
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function deny(res: ServerResponse, d: Denied, rpc: Record<string, unknown>[]): void {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (d.status === 401 || d.status === 403) {
    headers["WWW-Authenticate"] =
      d.reason === "missing" ? `Bearer realm="casa"` : `Bearer realm="casa", error="${d.error}", error_description="${d.message}"`;
  }
  const error = { code: d.status === 403 ? -32003 : -32001, message: d.message, data: { error: d.error, reason: d.reason } };
  let payload: unknown = { error: d.error, error_description: d.message, reason: d.reason };
  if (rpc.length) {
    const ids = rpc.filter((m) => "id" in m).map((m) => m.id);
    const answers = (ids.length ? ids : [null]).map((id) => ({ jsonrpc: "2.0", id, error }));
    payload = answers.length > 1 ? answers : answers[0];
  }
  res.writeHead(d.status, headers).end(JSON.stringify(payload));
}
