from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="Act")



@_attrs_define
class Act:
    """ An actor of a delegation chain (RFC 8693 section 4.1).

        Attributes:
            sub (str): The actor's client id.
            act (Act | Unset): An actor of a delegation chain (RFC 8693 section 4.1).
     """

    sub: str
    act: Act | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        sub = self.sub

        act: dict[str, Any] | Unset = UNSET
        if not isinstance(self.act, Unset):
            act = self.act.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "sub": sub,
        })
        if act is not UNSET:
            field_dict["act"] = act

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        sub = d.pop("sub")

        _act = d.pop("act", UNSET)
        act: Act | Unset
        if isinstance(_act,  Unset):
            act = UNSET
        else:
            act = Act.from_dict(_act)




        act = cls(
            sub=sub,
            act=act,
        )


        act.additional_properties = d
        return act

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
