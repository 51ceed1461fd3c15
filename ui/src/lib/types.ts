export interface CheckResult {
  tool: string;
  check: string;
  passed: boolean;
  reason: string | null;
  score: number | null;
  detail: string | null;
  enforced: boolean;
  tool_digest: string | null;
}

export interface Denial {
  tool: string;
  check: string;
  reason: string;
  detail: string | null;
}

export interface TraceEvent {
  id: string;
  at: string;
  mas_id: string;
  user_input_id: string | null;
  app_ids: string[];
  jti: string | null;
  parent: string | null;
  token_digest: string | null;
  latency_us: number;
  type: string;
  tools?: string[];
  requested?: string[];
  audience?: string;
  checks?: CheckResult[];
  denials?: Denial[];
  error?: string;
  description?: string;
  active?: boolean;
  targets?: { kind?: string; id?: string; [k: string]: unknown }[];
  reached?: string[];
  call_id?: string;
  selected_tools?: string[];
  kid?: string;
  retired_kid?: string;
  action?: string;
  target?: string;
  changes?: unknown;
  prev_hash: string | null;
  hash: string | null;
}

export interface TracePage {
  items: TraceEvent[];
  next_cursor?: string | null;
}

export interface Mas {
  id: string;
  name: string;
  description?: string | null;
  enabled_checks: string[];
  shadow_checks: string[];
  semantic: { threshold: number; top_k?: number | null };
  token_ttl_seconds: number;
  exchanged_token_ttl_seconds: number;
  max_delegation_depth: number;
  sessions_per_app_per_second: number;
  created_at: string;
  updated_at: string;
  realm: { issuer: string; jwks_uri: string; active_kid: string };
}

export interface ToolVersion {
  digest: string;
  description: string;
  input_schema?: unknown;
  replaced_at: string;
}

export interface Tool {
  name: string;
  description: string;
  input_schema?: unknown;
  app_id: string;
  app_name: string;
  digest: string;
  registered_digest?: string | null;
  changed_since_registration: boolean;
  embedded: boolean;
  history: ToolVersion[];
}

export interface App {
  id: string;
  mas_id: string;
  name: string;
  type: string;
  allowed_tools: string[];
  tools: { name: string }[];
}

export interface Stats {
  events: number;
  issued: number;
  allowed: number;
  denied: number;
  rejected: number;
  denials_by_reason: Record<string, number>;
  denials_by_check: Record<string, number>;
  edges: { caller: string; callee: string; calls: number; denied: number }[];
  truncated: boolean;
}
