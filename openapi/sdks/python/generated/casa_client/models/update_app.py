from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.tool_spec import ToolSpec





T = TypeVar("T", bound="UpdateApp")



@_attrs_define
class UpdateApp:
    """ Any subset; `allowed_tools` and `tools` replace the whole list.

        Attributes:
            allowed_tools (list[str] | Unset):
            base_url (str | Unset):
            name (str | Unset):
            tools (list[ToolSpec] | Unset): For `mcp_server` only.
     """

    allowed_tools: list[str] | Unset = UNSET
    base_url: str | Unset = UNSET
    name: str | Unset = UNSET
    tools: list[ToolSpec] | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.tool_spec import ToolSpec # noqa: PLC0415
        allowed_tools: list[str] | Unset = UNSET
        if not isinstance(self.allowed_tools, Unset):
            allowed_tools = self.allowed_tools



        base_url = self.base_url

        name = self.name

        tools: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.tools, Unset):
            tools = []
            for tools_item_data in self.tools:
                tools_item = tools_item_data.to_dict()
                tools.append(tools_item)




        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if allowed_tools is not UNSET:
            field_dict["allowed_tools"] = allowed_tools
        if base_url is not UNSET:
            field_dict["base_url"] = base_url
        if name is not UNSET:
            field_dict["name"] = name
        if tools is not UNSET:
            field_dict["tools"] = tools

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.tool_spec import ToolSpec # noqa: PLC0415
        d = dict(src_dict)
        allowed_tools = cast(list[str], d.pop("allowed_tools", UNSET))


        base_url = d.pop("base_url", UNSET)

        name = d.pop("name", UNSET)

        _tools = d.pop("tools", UNSET)
        tools: list[ToolSpec] | Unset = UNSET
        if _tools is not UNSET:
            tools = []
            for tools_item_data in _tools:
                tools_item = ToolSpec.from_dict(tools_item_data)



                tools.append(tools_item)


        update_app = cls(
            allowed_tools=allowed_tools,
            base_url=base_url,
            name=name,
            tools=tools,
        )

        return update_app

