from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.introspection_response_token_type import IntrospectionResponseTokenType
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.act import Act





T = TypeVar("T", bound="IntrospectionResponse")



@_attrs_define
class IntrospectionResponse:
    """ RFC 7662 answer; an inactive token shows nothing but `active: false`.

        Attributes:
            active (bool):
            act (Act | Unset): An actor of a delegation chain (RFC 8693 section 4.1).
            aud (str | Unset):
            client_id (str | Unset):
            exp (int | Unset):
            iat (int | Unset):
            iss (str | Unset):
            jti (str | Unset):
            mas_id (str | Unset):
            nbf (int | Unset):
            parent (str | Unset):
            scope (str | Unset):
            sub (str | Unset):
            token_type (IntrospectionResponseTokenType | Unset): Always `Bearer` for an active token.
            tools (list[str] | Unset):
            uiid (str | Unset):
     """

    active: bool
    act: Act | Unset = UNSET
    aud: str | Unset = UNSET
    client_id: str | Unset = UNSET
    exp: int | Unset = UNSET
    iat: int | Unset = UNSET
    iss: str | Unset = UNSET
    jti: str | Unset = UNSET
    mas_id: str | Unset = UNSET
    nbf: int | Unset = UNSET
    parent: str | Unset = UNSET
    scope: str | Unset = UNSET
    sub: str | Unset = UNSET
    token_type: IntrospectionResponseTokenType | Unset = UNSET
    tools: list[str] | Unset = UNSET
    uiid: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.act import Act # noqa: PLC0415
        active = self.active

        act: dict[str, Any] | Unset = UNSET
        if not isinstance(self.act, Unset):
            act = self.act.to_dict()

        aud = self.aud

        client_id = self.client_id

        exp = self.exp

        iat = self.iat

        iss = self.iss

        jti = self.jti

        mas_id = self.mas_id

        nbf = self.nbf

        parent = self.parent

        scope = self.scope

        sub = self.sub

        token_type: str | Unset = UNSET
        if not isinstance(self.token_type, Unset):
            token_type = self.token_type.value


        tools: list[str] | Unset = UNSET
        if not isinstance(self.tools, Unset):
            tools = self.tools



        uiid = self.uiid


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "active": active,
        })
        if act is not UNSET:
            field_dict["act"] = act
        if aud is not UNSET:
            field_dict["aud"] = aud
        if client_id is not UNSET:
            field_dict["client_id"] = client_id
        if exp is not UNSET:
            field_dict["exp"] = exp
        if iat is not UNSET:
            field_dict["iat"] = iat
        if iss is not UNSET:
            field_dict["iss"] = iss
        if jti is not UNSET:
            field_dict["jti"] = jti
        if mas_id is not UNSET:
            field_dict["mas_id"] = mas_id
        if nbf is not UNSET:
            field_dict["nbf"] = nbf
        if parent is not UNSET:
            field_dict["parent"] = parent
        if scope is not UNSET:
            field_dict["scope"] = scope
        if sub is not UNSET:
            field_dict["sub"] = sub
        if token_type is not UNSET:
            field_dict["token_type"] = token_type
        if tools is not UNSET:
            field_dict["tools"] = tools
        if uiid is not UNSET:
            field_dict["uiid"] = uiid

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.act import Act # noqa: PLC0415
        d = dict(src_dict)
        active = d.pop("active")

        _act = d.pop("act", UNSET)
        act: Act | Unset
        if isinstance(_act,  Unset):
            act = UNSET
        else:
            act = Act.from_dict(_act)




        aud = d.pop("aud", UNSET)

        client_id = d.pop("client_id", UNSET)

        exp = d.pop("exp", UNSET)

        iat = d.pop("iat", UNSET)

        iss = d.pop("iss", UNSET)

        jti = d.pop("jti", UNSET)

        mas_id = d.pop("mas_id", UNSET)

        nbf = d.pop("nbf", UNSET)

        parent = d.pop("parent", UNSET)

        scope = d.pop("scope", UNSET)

        sub = d.pop("sub", UNSET)

        _token_type = d.pop("token_type", UNSET)
        token_type: IntrospectionResponseTokenType | Unset
        if isinstance(_token_type,  Unset):
            token_type = UNSET
        else:
            token_type = IntrospectionResponseTokenType(_token_type)




        tools = cast(list[str], d.pop("tools", UNSET))


        uiid = d.pop("uiid", UNSET)

        introspection_response = cls(
            active=active,
            act=act,
            aud=aud,
            client_id=client_id,
            exp=exp,
            iat=iat,
            iss=iss,
            jti=jti,
            mas_id=mas_id,
            nbf=nbf,
            parent=parent,
            scope=scope,
            sub=sub,
            token_type=token_type,
            tools=tools,
            uiid=uiid,
        )


        introspection_response.additional_properties = d
        return introspection_response

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
