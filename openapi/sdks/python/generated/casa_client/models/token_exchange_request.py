from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.token_exchange_request_actor_token_type import TokenExchangeRequestActorTokenType
from ..models.token_exchange_request_grant_type import TokenExchangeRequestGrantType
from ..models.token_exchange_request_requested_token_type import TokenExchangeRequestRequestedTokenType
from ..models.token_exchange_request_subject_token_type import TokenExchangeRequestSubjectTokenType
from ..types import UNSET, Unset






T = TypeVar("T", bound="TokenExchangeRequest")



@_attrs_define
class TokenExchangeRequest:
    """ An RFC 8693 exchange: `grant_type` may be left out. Name the tools in `tools` or `scope` (`tool:<name>` entries) and
    the tool server in `resource` or `audience`.

        Attributes:
            subject_token (str): The token to exchange (compact JWS).
            subject_token_type (TokenExchangeRequestSubjectTokenType):
            actor_token (str | Unset): The actor's own token, if it has one.
            actor_token_type (TokenExchangeRequestActorTokenType | Unset):
            audience (str | Unset): RFC 8693: the tool server (its app id or base URL).
            client_id (str | Unset):
            client_secret (str | Unset):
            grant_type (TokenExchangeRequestGrantType | Unset): `client_credentials` or `urn:ietf:params:oauth:grant-
                type:token-exchange`.
            requested_token_type (TokenExchangeRequestRequestedTokenType | Unset):
            resource (str | Unset): RFC 8707: the tool server (its app id or base URL).
            scope (str | Unset): Space-separated `tool:<name>` entries, as `tools`.
            tools (str | Unset): Space-separated tool names.
     """

    subject_token: str
    subject_token_type: TokenExchangeRequestSubjectTokenType
    actor_token: str | Unset = UNSET
    actor_token_type: TokenExchangeRequestActorTokenType | Unset = UNSET
    audience: str | Unset = UNSET
    client_id: str | Unset = UNSET
    client_secret: str | Unset = UNSET
    grant_type: TokenExchangeRequestGrantType | Unset = UNSET
    requested_token_type: TokenExchangeRequestRequestedTokenType | Unset = UNSET
    resource: str | Unset = UNSET
    scope: str | Unset = UNSET
    tools: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        subject_token = self.subject_token

        subject_token_type = self.subject_token_type.value

        actor_token = self.actor_token

        actor_token_type: str | Unset = UNSET
        if not isinstance(self.actor_token_type, Unset):
            actor_token_type = self.actor_token_type.value


        audience = self.audience

        client_id = self.client_id

        client_secret = self.client_secret

        grant_type: str | Unset = UNSET
        if not isinstance(self.grant_type, Unset):
            grant_type = self.grant_type.value


        requested_token_type: str | Unset = UNSET
        if not isinstance(self.requested_token_type, Unset):
            requested_token_type = self.requested_token_type.value


        resource = self.resource

        scope = self.scope

        tools = self.tools


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
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
        if grant_type is not UNSET:
            field_dict["grant_type"] = grant_type
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
        subject_token = d.pop("subject_token")

        subject_token_type = TokenExchangeRequestSubjectTokenType(d.pop("subject_token_type"))




        actor_token = d.pop("actor_token", UNSET)

        _actor_token_type = d.pop("actor_token_type", UNSET)
        actor_token_type: TokenExchangeRequestActorTokenType | Unset
        if isinstance(_actor_token_type,  Unset):
            actor_token_type = UNSET
        else:
            actor_token_type = TokenExchangeRequestActorTokenType(_actor_token_type)




        audience = d.pop("audience", UNSET)

        client_id = d.pop("client_id", UNSET)

        client_secret = d.pop("client_secret", UNSET)

        _grant_type = d.pop("grant_type", UNSET)
        grant_type: TokenExchangeRequestGrantType | Unset
        if isinstance(_grant_type,  Unset):
            grant_type = UNSET
        else:
            grant_type = TokenExchangeRequestGrantType(_grant_type)




        _requested_token_type = d.pop("requested_token_type", UNSET)
        requested_token_type: TokenExchangeRequestRequestedTokenType | Unset
        if isinstance(_requested_token_type,  Unset):
            requested_token_type = UNSET
        else:
            requested_token_type = TokenExchangeRequestRequestedTokenType(_requested_token_type)




        resource = d.pop("resource", UNSET)

        scope = d.pop("scope", UNSET)

        tools = d.pop("tools", UNSET)

        token_exchange_request = cls(
            subject_token=subject_token,
            subject_token_type=subject_token_type,
            actor_token=actor_token,
            actor_token_type=actor_token_type,
            audience=audience,
            client_id=client_id,
            client_secret=client_secret,
            grant_type=grant_type,
            requested_token_type=requested_token_type,
            resource=resource,
            scope=scope,
            tools=tools,
        )


        token_exchange_request.additional_properties = d
        return token_exchange_request

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
