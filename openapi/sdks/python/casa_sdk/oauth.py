"""The OAuth endpoints: form bodies and HTTP Basic client authentication (RFC 6749
section 2.3.1, each part form-encoded), which generated clients do not do well.
Answers are parsed into the generated models."""

from __future__ import annotations

import base64
from typing import Any, Iterable
from urllib.parse import quote_plus

import httpx
from casa_client.models import IntrospectionResponse, TokenResponse

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"


class OAuthError(Exception):
    """An RFC 6749 error answer: `error`, `error_description`, and for a denied
    exchange the per-tool `denials`."""

    def __init__(self, status: int, body: dict[str, Any]):
        self.status = status
        self.error = body.get("error", "")
        self.description = body.get("error_description", "")
        self.denials = body.get("denials") or []
        super().__init__(f"{status} {self.error}: {self.description}")


def basic_auth(client_id: str, client_secret: str) -> str:
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


class CasaOAuth:
    """One app's OAuth calls against a casa node."""

    def __init__(self, base_url: str, client_id: str, client_secret: str, http: httpx.Client | None = None):
        self.base_url = base_url.rstrip("/")
        self._auth = basic_auth(client_id, client_secret)
        self._http = http or httpx.Client(timeout=30)

    def _post(self, path: str, form: dict[str, str | None]) -> dict[str, Any]:
        data = {k: v for k, v in form.items() if v is not None}
        r = self._http.post(self.base_url + path, data=data, headers={"Authorization": self._auth})
        body = r.json() if r.content else {}
        if r.status_code != 200:
            raise OAuthError(r.status_code, body)
        return body

    def token(
        self, user_input: str | None = None, *, user_input_id: str | None = None, tools: Iterable[str] = ()
    ) -> TokenResponse:
        """An initial token for a user input (client credentials grant)."""
        form = {"grant_type": "client_credentials", "user_input": user_input, "user_input_id": user_input_id}
        form["tools"] = " ".join(tools) or None
        return TokenResponse.from_dict(self._post("/oauth/token", form))

    def exchange(
        self, subject_token: str, tools: Iterable[str], audience: str, actor_token: str | None = None
    ) -> TokenResponse:
        """RFC 8693: a token for `tools` on the tool server `audience` (its app id or base URL)."""
        form = {
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": subject_token,
            "subject_token_type": ACCESS_TOKEN,
            "actor_token": actor_token,
            "actor_token_type": ACCESS_TOKEN if actor_token else None,
            "tools": " ".join(tools),
            "audience": audience,
        }
        return TokenResponse.from_dict(self._post("/oauth/token/exchange", form))

    def introspect(self, token: str, tools: Iterable[str] = ()) -> IntrospectionResponse:
        """RFC 7662; with `tools`, active only if the token carries every one."""
        form = {"token": token, "tools": " ".join(tools) or None}
        return IntrospectionResponse.from_dict(self._post("/oauth/introspect", form))

    def revoke(self, token: str) -> None:
        """RFC 7009: revokes the token and everything exchanged from it."""
        self._post("/oauth/revoke", {"token": token})
