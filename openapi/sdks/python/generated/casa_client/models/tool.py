from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
from uuid import UUID

if TYPE_CHECKING:
  from ..models.tool_input_schema import ToolInputSchema
  from ..models.tool_version import ToolVersion





T = TypeVar("T", bound="Tool")



@_attrs_define
class Tool:
    """ A tool of a MAS and the app that serves it.

        Attributes:
            app_id (UUID):
            app_name (str):
            changed_since_registration (bool): The definition changed since the tool was registered: review it.
            description (str):
            digest (str): SHA-256 of the current definition (name, description, input schema).
            embedded (bool): Whether the semantic check can score this tool on this node.
            history (list[ToolVersion]): The definitions it had before, oldest first (the registered one first):
                the other side of a drift diff.
            name (str):
            input_schema (ToolInputSchema | Unset): JSON Schema of the tool's input (an object, at most 64 KiB).
            registered_digest (str | Unset): The digest the tool was first registered with.
     """

    app_id: UUID
    app_name: str
    changed_since_registration: bool
    description: str
    digest: str
    embedded: bool
    history: list[ToolVersion]
    name: str
    input_schema: ToolInputSchema | Unset = UNSET
    registered_digest: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.tool_input_schema import ToolInputSchema # noqa: PLC0415
        from ..models.tool_version import ToolVersion # noqa: PLC0415
        app_id = str(self.app_id)

        app_name = self.app_name

        changed_since_registration = self.changed_since_registration

        description = self.description

        digest = self.digest

        embedded = self.embedded

        history = []
        for history_item_data in self.history:
            history_item = history_item_data.to_dict()
            history.append(history_item)



        name = self.name

        input_schema: dict[str, Any] | Unset = UNSET
        if not isinstance(self.input_schema, Unset):
            input_schema = self.input_schema.to_dict()

        registered_digest = self.registered_digest


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "app_id": app_id,
            "app_name": app_name,
            "changed_since_registration": changed_since_registration,
            "description": description,
            "digest": digest,
            "embedded": embedded,
            "history": history,
            "name": name,
        })
        if input_schema is not UNSET:
            field_dict["input_schema"] = input_schema
        if registered_digest is not UNSET:
            field_dict["registered_digest"] = registered_digest

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.tool_input_schema import ToolInputSchema # noqa: PLC0415
        from ..models.tool_version import ToolVersion # noqa: PLC0415
        d = dict(src_dict)
        app_id = UUID(d.pop("app_id"))




        app_name = d.pop("app_name")

        changed_since_registration = d.pop("changed_since_registration")

        description = d.pop("description")

        digest = d.pop("digest")

        embedded = d.pop("embedded")

        history = []
        _history = d.pop("history")
        for history_item_data in (_history):
            history_item = ToolVersion.from_dict(history_item_data)



            history.append(history_item)


        name = d.pop("name")

        _input_schema = d.pop("input_schema", UNSET)
        input_schema: ToolInputSchema | Unset
        if isinstance(_input_schema,  Unset):
            input_schema = UNSET
        else:
            input_schema = ToolInputSchema.from_dict(_input_schema)




        registered_digest = d.pop("registered_digest", UNSET)

        tool = cls(
            app_id=app_id,
            app_name=app_name,
            changed_since_registration=changed_since_registration,
            description=description,
            digest=digest,
            embedded=embedded,
            history=history,
            name=name,
            input_schema=input_schema,
            registered_digest=registered_digest,
        )


        tool.additional_properties = d
        return tool

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
