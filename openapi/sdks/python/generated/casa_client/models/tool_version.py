from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
import datetime






T = TypeVar("T", bound="ToolVersion")



@_attrs_define
class ToolVersion:
    """ A past definition of a tool.

        Attributes:
            description (str):
            digest (str):
            replaced_at (datetime.datetime): When the next definition replaced it.
            input_schema (Any | Unset):
     """

    description: str
    digest: str
    replaced_at: datetime.datetime
    input_schema: Any | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        description = self.description

        digest = self.digest

        replaced_at = self.replaced_at.isoformat()

        input_schema = self.input_schema


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "description": description,
            "digest": digest,
            "replaced_at": replaced_at,
        })
        if input_schema is not UNSET:
            field_dict["input_schema"] = input_schema

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        description = d.pop("description")

        digest = d.pop("digest")

        replaced_at = datetime.datetime.fromisoformat(d.pop("replaced_at"))




        input_schema = d.pop("input_schema", UNSET)

        tool_version = cls(
            description=description,
            digest=digest,
            replaced_at=replaced_at,
            input_schema=input_schema,
        )


        tool_version.additional_properties = d
        return tool_version

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
