from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.tool_spec_input_schema import ToolSpecInputSchema





T = TypeVar("T", bound="ToolSpec")



@_attrs_define
class ToolSpec:
    """ A tool an MCP server serves.

        Attributes:
            description (str): 1 to 4096 characters, not blank.
            name (str): 1 to 128 characters of letters, digits and `_ - . : /`, unique in the MAS.
            input_schema (ToolSpecInputSchema | Unset): JSON Schema of the tool's input (an object, at most 64 KiB).
     """

    description: str
    name: str
    input_schema: ToolSpecInputSchema | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.tool_spec_input_schema import ToolSpecInputSchema # noqa: PLC0415
        description = self.description

        name = self.name

        input_schema: dict[str, Any] | Unset = UNSET
        if not isinstance(self.input_schema, Unset):
            input_schema = self.input_schema.to_dict()


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "description": description,
            "name": name,
        })
        if input_schema is not UNSET:
            field_dict["input_schema"] = input_schema

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.tool_spec_input_schema import ToolSpecInputSchema # noqa: PLC0415
        d = dict(src_dict)
        description = d.pop("description")

        name = d.pop("name")

        _input_schema = d.pop("input_schema", UNSET)
        input_schema: ToolSpecInputSchema | Unset
        if isinstance(_input_schema,  Unset):
            input_schema = UNSET
        else:
            input_schema = ToolSpecInputSchema.from_dict(_input_schema)




        tool_spec = cls(
            description=description,
            name=name,
            input_schema=input_schema,
        )

        return tool_spec

