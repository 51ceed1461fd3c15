// The API client. The credential lives in this module's memory only: never
// in localStorage, sessionStorage, a cookie or a URL. A reload logs out.

export type Role = "admin" | "viewer";

let credential: { token: string; role: Role } | null = null;
const listeners = new Set<() => void>();

export function session(): { role: Role } | null {
  return credential ? { role: credential.role } : null;
}

export function onSessionChange(f: () => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

function notify() {
  for (const f of listeners) f();
}

export function logout() {
  credential = null;
  notify();
}

export class HttpError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The bearer header of the current credential. */
export function authHeader(): Record<string, string> {
  if (!credential) throw new HttpError(401, "invalid_token", "not logged in");
  return { Authorization: `Bearer ${credential.token}` };
}

/** A 401 anywhere ends the session: the login page takes over. */
export function unauthorized() {
  logout();
}

async function failure(r: Response): Promise<HttpError> {
  let code = "http_error";
  let description = `${r.status} ${r.statusText}`;
  try {
    const body = (await r.json()) as { error?: string; error_description?: string };
    code = body.error ?? code;
    description = body.error_description ?? description;
  } catch {
    /* not JSON */
  }
  return new HttpError(r.status, code, description);
}

export async function get<T>(path: string, signal?: AbortSignal): Promise<T> {
  const r = await fetch(path, { headers: { ...authHeader(), Accept: "application/json" }, signal });
  if (r.status === 401) {
    unauthorized();
    throw await failure(r);
  }
  if (!r.ok) throw await failure(r);
  return (await r.json()) as T;
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  const r = await fetch(path, {
    method: "POST",
    headers: { ...authHeader(), Accept: "application/json", "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (r.status === 401) {
    unauthorized();
    throw await failure(r);
  }
  if (!r.ok) throw await failure(r);
  return (await r.json()) as T;
}

/**
 * Checks a token and learns its role without changing anything: both roles
 * read `/mas`; only the admin reads `/user-inputs` (the viewer gets 403).
 */
export async function login(token: string): Promise<Role> {
  const headers = { Authorization: `Bearer ${token}`, Accept: "application/json" };
  const r = await fetch("/mas?page_size=1", { headers });
  if (r.status === 401) throw new HttpError(401, "invalid_token", "That token is not valid here.");
  if (!r.ok) throw await failure(r);
  const probe = await fetch("/user-inputs/00000000-0000-0000-0000-000000000000", { headers });
  const role: Role = probe.status === 403 ? "viewer" : "admin";
  credential = { token, role };
  notify();
  return role;
}
