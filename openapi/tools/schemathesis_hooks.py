"""Rules of casa's API that OpenAPI 3.0 cannot state (it has no if/then), applied to
the requests schemathesis means to be valid, so that "valid" means what casa accepts:

- an app serves `tools` only if its type is `mcp_server` (checked on PATCH through
  a GET of the app);
- a check runs only where the node has what it needs: SEMANTIC_INTENT_MATCH an
  embedding model, AI_POWERED_TOOL_MATCH an LLM verifier (contract_test.py tells
  which this node has);
- the tools of an app have distinct names (JSON Schema's uniqueItems compares whole
  items, not a key);
- a check is enforced or shadowed, not both, and DETERMINISTIC_TOOL_SELECTED is
  never shadowed (attenuation does not depend on it);
- a client authenticates one way per request (RFC 6749 section 2.3): with the Basic
  credentials schemathesis sends, not also `client_id`/`client_secret` in the form.

Invalid (negative) cases are left as they are."""

from __future__ import annotations

import os

import httpx
import schemathesis

CAPABLE = set(os.environ.get("CASA_NODE_CHECKS", "").split(","))
NEEDS = {"SEMANTIC_INTENT_MATCH", "AI_POWERED_TOOL_MATCH"}
CLIENT_AUTH_OPS = {"token", "exchangeToken", "introspect", "revoke"}


def _app_type(case) -> str | None:
    base = os.environ["CASA_URL"]
    r = httpx.get(f"{base}/apps/{case.path_parameters.get('id')}",
                  headers={"Authorization": f"Bearer {os.environ['CASA_ADMIN_TOKEN']}"})
    return r.json().get("type") if r.status_code == 200 else None


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or not isinstance(case.body, dict):
        return
    op = case.operation.definition.raw.get("operationId")
    body = case.body
    if op in CLIENT_AUTH_OPS:
        body.pop("client_id", None)
        body.pop("client_secret", None)
    if op in {"createMas", "updateMas"}:
        for key in ("enabled_checks", "shadow_checks"):
            if isinstance(body.get(key), list):
                body[key] = [c for c in body[key] if c not in NEEDS or c in CAPABLE]
        # A check is enforced or shadowed, not both; the tool-in-token rule is never a shadow.
        # A PATCH naming one list sets the other too, so the stored one cannot clash.
        if op == "updateMas" and ("enabled_checks" in body) != ("shadow_checks" in body):
            body.setdefault("enabled_checks", [])
            body.setdefault("shadow_checks", [])
        if isinstance(body.get("shadow_checks"), list):
            enforced = body.get("enabled_checks") if isinstance(body.get("enabled_checks"), list) else []
            body["shadow_checks"] = [c for c in body["shadow_checks"]
                                     if c not in enforced and c != "DETERMINISTIC_TOOL_SELECTED"]
    if isinstance(body.get("tools"), list):
        seen: set = set()
        body["tools"] = [t for t in body["tools"] if not isinstance(t, dict)
                         or (t.get("name") not in seen and not seen.add(t.get("name")))]
    if op == "createApp" and body.get("type") != "mcp_server":
        body.pop("tools", None)
    if op == "updateApp" and body.get("tools") and _app_type(case) != "mcp_server":
        body.pop("tools", None)
