from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.denial_body import DenialBody





T = TypeVar("T", bound="ErrorBody")



@_attrs_define
class ErrorBody:
    """ 
        Attributes:
            error (str): Stable machine-readable code.
            error_description (str): What went wrong, for humans.
            denials (list[DenialBody] | Unset): For a denied exchange: each refused tool, the check that refused it and why.
            field (str | Unset): The request field at fault, when there is one (`semantic.threshold`, `tools[2].name`).
     """

    error: str
    error_description: str
    denials: list[DenialBody] | Unset = UNSET
    field: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.denial_body import DenialBody # noqa: PLC0415
        error = self.error

        error_description = self.error_description

        denials: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.denials, Unset):
            denials = []
            for denials_item_data in self.denials:
                denials_item = denials_item_data.to_dict()
                denials.append(denials_item)



        field = self.field


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "error": error,
            "error_description": error_description,
        })
        if denials is not UNSET:
            field_dict["denials"] = denials
        if field is not UNSET:
            field_dict["field"] = field

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.denial_body import DenialBody # noqa: PLC0415
        d = dict(src_dict)
        error = d.pop("error")

        error_description = d.pop("error_description")

        _denials = d.pop("denials", UNSET)
        denials: list[DenialBody] | Unset = UNSET
        if _denials is not UNSET:
            denials = []
            for denials_item_data in _denials:
                denials_item = DenialBody.from_dict(denials_item_data)



                denials.append(denials_item)


        field = d.pop("field", UNSET)

        error_body = cls(
            error=error,
            error_description=error_description,
            denials=denials,
            field=field,
        )


        error_body.additional_properties = d
        return error_body

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
