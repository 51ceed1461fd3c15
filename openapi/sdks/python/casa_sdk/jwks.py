"""A realm's JWKS, cached: a token signed with an unknown `kid` refreshes it (key
rotation), at most once per `min_refresh_seconds`, so forged kids cannot make a tool
server hammer casa."""

from __future__ import annotations

import asyncio
import time

import httpx
from jwt import PyJWK


class JwksCache:
    def __init__(self, jwks_uri: str, http: httpx.AsyncClient | None = None, min_refresh_seconds: float = 10.0):
        self.jwks_uri = jwks_uri
        self._http = http or httpx.AsyncClient(timeout=10)
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = float("-inf")
        self._min_refresh = min_refresh_seconds
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        r = await self._http.get(self.jwks_uri)
        r.raise_for_status()
        keys = {}
        for jwk in r.json().get("keys", []):
            if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and "kid" in jwk:
                keys[jwk["kid"]] = PyJWK(jwk, algorithm="EdDSA")
        self._keys = keys
        self._fetched_at = time.monotonic()

    async def key(self, kid: str) -> PyJWK | None:
        """The key `kid`, refreshing the set once if it is unknown."""
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            if kid not in self._keys and time.monotonic() - self._fetched_at >= self._min_refresh:
                await self.refresh()
        return self._keys.get(kid)
