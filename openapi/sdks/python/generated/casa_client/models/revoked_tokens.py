from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.revoked_target import RevokedTarget





T = TypeVar("T", bound="RevokedTokens")



@_attrs_define
class RevokedTokens:
    """ 
        Attributes:
            revoked (list[RevokedTarget]):
     """

    revoked: list[RevokedTarget]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.revoked_target import RevokedTarget # noqa: PLC0415
        revoked = []
        for revoked_item_data in self.revoked:
            revoked_item = revoked_item_data.to_dict()
            revoked.append(revoked_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "revoked": revoked,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.revoked_target import RevokedTarget # noqa: PLC0415
        d = dict(src_dict)
        revoked = []
        _revoked = d.pop("revoked")
        for revoked_item_data in (_revoked):
            revoked_item = RevokedTarget.from_dict(revoked_item_data)



            revoked.append(revoked_item)


        revoked_tokens = cls(
            revoked=revoked,
        )


        revoked_tokens.additional_properties = d
        return revoked_tokens

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
