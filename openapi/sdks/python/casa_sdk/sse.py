"""`GET /trace/stream`: Server-Sent Events, one trace event (JSON) per `data:`."""

from __future__ import annotations

import json
from typing import Any, Iterator

import httpx


def trace_events(
    http: httpx.Client, base_url: str, admin_token: str, **filters: str
) -> Iterator[dict[str, Any]]:
    """Yields trace events as they are written; ends when the server closes the stream."""
    headers = {"Authorization": f"Bearer {admin_token}", "Accept": "text/event-stream"}
    params = {k: v for k, v in filters.items() if v is not None}
    with http.stream("GET", base_url.rstrip("/") + "/trace/stream", headers=headers, params=params,
                     timeout=httpx.Timeout(30, read=None)) as r:
        r.raise_for_status()
        data: list[str] = []
        for line in r.iter_lines():
            if line == "":
                if data:
                    yield json.loads("\n".join(data))
                data = []
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            # `:` comments (keep-alives), `id:`, `event:` and `retry:` carry no event data.
