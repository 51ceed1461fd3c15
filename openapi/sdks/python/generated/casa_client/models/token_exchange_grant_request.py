from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.token_exchange_grant_request_actor_token_type import TokenExchangeGrantRequestActorTokenType
from ..models.token_exchange_grant_request_grant_type import TokenExchangeGrantRequestGrantType
from ..models.token_exchange_grant_request_requested_token_type import TokenExchangeGrantRequestRequestedTokenType
from ..models.token_exchange_grant_request_subject_token_type import TokenExchangeGrantRequestSubjectTokenType
from ..types import UNSET, Unset






T = TypeVar("T", bound="TokenExchangeGrantRequest")



@_attrs_define
class TokenExchangeGrantRequest:
    """ An RFC 8693 exchange at the token endpoint.

        Attributes:
            grant_type (TokenExchangeGrantRequestGrantType): `client_credentials` or `urn:ietf:params:oauth:grant-
                type:token-exchange`.
            subject_token (str): The token to exchange (compact JWS).
            subject_token_type (TokenExchangeGrantRequestSubjectTokenType):
            actor_token (str | Unset): The actor's own token, if it has one.
            actor_token_type (TokenExchangeGrantRequestActorTokenType | Unset):
            audience (str | Unset): RFC 8693: the tool server (its app id or base URL).
            client_id (str | Unset):
            client_secret (str | Unset):
            requested_token_type (TokenExchangeGrantRequestRequestedTokenType | Unset):
            resource (str | Unset): RFC 8707: the tool server (its app id or base URL).
            scope (str | Unset): Space-separated `tool:<name>` entries, as `tools`.
            tools (str | Unset): Space-separated tool names.
     """

    grant_type: TokenExchangeGrantRequestGrantType
    subject_token: str
    subject_token_type: TokenExchangeGrantRequestSubjectTokenType
    actor_token: str | Unset = UNSET
    actor_token_type: TokenExchangeGrantRequestActorTokenType | Unset = UNSET
    audience: str | Unset = UNSET
    client_id: str | Unset = UNSET
    client_secret: str | Unset = UNSET
    requested_token_type: TokenExchangeGrantRequestRequestedTokenType | Unset = UNSET
    resource: str | Unset = UNSET
    scope: str | Unset = UNSET
    tools: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        grant_type = self.grant_type.value

        subject_token = self.subject_token

        subject_token_type = self.subject_token_type.value

        actor_token = self.actor_token

        actor_token_type: str | Unset = UNSET
        if not isinstance(self.actor_token_type, Unset):
            actor_token_type = self.actor_token_type.value


        audience = self.audience

        client_id = self.client_id

        client_secret = self.client_secret

        requested_token_type: str | Unset = UNSET
        if not isinstance(self.requested_token_type, Unset):
            requested_token_type = self.requested_token_type.value


        resource = self.resource

        scope = self.scope

        tools = self.tools


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "grant_type": grant_type,
            "subject_token": subject_token,
            "subject_token_type": subject_token_type,
        })
        if actor_token is not UNSET:
            field_dict["actor_token"] = actor_token
        if actor_token_type is not UNSET:
            field_dict["actor_token_type"] = actor_token_type
        if audience is not UNSET:
            field_dict["audience"] = audience
        if client_id is not UNSET:
            field_dict["client_id"] = client_id
        if client_secret is not UNSET:
            field_dict["client_secret"] = client_secret
        if requested_token_type is not UNSET:
            field_dict["requested_token_type"] = requested_token_type
        if resource is not UNSET:
            field_dict["resource"] = resource
        if scope is not UNSET:
            field_dict["scope"] = scope
        if tools is not UNSET:
            field_dict["tools"] = tools

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        grant_type = TokenExchangeGrantRequestGrantType(d.pop("grant_type"))




        subject_token = d.pop("subject_token")

        subject_token_type = TokenExchangeGrantRequestSubjectTokenType(d.pop("subject_token_type"))




        actor_token = d.pop("actor_token", UNSET)

        _actor_token_type = d.pop("actor_token_type", UNSET)
        actor_token_type: TokenExchangeGrantRequestActorTokenType | Unset
        if isinstance(_actor_token_type,  Unset):
            actor_token_type = UNSET
        else:
            actor_token_type = TokenExchangeGrantRequestActorTokenType(_actor_token_type)




        audience = d.pop("audience", UNSET)

        client_id = d.pop("client_id", UNSET)

        client_secret = d.pop("client_secret", UNSET)

        _requested_token_type = d.pop("requested_token_type", UNSET)
        requested_token_type: TokenExchangeGrantRequestRequestedTokenType | Unset
        if isinstance(_requested_token_type,  Unset):
            requested_token_type = UNSET
        else:
            requested_token_type = TokenExchangeGrantRequestRequestedTokenType(_requested_token_type)




        resource = d.pop("resource", UNSET)

        scope = d.pop("scope", UNSET)

        tools = d.pop("tools", UNSET)

        token_exchange_grant_request = cls(
            grant_type=grant_type,
            subject_token=subject_token,
            subject_token_type=subject_token_type,
            actor_token=actor_token,
            actor_token_type=actor_token_type,
            audience=audience,
            client_id=client_id,
            client_secret=client_secret,
            requested_token_type=requested_token_type,
            resource=resource,
            scope=scope,
            tools=tools,
        )


        token_exchange_grant_request.additional_properties = d
        return token_exchange_grant_request

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
