from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="CollectorDirectory")



@_attrs_define
class CollectorDirectory:
    """ What a `casa collect` process needs to judge tokens: public keys,
    revocation rules and the apps' addresses (never a signing key).

        Attributes:
            snapshot (Any): `{realms: [{mas_id, issuer, keys: {kid: hex}, revocations}], apps: [{mas_id, client_id,
                app_type, base_url}], casa: [host:port]}`
     """

    snapshot: Any
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        snapshot = self.snapshot


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "snapshot": snapshot,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        snapshot = d.pop("snapshot")

        collector_directory = cls(
            snapshot=snapshot,
        )


        collector_directory.additional_properties = d
        return collector_directory

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
