from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.client_credentials_request_grant_type import ClientCredentialsRequestGrantType
from ..types import UNSET, Unset
from uuid import UUID






T = TypeVar("T", bound="ClientCredentialsRequest")



@_attrs_define
class ClientCredentialsRequest:
    """ An initial token for a user input: give `user_input` or `user_input_id` (not both).

        Attributes:
            grant_type (ClientCredentialsRequestGrantType): `client_credentials` or `urn:ietf:params:oauth:grant-type:token-
                exchange`.
            client_id (str | Unset):
            client_secret (str | Unset):
            tools (str | Unset): Space-separated tool names.
            user_input (str | Unset): The user's prompt: plain text, or a JSON array of `{role, content}` turns.
            user_input_id (UUID | Unset): An existing session to issue another token for.
     """

    grant_type: ClientCredentialsRequestGrantType
    client_id: str | Unset = UNSET
    client_secret: str | Unset = UNSET
    tools: str | Unset = UNSET
    user_input: str | Unset = UNSET
    user_input_id: UUID | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        grant_type = self.grant_type.value

        client_id = self.client_id

        client_secret = self.client_secret

        tools = self.tools

        user_input = self.user_input

        user_input_id: str | Unset = UNSET
        if not isinstance(self.user_input_id, Unset):
            user_input_id = str(self.user_input_id)


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "grant_type": grant_type,
        })
        if client_id is not UNSET:
            field_dict["client_id"] = client_id
        if client_secret is not UNSET:
            field_dict["client_secret"] = client_secret
        if tools is not UNSET:
            field_dict["tools"] = tools
        if user_input is not UNSET:
            field_dict["user_input"] = user_input
        if user_input_id is not UNSET:
            field_dict["user_input_id"] = user_input_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        grant_type = ClientCredentialsRequestGrantType(d.pop("grant_type"))




        client_id = d.pop("client_id", UNSET)

        client_secret = d.pop("client_secret", UNSET)

        tools = d.pop("tools", UNSET)

        user_input = d.pop("user_input", UNSET)

        _user_input_id = d.pop("user_input_id", UNSET)
        user_input_id: UUID | Unset
        if isinstance(_user_input_id,  Unset):
            user_input_id = UNSET
        else:
            user_input_id = UUID(_user_input_id)




        client_credentials_request = cls(
            grant_type=grant_type,
            client_id=client_id,
            client_secret=client_secret,
            tools=tools,
            user_input=user_input,
            user_input_id=user_input_id,
        )


        client_credentials_request.additional_properties = d
        return client_credentials_request

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
