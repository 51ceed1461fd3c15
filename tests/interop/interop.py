"""Interoperability of casa with independent OAuth and JWT implementations.

- PyJWT (with `cryptography`) verifies casa's tokens given only the realm's JWKS URL.
- authlib's OAuth 2 client performs client credentials and RFC 8693 token
  exchange against casa, unchanged.
- authlib discovers the realm from its issuer URL alone, the strict way (RFC 8414):
  the well-known URL by path insertion (section 3.1), the metadata through authlib's
  validator, and its `issuer` identical to the one asked for (section 3.3).

authlib's deviation, and the one validator replaced: casa has no authorization
endpoint, so the true `response_types_supported` is `[]` (RFC 8414 section 2 asks for
a JSON array of the response types the server supports; an empty array says none).
authlib's `validate_response_types_supported` tests the list for truth, so it refuses
`[]` as if the member were missing. `StrictMetadata` replaces that one method with the
RFC's rule (present, a JSON array of strings); every other authlib validator runs
unchanged, and the test checks that unmodified authlib refuses this document for that
reason only (if authlib is fixed, the check fails and the override can go).

Usage: interop.py <casa base url> <admin token>
"""

import os
import sys

import jwt
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata, get_well_known_url

# The node under test serves plain HTTP on loopback: authlib's validators insist on
# https (issuer, endpoints) unless this is set. It relaxes the scheme only.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"


def admin_post(base, admin, path, body):
    r = requests.post(base + path, json=body, headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    assert r.status_code == 201, (path, r.status_code, r.text)
    return r.json()


class StrictMetadata(AuthorizationServerMetadata):
    """authlib's RFC 8414 metadata validator, with its one deviation from the RFC
    replaced: an empty `response_types_supported` is a valid answer (see above)."""

    def validate_response_types_supported(self):
        value = self.get("response_types_supported")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError('"response_types_supported" MUST be a JSON array of strings')


def discover(issuer):
    """The realm's metadata from its issuer URL alone, validated the strict way."""
    url = get_well_known_url(issuer, external=True)
    assert url == issuer.replace("/realms/", "/.well-known/oauth-authorization-server/realms/", 1), url
    r = requests.get(url, timeout=10)
    assert r.status_code == 200, (url, r.status_code, r.text)
    meta = r.json()
    assert meta["response_types_supported"] == [], meta
    try:
        AuthorizationServerMetadata(meta).validate()
        raise AssertionError("authlib accepts response_types_supported: [] now; StrictMetadata can go")
    except ValueError as e:
        assert str(e) == '"response_types_supported" is required', e
    StrictMetadata(meta).validate()  # every other authlib validator, unchanged
    assert meta["issuer"] == issuer, (meta["issuer"], issuer)  # RFC 8414 section 3.3
    assert "client_secret_basic" in meta["token_endpoint_auth_methods_supported"], meta
    assert set(meta["grant_types_supported"]) >= {"client_credentials", TOKEN_EXCHANGE}, meta
    # The form RFC 8414 section 5 allows for compatibility is the same document.
    assert requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10).json() == meta
    return meta


def verify(token, jwks_uri, issuer, audience):
    """Verifies with PyJWT, knowing only the JWKS URL: no casa code involved."""
    key = jwt.PyJWKClient(jwks_uri).get_signing_key_from_jwt(token)
    return jwt.decode(token, key, algorithms=["EdDSA"], issuer=issuer, audience=audience,
                      options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]})


def main(base, admin):
    mas = admin_post(base, admin, "/mas", {"name": "interop"})
    realm = mas["realm"]
    # Everything below the issuer URL comes from discovery.
    meta = discover(realm["issuer"])
    assert meta["jwks_uri"] == realm["jwks_uri"], meta
    token_endpoint = meta["token_endpoint"]
    server = admin_post(base, admin, "/apps", {
        "mas_id": mas["id"], "name": "files", "type": "mcp_server",
        "tools": [{"name": "fs:read", "description": "Read a file"}]})
    client = admin_post(base, admin, "/apps", {
        "mas_id": mas["id"], "name": "chat", "type": "client", "allowed_tools": ["fs:read"]})
    agent = admin_post(base, admin, "/apps", {
        "mas_id": mas["id"], "name": "agent", "type": "agent", "allowed_tools": ["fs:read"]})

    # authlib, client credentials, HTTP Basic client authentication.
    session = OAuth2Session(client["client_id"], client["client_secret"],
                            token_endpoint_auth_method="client_secret_basic")
    initial = session.fetch_token(token_endpoint, grant_type="client_credentials",
                                  user_input="read my notes", tools="fs:read")
    assert initial["token_type"] == "Bearer" and initial["expires_in"] == 300, initial
    claims = verify(initial["access_token"], meta["jwks_uri"], realm["issuer"], realm["issuer"])
    assert claims["tools"] == ["fs:read"] and claims["sub"] == client["client_id"], claims
    header = jwt.get_unverified_header(initial["access_token"])
    assert header == {"alg": "EdDSA", "typ": "at+jwt", "kid": realm["active_kid"]}, header

    # authlib, RFC 8693 token exchange at the token endpoint, client_secret_post.
    actor = OAuth2Session(agent["client_id"], agent["client_secret"],
                          token_endpoint_auth_method="client_secret_post")
    exchanged = actor.fetch_token(token_endpoint, grant_type=TOKEN_EXCHANGE,
                                  subject_token=initial["access_token"], subject_token_type=ACCESS_TOKEN,
                                  tools="fs:read", audience=server["id"])
    assert exchanged["issued_token_type"] == ACCESS_TOKEN and exchanged["scope"] == "call-tools", exchanged
    delegated = verify(exchanged["access_token"], meta["jwks_uri"], realm["issuer"], server["id"])
    assert delegated["act"] == {"sub": agent["client_id"]}, delegated
    assert delegated["parent"] == claims["jti"] and delegated["exp"] <= claims["exp"], delegated

    # A denied exchange surfaces as an OAuth error in authlib.
    try:
        actor.fetch_token(token_endpoint, grant_type=TOKEN_EXCHANGE, subject_token=initial["access_token"],
                          subject_token_type=ACCESS_TOKEN, tools="fs:write")
        raise AssertionError("a denied exchange was accepted")
    except Exception as e:  # authlib raises OAuthError carrying the error code
        assert "access_denied" in str(e), e

    # PyJWT refuses what casa would refuse: a tampered payload, another audience.
    h, p, s = exchanged["access_token"].split(".")
    tampered = ".".join([h, p[:-2] + ("A" if p[-2] != "A" else "B") + p[-1], s])
    for bad, aud in [(tampered, server["id"]), (exchanged["access_token"], "someone-else")]:
        try:
            verify(bad, meta["jwks_uri"], realm["issuer"], aud)
            raise AssertionError("PyJWT accepted a bad token")
        except jwt.PyJWTError:
            pass

    # RFC 7662 introspection and RFC 7009 revocation with plain HTTP.
    r = requests.post(base + "/oauth/introspect", data={"token": exchanged["access_token"]},
                      auth=(server["client_id"], server_secret(base, admin, server)), timeout=10)
    assert r.json()["active"] is True, r.text
    session.revoke_token(meta["revocation_endpoint"], initial["access_token"])
    r = requests.post(base + "/oauth/introspect", data={"token": exchanged["access_token"]},
                      headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    assert r.json() == {"active": False}, r.text
    print("interop: ok")


def server_secret(base, admin, server):
    r = requests.post(f"{base}/apps/{server['id']}/secret/rotate", headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["client_secret"]


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"), sys.argv[2])
