from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.app_type import AppType
from ..types import UNSET, Unset
from typing import cast
from uuid import UUID

if TYPE_CHECKING:
  from ..models.tool_spec import ToolSpec





T = TypeVar("T", bound="CreateApp")



@_attrs_define
class CreateApp:
    """ 
        Attributes:
            mas_id (UUID):
            name (str): 1 to 128 characters (trimmed), no control characters, unique in the MAS.
            type_ (AppType):
            allowed_tools (list[str] | Unset): Tool names this app may be given tokens for.
            base_url (str | Unset): Where the app is reached: an absolute http or https URL, without credentials or
                fragment.
            tools (list[ToolSpec] | Unset): For `mcp_server` only: the tools it serves.
     """

    mas_id: UUID
    name: str
    type_: AppType
    allowed_tools: list[str] | Unset = UNSET
    base_url: str | Unset = UNSET
    tools: list[ToolSpec] | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.tool_spec import ToolSpec # noqa: PLC0415
        mas_id = str(self.mas_id)

        name = self.name

        type_ = self.type_.value

        allowed_tools: list[str] | Unset = UNSET
        if not isinstance(self.allowed_tools, Unset):
            allowed_tools = self.allowed_tools



        base_url = self.base_url

        tools: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.tools, Unset):
            tools = []
            for tools_item_data in self.tools:
                tools_item = tools_item_data.to_dict()
                tools.append(tools_item)




        field_dict: dict[str, Any] = {}

        field_dict.update({
            "mas_id": mas_id,
            "name": name,
            "type": type_,
        })
        if allowed_tools is not UNSET:
            field_dict["allowed_tools"] = allowed_tools
        if base_url is not UNSET:
            field_dict["base_url"] = base_url
        if tools is not UNSET:
            field_dict["tools"] = tools

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.tool_spec import ToolSpec # noqa: PLC0415
        d = dict(src_dict)
        mas_id = UUID(d.pop("mas_id"))




        name = d.pop("name")

        type_ = AppType(d.pop("type"))




        allowed_tools = cast(list[str], d.pop("allowed_tools", UNSET))


        base_url = d.pop("base_url", UNSET)

        _tools = d.pop("tools", UNSET)
        tools: list[ToolSpec] | Unset = UNSET
        if _tools is not UNSET:
            tools = []
            for tools_item_data in _tools:
                tools_item = ToolSpec.from_dict(tools_item_data)



                tools.append(tools_item)


        create_app = cls(
            mas_id=mas_id,
            name=name,
            type_=type_,
            allowed_tools=allowed_tools,
            base_url=base_url,
            tools=tools,
        )

        return create_app

