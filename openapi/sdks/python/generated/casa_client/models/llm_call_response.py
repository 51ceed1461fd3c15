from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast






T = TypeVar("T", bound="LlmCallResponse")



@_attrs_define
class LlmCallResponse:
    """ 
        Attributes:
            call_id (str):
            selected_tools (list[str]):
            user_input_id (str):
     """

    call_id: str
    selected_tools: list[str]
    user_input_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        call_id = self.call_id

        selected_tools = self.selected_tools



        user_input_id = self.user_input_id


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "call_id": call_id,
            "selected_tools": selected_tools,
            "user_input_id": user_input_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        call_id = d.pop("call_id")

        selected_tools = cast(list[str], d.pop("selected_tools"))


        user_input_id = d.pop("user_input_id")

        llm_call_response = cls(
            call_id=call_id,
            selected_tools=selected_tools,
            user_input_id=user_input_id,
        )


        llm_call_response.additional_properties = d
        return llm_call_response

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
