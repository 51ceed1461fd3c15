"""RFC 8414 discovery the strict way, with authlib: from a realm's issuer URL alone,
the well-known URL by path insertion (section 3.1), the metadata validated by
authlib's `AuthorizationServerMetadata.validate()`, and its `issuer` identical to
the one asked for (section 3.3)."""

from __future__ import annotations

import os
import sys

import httpx
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata, get_well_known_url

from casa_node import CasaNode, Tally

# The node under test serves plain HTTP on loopback; authlib insists on https otherwise.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"


def main() -> int:
    t = Tally()
    with CasaNode() as node:
        admin = {"Authorization": f"Bearer {node.admin_token}"}
        mas = httpx.post(node.url + "/mas", json={"name": "discovery"}, headers=admin).json()
        issuer = mas["realm"]["issuer"]
        url = get_well_known_url(issuer, external=True)
        t.check("path insertion: the well-known URL", url.endswith(f"/.well-known/oauth-authorization-server/realms/{mas['id']}"), url)
        r = httpx.get(url)
        t.check("metadata served there", r.status_code == 200, r.text)
        metadata = AuthorizationServerMetadata(r.json())
        # casa has no authorization endpoint, so it supports no response_type: RFC 8414
        # asks for the list, and the true list is empty; authlib takes an empty list for
        # a missing one. Every other field goes through authlib's own validator.
        for key in metadata.REGISTRY_KEYS:
            if key == "response_types_supported":
                t.check("response_types_supported: present, an empty array", metadata.get(key) == [], metadata.get(key))
                continue
            try:
                getattr(metadata, f"validate_{key}")()
                t.check(f"authlib validates {key}", True)
            except ValueError as e:
                t.check(f"authlib validates {key}", False, e)
        t.check("issuer is the one asked for (RFC 8414 section 3.3)", metadata["issuer"] == issuer, metadata["issuer"])
        jwks = httpx.get(metadata["jwks_uri"]).json()
        t.check("jwks_uri holds the realm's signing key", mas["realm"]["active_kid"] in [k["kid"] for k in jwks["keys"]])
        t.check("the appended form is the same document",
                httpx.get(f"{issuer}/.well-known/oauth-authorization-server").json() == r.json())
        t.check("an unknown realm: 404", httpx.get(url.rsplit("/", 1)[0] + "/0193a5b0-0000-7000-8000-000000000000").status_code == 404)
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
