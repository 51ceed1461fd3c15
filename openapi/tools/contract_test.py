"""schemathesis against a live `casa serve`: spawns a node, seeds a MAS with a client,
an agent and an MCP server, and runs every check over the examples, coverage,
fuzzing and stateful phases. Exit status: schemathesis's (0 = no failure).

usage: contract_test.py [MAX_EXAMPLES]   (default 50 per operation)"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "sdks" / "python" / "tests"))
from casa_node import CasaNode  # noqa: E402


def main() -> int:
    examples = sys.argv[1] if len(sys.argv) > 1 else "50"
    with CasaNode() as node:
        admin = httpx.Client(base_url=node.url, headers={"Authorization": f"Bearer {node.admin_token}"})
        mas = admin.post("/mas", json={"name": "contract", "token_ttl_seconds": 86400}).json()
        app = lambda body: admin.post("/apps", json={"mas_id": mas["id"], **body}).json()  # noqa: E731
        app({"name": "files", "type": "mcp_server", "tools": [{"name": "fs:read", "description": "Read a file"}]})
        client = app({"name": "chat", "type": "client", "allowed_tools": ["fs:read"]})
        # The client may report LLM calls (POST /trace/llm) for its sessions.
        admin.patch(f"/mas/{mas['id']}", json={"llm_evidence_apps": [client["client_id"]]}).raise_for_status()
        app({"name": "reader", "type": "agent", "allowed_tools": ["fs:read"]})
        session = httpx.post(f"{node.url}/oauth/token", auth=(client["client_id"], client["client_secret"]),
                             data={"grant_type": "client_credentials", "user_input": "contract test"}).json()
        # Which optional checks this node can run (they need an embedder or an LLM verifier).
        capable = [c for c in ("SEMANTIC_INTENT_MATCH", "AI_POWERED_TOOL_MATCH")
                   if admin.post("/mas", json={"name": f"probe {c}", "enabled_checks": [c]}).status_code == 201]
        print(f"this node runs the optional checks: {capable or 'none'}")
        env = {**os.environ, "NO_COLOR": "1", "CASA_URL": node.url, "CASA_ADMIN_TOKEN": node.admin_token,
               "CASA_CLIENT_ID": client["client_id"], "CASA_CLIENT_SECRET": client["client_secret"],
               "CASA_SESSION_TOKEN": session["access_token"], "CASA_NODE_CHECKS": ",".join(capable), "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
               "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        start = time.monotonic()
        cmd = [
            str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(HERE / "schemathesis.toml"),
            "run", f"{node.url}/openapi.json", "--url", node.url,
            "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", examples,
            "--exclude-operation-id", "streamTrace",
            # Its body is trace events, which the document does not describe member
            # by member yet (any JSON object there is schema-valid, few are events).
            "--exclude-operation-id", "collectorReport", "--checks", "all",
            "--seed", os.environ.get("CASA_SCHEMATHESIS_SEED", "14"),
            # e.g. "--include-operation-id introspect" to repeat a long run on a few operations
            *os.environ.get("CASA_SCHEMATHESIS_EXTRA", "").split(),
        ]
        rc = subprocess.call(cmd, env=env)
        print(f"schemathesis: {examples} examples per operation, exit {rc}, {time.monotonic() - start:.0f}s")
        return rc


if __name__ == "__main__":
    sys.exit(main())
