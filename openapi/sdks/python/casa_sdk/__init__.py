"""Hand-written helpers around the generated `casa_client` (never edited by hand):
OAuth calls with form bodies and HTTP Basic, the trace SSE reader, a JWKS cache,
and `ToolGuard`, the ASGI middleware a tool server (MCP server) puts in front of its tools."""

from .jwks import JwksCache
from .oauth import CasaOAuth, OAuthError
from .sse import trace_events
from .toolguard import Introspection, ToolGuard

__all__ = ["CasaOAuth", "OAuthError", "JwksCache", "trace_events", "ToolGuard", "Introspection"]
