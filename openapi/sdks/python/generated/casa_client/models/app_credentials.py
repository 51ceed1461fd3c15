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
import datetime

if TYPE_CHECKING:
  from ..models.tool_spec import ToolSpec





T = TypeVar("T", bound="AppCredentials")



@_attrs_define
class AppCredentials:
    """ An app with its client secret: shown this once, never again.

        Attributes:
            allowed_tools (list[str]):
            client_id (str): The OAuth client id.
            client_secret (str):
            created_at (datetime.datetime):
            id (UUID):
            mas_id (UUID):
            name (str):
            tools (list[ToolSpec]):
            type_ (AppType):
            updated_at (datetime.datetime):
            base_url (str | Unset):
     """

    allowed_tools: list[str]
    client_id: str
    client_secret: str
    created_at: datetime.datetime
    id: UUID
    mas_id: UUID
    name: str
    tools: list[ToolSpec]
    type_: AppType
    updated_at: datetime.datetime
    base_url: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.tool_spec import ToolSpec # noqa: PLC0415
        allowed_tools = self.allowed_tools



        client_id = self.client_id

        client_secret = self.client_secret

        created_at = self.created_at.isoformat()

        id = str(self.id)

        mas_id = str(self.mas_id)

        name = self.name

        tools = []
        for tools_item_data in self.tools:
            tools_item = tools_item_data.to_dict()
            tools.append(tools_item)



        type_ = self.type_.value

        updated_at = self.updated_at.isoformat()

        base_url = self.base_url


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "allowed_tools": allowed_tools,
            "client_id": client_id,
            "client_secret": client_secret,
            "created_at": created_at,
            "id": id,
            "mas_id": mas_id,
            "name": name,
            "tools": tools,
            "type": type_,
            "updated_at": updated_at,
        })
        if base_url is not UNSET:
            field_dict["base_url"] = base_url

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.tool_spec import ToolSpec # noqa: PLC0415
        d = dict(src_dict)
        allowed_tools = cast(list[str], d.pop("allowed_tools"))


        client_id = d.pop("client_id")

        client_secret = d.pop("client_secret")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        id = UUID(d.pop("id"))




        mas_id = UUID(d.pop("mas_id"))




        name = d.pop("name")

        tools = []
        _tools = d.pop("tools")
        for tools_item_data in (_tools):
            tools_item = ToolSpec.from_dict(tools_item_data)



            tools.append(tools_item)


        type_ = AppType(d.pop("type"))




        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        base_url = d.pop("base_url", UNSET)

        app_credentials = cls(
            allowed_tools=allowed_tools,
            client_id=client_id,
            client_secret=client_secret,
            created_at=created_at,
            id=id,
            mas_id=mas_id,
            name=name,
            tools=tools,
            type_=type_,
            updated_at=updated_at,
            base_url=base_url,
        )


        app_credentials.additional_properties = d
        return app_credentials

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
