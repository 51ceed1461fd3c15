from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.token_response_issued_token_type import TokenResponseIssuedTokenType
from ..models.token_response_token_type import TokenResponseTokenType
from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="TokenResponse")



@_attrs_define
class TokenResponse:
    """ 
        Attributes:
            access_token (str):
            expires_in (int):
            scope (str):
            token_type (TokenResponseTokenType): Always `Bearer`.
            user_input_id (str): The session the token serves.
            issued_token_type (TokenResponseIssuedTokenType | Unset): For exchanges: `urn:ietf:params:oauth:token-
                type:access_token`.
            tools (list[str] | Unset): For exchanges: the approved tools.
     """

    access_token: str
    expires_in: int
    scope: str
    token_type: TokenResponseTokenType
    user_input_id: str
    issued_token_type: TokenResponseIssuedTokenType | Unset = UNSET
    tools: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        access_token = self.access_token

        expires_in = self.expires_in

        scope = self.scope

        token_type = self.token_type.value

        user_input_id = self.user_input_id

        issued_token_type: str | Unset = UNSET
        if not isinstance(self.issued_token_type, Unset):
            issued_token_type = self.issued_token_type.value


        tools: list[str] | Unset = UNSET
        if not isinstance(self.tools, Unset):
            tools = self.tools




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "access_token": access_token,
            "expires_in": expires_in,
            "scope": scope,
            "token_type": token_type,
            "user_input_id": user_input_id,
        })
        if issued_token_type is not UNSET:
            field_dict["issued_token_type"] = issued_token_type
        if tools is not UNSET:
            field_dict["tools"] = tools

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        access_token = d.pop("access_token")

        expires_in = d.pop("expires_in")

        scope = d.pop("scope")

        token_type = TokenResponseTokenType(d.pop("token_type"))




        user_input_id = d.pop("user_input_id")

        _issued_token_type = d.pop("issued_token_type", UNSET)
        issued_token_type: TokenResponseIssuedTokenType | Unset
        if isinstance(_issued_token_type,  Unset):
            issued_token_type = UNSET
        else:
            issued_token_type = TokenResponseIssuedTokenType(_issued_token_type)




        tools = cast(list[str], d.pop("tools", UNSET))


        token_response = cls(
            access_token=access_token,
            expires_in=expires_in,
            scope=scope,
            token_type=token_type,
            user_input_id=user_input_id,
            issued_token_type=issued_token_type,
            tools=tools,
        )


        token_response.additional_properties = d
        return token_response

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
