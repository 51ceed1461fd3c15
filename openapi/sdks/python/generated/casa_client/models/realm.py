from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="Realm")



@_attrs_define
class Realm:
    """ The MAS's own realm: its issuer and signing keys.

        Attributes:
            active_kid (str): The key id (`kid`) that signs new tokens.
            issuer (str): The `iss` of every token of this MAS.
            jwks_uri (str):
     """

    active_kid: str
    issuer: str
    jwks_uri: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        active_kid = self.active_kid

        issuer = self.issuer

        jwks_uri = self.jwks_uri


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "active_kid": active_kid,
            "issuer": issuer,
            "jwks_uri": jwks_uri,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        active_kid = d.pop("active_kid")

        issuer = d.pop("issuer")

        jwks_uri = d.pop("jwks_uri")

        realm = cls(
            active_kid=active_kid,
            issuer=issuer,
            jwks_uri=jwks_uri,
        )


        realm.additional_properties = d
        return realm

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
