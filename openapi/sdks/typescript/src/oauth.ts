// The OAuth endpoints: form bodies and HTTP Basic client authentication (RFC 6749
// section 2.3.1, each part form-encoded), typed with the generated schema.
import type { components } from "./generated/schema.js";

export type TokenResponse = components["schemas"]["TokenResponse"];
export type IntrospectionResponse = components["schemas"]["IntrospectionResponse"];
export type ErrorBody = components["schemas"]["ErrorBody"];

export const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token";

/** An RFC 6749 error answer; a denied exchange carries per-tool `denials`. */
export class OAuthError extends Error {
  constructor(readonly status: number, readonly body: ErrorBody) {
    super(`${status} ${body.error}: ${body.error_description}`);
  }
}

const formEncode = (s: string) => encodeURIComponent(s).replace(/%20/g, "+");

export function basicAuth(clientId: string, clientSecret: string): string {
  return "Basic " + Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString("base64");
}

/** One app's OAuth calls against a casa node. */
export class CasaOAuth {
  private readonly auth: string;
  constructor(private readonly baseUrl: string, clientId: string, clientSecret: string) {
    this.auth = basicAuth(clientId, clientSecret);
    this.baseUrl = baseUrl.replace(/\/$/, "");
  }

  private async post<T>(path: string, form: Record<string, string | undefined>): Promise<T> {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) if (v !== undefined) body.set(k, v);
    const r = await fetch(this.baseUrl + path, { method: "POST", body, headers: { Authorization: this.auth } });
    const text = await r.text();
    const json = text ? JSON.parse(text) : {};
    if (r.status !== 200) throw new OAuthError(r.status, json as ErrorBody);
    return json as T;
  }

  /** An initial token for a user input (client credentials grant). */
  token(userInput: string, tools: string[] = []): Promise<TokenResponse> {
    return this.post("/oauth/token", {
      grant_type: "client_credentials",
      user_input: userInput,
      tools: tools.length ? tools.join(" ") : undefined,
    });
  }

  /** RFC 8693: a token for `tools` on the tool server `audience` (its app id or base URL). */
  exchange(subjectToken: string, tools: string[], audience: string, actorToken?: string): Promise<TokenResponse> {
    return this.post("/oauth/token/exchange", {
      grant_type: TOKEN_EXCHANGE,
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN,
      actor_token: actorToken,
      actor_token_type: actorToken ? ACCESS_TOKEN : undefined,
      tools: tools.join(" "),
      audience,
    });
  }

  /** RFC 7662; with `tools`, active only if the token carries every one. */
  introspect(token: string, tools: string[] = []): Promise<IntrospectionResponse> {
    return this.post("/oauth/introspect", { token, tools: tools.length ? tools.join(" ") : undefined });
  }

  /** RFC 7009: revokes the token and everything exchanged from it. */
  async revoke(token: string): Promise<void> {
    await this.post("/oauth/revoke", { token });
  }
}
